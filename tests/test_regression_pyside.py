"""Regression guard for the PySide6 6.12.0 + Python 3.11 reference-count bug (docs/DESIGN.md, known traps).

With that combination the process aborts ("none_dealloc") within seconds of plotting with pyqtgraph while
signals fly. The stress runs in a child process so that, if the bug is back, this test fails with the child's
output instead of killing the whole test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

STRESS = textwrap.dedent("""
    import sys
    import numpy as np
    import pyqtgraph as pg
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QObject, QThread, Signal
    from PySide6.QtWidgets import QApplication

    SIGNALS = int(sys.argv[1])

    class Emitter(QObject):
        number = Signal(int)
        anything = Signal(object)   # carries None: the object whose reference count went wrong

    class Worker(QThread):          # queued signals from a Qt thread, as the acquisition threads emit
        state = Signal(str, object)
        def run(self):
            for i in range(SIGNALS // 10):
                self.state.emit("connected", None)

    app = QApplication([])
    pg.setConfigOptions(antialias=False, useOpenGL=False)
    plot = pg.PlotWidget()
    plot.resize(800, 300)
    plot.show()
    curve = plot.plot(pen=pg.mkPen("g", width=1))
    plot.getViewBox().disableAutoRange()
    plot.setXRange(0, 4000, padding=0)
    plot.setYRange(-1.5, 1.5, padding=0)
    x = np.arange(4000, dtype=float)
    counts = {"number": 0, "anything": 0, "queued": 0}
    emitter = Emitter()
    emitter.number.connect(lambda v: counts.__setitem__("number", counts["number"] + 1))
    emitter.anything.connect(lambda v: counts.__setitem__("anything", counts["anything"] + (v is None)))
    worker = Worker()
    worker.state.connect(lambda s, v: counts.__setitem__("queued", counts["queued"] + 1))
    worker.start()
    for i in range(SIGNALS // 2):
        emitter.number.emit(i)
        emitter.anything.emit(None)
        if i % 2000 == 0:
            curve.setData(x, np.sin(x / 40.0 + i / 1000.0))
            plot.repaint()
            app.processEvents()
    worker.wait()
    app.processEvents()
    assert counts["number"] == counts["anything"] == SIGNALS // 2, counts
    assert counts["queued"] == SIGNALS // 10, counts
    print("ok", pyside_version, sys.version.split()[0], counts)
""")


def test_plotting_while_emitting_signals_does_not_abort() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", STRESS, "600000"], env=env, capture_output=True, text=True,
                            timeout=240, check=False)
    assert result.returncode == 0, (
        f"the Qt stress process died (exit {result.returncode}); a PySide6 release with the none_dealloc bug?\n"
        f"{result.stdout}\n{result.stderr[-3000:]}")
    assert result.stdout.startswith("ok ")


def test_installed_pyside_is_not_the_known_bad_release() -> None:
    import PySide6

    if sys.version_info[:2] != (3, 11):
        pytest.skip("the 6.12.0 abort was measured on Python 3.11 only")
    assert PySide6.__version__ != "6.12.0", "PySide6 6.12.0 aborts with pyqtgraph on Python 3.11: pin 6.11.3"
