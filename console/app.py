"""QApplication set-up for the console: platform-plugin check, dark theme, pyqtgraph speed settings.

Qt aborts the whole process (``qFatal``) when no platform plugin can be loaded, which on a fresh Linux machine
usually means missing X11 libraries. :func:`create_application` catches that fatal message and prints what to
install instead of a bare core dump, then exits with status 1.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

#: printed when the Qt platform plugin cannot be loaded (the set measured to work on Debian/Ubuntu)
PLATFORM_HINT = """\
chairside: the Qt platform plugin could not be loaded, so no window can be opened.
On Debian/Ubuntu install the X11 libraries Qt needs:
    sudo apt-get install -y xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \\
        libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libegl1 libgl1
Without a display (a server, CI), run under a virtual one:
    xvfb-run -a -s "-screen 0 1600x1000x24" chairside --demo
or render offscreen (screenshots only): QT_QPA_PLATFORM=offscreen chairside --demo --screenshot w.png
"""


@dataclass(frozen=True, slots=True)
class Theme:
    """Colours (``#rrggbb``) and the font family of the live monitor, from ``resources/theme.json``."""

    font_family: str = "DejaVu Sans"
    background: str = "#000000"
    panel: str = "#0b0f14"
    border: str = "#262c33"
    text: str = "#e8e8e8"
    dim_text: str = "#9aa3ad"
    stale: str = "#6b7178"
    demo: str = "#ff9f1a"
    parameters: dict[str, str] = field(default_factory=dict)
    alarm: dict[str, str] = field(default_factory=dict)
    link: dict[str, str] = field(default_factory=dict)

    def colour(self, parameter: str, default: str | None = None) -> str:
        """Colour of a parameter key such as ``"HR"`` or ``"ECG"`` (the text colour when unknown)."""
        return self.parameters.get(parameter, default or self.text)


def load_theme(data: dict[str, Any] | None = None) -> Theme:
    """The packaged theme (or ``data`` in the same shape); unknown keys are ignored, missing ones defaulted."""
    if data is None:
        text = resources.files("resources").joinpath("theme.json").read_text(encoding="utf-8")
        data = json.loads(text)
    known = {k: v for k, v in data.items() if k in Theme.__dataclass_fields__}
    return Theme(**known)


def _platform_unavailable_reason() -> str | None:
    """Why no window can open here, judged before Qt is asked (Qt would abort), or ``None`` if it may work."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform or not sys.platform.startswith("linux"):
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    return None


def create_application(argv: list[str] | None = None, theme: Theme | None = None):
    """The QApplication (an existing one is reused), themed; exits with the install hint if Qt cannot start."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        reason = _platform_unavailable_reason()
        if reason:
            sys.stderr.write(f"chairside: {reason}.\n{PLATFORM_HINT}")
            raise SystemExit(1)

        def on_qt_message(mode: QtMsgType, context: Any, message: str) -> None:
            if mode == QtMsgType.QtFatalMsg and "platform plugin" in message:
                sys.stderr.write(f"{message}\n\n{PLATFORM_HINT}")
                sys.stderr.flush()
                os._exit(1)  # Qt aborts right after a fatal message; leave first with the hint
            if mode != QtMsgType.QtDebugMsg:
                sys.stderr.write(f"{message}\n")

        previous = qInstallMessageHandler(on_qt_message)
        try:
            app = QApplication(argv if argv is not None else [sys.argv[0]])
        finally:
            qInstallMessageHandler(previous)
        app.setApplicationName("Chairside")
        app.setOrganizationName("Chairside")
    apply_theme(app, theme or load_theme())
    return app


def apply_theme(app, theme: Theme) -> None:
    """Dark Fusion palette and the pyqtgraph settings the live strips rely on for speed."""
    import pyqtgraph as pg
    from PySide6.QtGui import QColor, QPalette

    # antialias off and no OpenGL: measured fastest, and OpenGL does not work on the offscreen platform
    pg.setConfigOptions(antialias=False, useOpenGL=False, background=theme.background, foreground=theme.dim_text)
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.background,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.panel,
        QPalette.ColorRole.AlternateBase: theme.background,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.panel,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.ToolTipBase: theme.panel,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.PlaceholderText: theme.dim_text,
        # Fusion shades header sections, scroll bars and frames from these; left at their light defaults, table
        # headers came out pale grey on the dark screen
        QPalette.ColorRole.Light: theme.border,
        QPalette.ColorRole.Midlight: theme.panel,
        QPalette.ColorRole.Mid: theme.border,
        QPalette.ColorRole.Dark: theme.background,
        QPalette.ColorRole.Shadow: theme.background,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)


class QuitAfter:
    """``--quit-after S [--screenshot PATH]`` of every window command (console, review, board): after
    ``seconds`` save a PNG of ``window`` when asked (``refresh`` first, so it shows the latest state), close
    the window and end ``loop``. :attr:`code` is 0, or what ``cannot_write(message)`` returned when the PNG
    could not be written."""

    def __init__(self, window: Any, loop: Any, seconds: float, screenshot: Any = None, *,
                 cannot_write: Any, refresh: Any = None) -> None:
        from PySide6.QtCore import QTimer

        self.code = 0
        self._window, self._loop, self._screenshot = window, loop, screenshot
        self._cannot_write, self._refresh = cannot_write, refresh
        self.timer = QTimer(window)
        self.timer.setObjectName("quit_after")
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._finish)
        self.timer.start(int(seconds * 1000))

    def _finish(self) -> None:
        if self._screenshot is not None:
            if self._refresh is not None:
                self._refresh()
            if self._window.grab().save(str(self._screenshot), "PNG"):
                print(f"screenshot saved to {self._screenshot}")
            else:
                self.code = self._cannot_write(f"could not write {self._screenshot}")
        self._window.close()
        self._loop.quit()
