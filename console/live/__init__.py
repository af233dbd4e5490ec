"""Live data path of the console: Qt-free ring buffers and numerics store, and the acquisition thread.

Acquisition threads write into :class:`~console.live.buffers.LiveData`; the main window pulls from it on one
30 Hz timer. Nothing here emits a signal per sample.
"""
