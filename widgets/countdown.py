"""A large countdown line for "what is due next", which turns red when a check is overdue.

It has no timer of its own: the owner calls :meth:`CountdownLabel.show_due` on its own tick, so one timer
drives the whole panel and tests set the time directly.
"""

from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

#: IEC 60601-1-8 high-priority red, the same as the alarm banner
OVERDUE_STYLE = "background-color: #e8202a; color: #ffffff; font-weight: bold; border-radius: 6px; padding: 6px;"
DUE_SOON_STYLE = "background-color: #f5c400; color: #000000; font-weight: bold; border-radius: 6px; padding: 6px;"
NORMAL_STYLE = "border: 1px solid #262c33; border-radius: 6px; padding: 6px;"
#: due within this many seconds: amber, so the clinician gets ready
DUE_SOON_S = 60.0


def format_clock(seconds: float) -> str:
    """``"03:12"`` / ``"1:05:00"`` for a countdown (absolute value, rounded up so 0.2 s shows as 00:01)."""
    s = math.ceil(abs(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


class CountdownLabel(QLabel):
    """Shows ``"<label> in 03:12"``, ``"<label> due now"`` (amber) or ``"OVERDUE 02:10  <label>"`` (red)."""

    def __init__(self, parent: QWidget | None = None, *, point_size: int = 16) -> None:
        super().__init__(parent)
        self.setObjectName("countdown")
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        f = self.font()
        f.setPointSize(point_size)
        self.setFont(f)
        self._state = "idle"
        self.show_nothing()

    @property
    def state(self) -> str:
        """``idle``, ``waiting``, ``due``, ``soon`` or ``overdue`` (tests and the window read it)."""
        return self._state

    def is_overdue(self) -> bool:
        return self._state == "overdue"

    def _apply(self, state: str, text: str, style: str) -> None:
        self._state = state
        self.setText(text)
        self.setStyleSheet(style)
        self.setProperty("overdue", state == "overdue")

    def show_nothing(self, text: str = "Nothing due") -> None:
        self._apply("idle", text, NORMAL_STYLE)

    def show_due(self, label: str, seconds_left: float | None) -> None:
        """Update for a pending check due in ``seconds_left`` (``<= 0``: due now; ``None``: time not known yet).

        Overdue (past the grace period) is decided by the schedule engine and shown with :meth:`show_overdue`.
        """
        if seconds_left is None:
            self._apply("waiting", f"Next: {label}", NORMAL_STYLE)
        elif seconds_left <= 0:
            # past its time but within the grace period: due now (red is kept for real overdue checks)
            self._apply("soon", f"{label} due now", DUE_SOON_STYLE)
        elif seconds_left <= DUE_SOON_S:
            self._apply("soon", f"{label} in {format_clock(seconds_left)}", DUE_SOON_STYLE)
        else:
            self._apply("due", f"{label} in {format_clock(seconds_left)}", NORMAL_STYLE)

    def show_overdue(self, label: str, late_s: float) -> None:
        """An overdue check: ``late_s`` seconds past due."""
        self._apply("overdue", f"OVERDUE {format_clock(late_s)}  {label}", OVERDUE_STYLE)
