"""Test configuration shared by the whole suite.

* Qt runs offscreen (set before any Qt import).
* ``captures_dir`` gives the real monitor captures in ``../shared/captures`` or skips with the reason.
* ``no_leaked_qt_threads_or_timers`` fails any test that leaves a QThread running or an active QTimer behind:
  a leaked acquisition thread would keep reading a port after its window closed.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import MutableMapping
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

#: CHAIRSIDE_* variables a test run may take from its environment: they name throwaway test services, never a
#: clinic's record. Every other CHAIRSIDE_* variable is dropped, so a machine with a real record configured
#: (CHAIRSIDE_DB exported in a shell profile) cannot leak it into the tests.
TEST_ONLY_VARIABLES = frozenset({"CHAIRSIDE_TEST_PG_URL", "CHAIRSIDE_TEST_PG_DATA",
                                 # the image-approval switches (tests/golden/approval.py)
                                 "CHAIRSIDE_UPDATE_GOLDEN", "CHAIRSIDE_GOLDEN_FAILURES"})


def isolate_environment(environ: MutableMapping[str, str], data_dir: str) -> None:
    """Point every place the product looks for a record at ``data_dir``, whatever the environment said.

    ``CHAIRSIDE_DB`` is always overridden (not ``setdefault``); other ``CHAIRSIDE_*`` variables are removed;
    ``XDG_DATA_HOME`` moves ``platformdirs.user_data_dir`` (the default record, the outbox and recordings when
    no URL is given) into ``data_dir`` too.
    """
    for name in [n for n in environ if n.startswith("CHAIRSIDE_") and n not in TEST_ONLY_VARIABLES]:
        del environ[name]
    environ["CHAIRSIDE_DB"] = f"sqlite:///{data_dir}/record.db"
    # the site trust folder (site key, key registry, witness) must not be a clinic's either
    environ["CHAIRSIDE_TRUST_DIR"] = f"{data_dir}/trust"
    environ["XDG_DATA_HOME"] = f"{data_dir}/xdg-data"


# Never touch a real clinic record from tests: the record is a throwaway file for this run.
TEST_DATA_DIR = tempfile.mkdtemp(prefix="chairside-tests-")
_TEST_DATA = TEST_DATA_DIR
isolate_environment(os.environ, TEST_DATA_DIR)

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CAPTURES = PROJECT_ROOT.parent / "shared" / "captures"


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The folder of real device captures; tests that need it skip when it is absent (a user's machine)."""
    if not CAPTURES.is_dir():
        pytest.skip(f"real device captures not found at {CAPTURES} (they live next to the project, "
                    "in ../shared/captures, and are never copied into the repository)")
    return CAPTURES


def capture(name: str) -> Path:
    """Path of one capture file, skipping the calling test when it is missing."""
    path = CAPTURES / name
    if not path.is_file():
        pytest.skip(f"capture {name} not found under {CAPTURES}")
    return path


@pytest.fixture(autouse=True, scope="session")
def _fast_hashing():
    """Cheap argon2 parameters for the whole suite (and subprocesses it starts): tests create and log in many
    users. Never set in a clinic; hashes made this way still verify with the real parameters' code."""
    from console.record import passwords

    before = os.environ.get("CHAIRSIDE_FAST_HASH")
    passwords.use_fast_hashing(True)
    os.environ["CHAIRSIDE_FAST_HASH"] = "1"
    yield
    passwords.use_fast_hashing(before not in (None, "", "0"))
    if before is None:
        os.environ.pop("CHAIRSIDE_FAST_HASH", None)
    else:
        os.environ["CHAIRSIDE_FAST_HASH"] = before


@pytest.fixture(autouse=True)
def _silent_alarm_audio(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Alarm sound goes to a recorder in tests, so the suite is silent and the same on every machine; tests
    marked ``real_audio`` play through the real platform output."""
    if request.node.get_closest_marker("real_audio") is None:
        import widgets.alarm_audio
        from tests.audio_fakes import RecordingOutput

        monkeypatch.setattr(widgets.alarm_audio, "QtAudioOutput", RecordingOutput)
    yield


@pytest.fixture(autouse=True)
def no_leaked_qt_threads_or_timers(request: pytest.FixtureRequest):
    """Fail the test if it leaves a running QThread, an active QTimer or a new non-daemon Python thread."""
    before_threads = {t.ident for t in threading.enumerate()}
    yield
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        _check_python_threads(before_threads)
        return
    from PySide6.QtCore import QCoreApplication, QThread, QTimer

    app = QCoreApplication.instance()
    if app is None:
        return
    # let deleteLater() and finished() signals run before judging
    for _ in range(3):
        app.processEvents()
    leaked: list[str] = []
    for obj in _all_qobjects(app):
        if isinstance(obj, QThread) and obj.isRunning() and obj is not app.thread():
            leaked.append(f"QThread {obj.objectName() or type(obj).__name__} still running")
        elif isinstance(obj, QTimer) and obj.isActive():
            leaked.append(f"QTimer {obj.objectName() or '(unnamed)'} still active "
                          f"(parent {type(obj.parent()).__name__})")
    _check_python_threads(before_threads)
    if leaked:
        pytest.fail("test left Qt objects running:\n  " + "\n  ".join(leaked))


def _all_qobjects(app):
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QApplication

    roots: list[QObject] = [app]
    if isinstance(app, QApplication):
        roots.extend(app.topLevelWidgets())
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        stack.extend(obj.children())


def _check_python_threads(before: set[int | None]) -> None:
    import time

    deadline = time.monotonic() + 2.0
    while True:
        leaked = [t for t in threading.enumerate()
                  if t.ident not in before and t.is_alive() and not t.daemon]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if leaked:
        pytest.fail("test left threads running: " + ", ".join(t.name for t in leaked))
