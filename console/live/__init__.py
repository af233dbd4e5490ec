"""Live data path of the console: Qt-free ring buffers and numerics store, and a stand-alone device thread.

Device threads write into :class:`~console.live.buffers.LiveData` (one per chair, owned by the
:class:`~console.runtime.ChairRuntime`); views pull from it on their own timers. Nothing here emits a signal.
"""
