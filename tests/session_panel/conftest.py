"""Fixtures for the session panel: a settable clock, a live-vitals dict, the fake service and the panel."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from devices import mdc
from devices.model import State
from tests.session_panel.fake_service import FakeService

T0 = 1_800_000_000.0


@dataclass
class Clock:
    t: float = T0

    def __call__(self) -> float:
        return self.t

    def advance(self, minutes: float) -> None:
        self.t += minutes * 60.0


@dataclass
class Monitor:
    """What ``latest_vitals()`` returns, and a record of BP requests."""

    clock: Clock
    values: dict[int, Any] = field(default_factory=dict)
    bp_requests: int = 0

    def set_bp(self, sbp: float, dbp: float, at: float | None = None) -> None:
        t = self.clock() if at is None else at
        self.values[mdc.NIBP_SYS] = (sbp, State.NONE, t)
        self.values[mdc.NIBP_DIA] = (dbp, State.NONE, t)

    def latest(self) -> dict[int, Any]:
        return dict(self.values)

    def take_bp(self) -> None:
        self.bp_requests += 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def monitor(clock) -> Monitor:
    m = Monitor(clock)
    m.set_bp(128, 82)
    m.values[mdc.HEART_RATE] = (72.0, State.NONE, clock())
    m.values[mdc.SPO2] = (98.0, State.NONE, clock())
    return m


@pytest.fixture
def svc(clock) -> FakeService:
    return FakeService(clock)


@pytest.fixture
def make_panel(qtbot, clock, monitor):
    from console.session_panel import SessionPanel

    def make(service, **kw):
        panel = SessionPanel(service, latest_vitals=monitor.latest, take_bp=monitor.take_bp, clock=clock,
                             chair="2", **kw)
        qtbot.addWidget(panel)
        return panel

    return make


#: how long a test waits for a background start, correction or signature before failing (never reached unless
#: something is stuck: a hang must fail, not a slow machine)
SETTLE_S = 30.0


def settle(panel) -> None:
    """Let the Qt event loop run until the panel's start, correction or signature (on the chair's writer and
    worker threads) has its outcome shown; at once for a panel with no chair runtime."""
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + SETTLE_S
    while panel.ctl.pending is not None or panel.pending_timer.isActive():
        assert time.monotonic() < deadline, f"still {panel.ctl.pending}: {panel.message()}"
        QApplication.processEvents()
        time.sleep(0.005)


def start(panel, protocol_id: str = "iv-ketamine-0.5", weight: str = "70", code: str = "P-001") -> None:
    """Fill the start form, press Start and wait until the session has started (or was refused)."""
    form = panel.start_form
    form.code.setText(code)
    form.protocol.setCurrentIndex(form.protocol.findData(protocol_id))
    form.weight.setText(weight)
    form.start_button.click()
    settle(panel)


CADSS6_ITEMS = ("1", "2", "6", "7", "15", "22")


def save_precheck(panel, *, unticked: tuple[str, ...] = ()) -> None:
    """Tick identity, consent, fasting and escort (except ``unticked``) and save the pre-check."""
    pc = panel.precheck
    for name in ("identity", "consent", "fasting", "escort"):
        getattr(pc, name).setChecked(name not in unticked)
    pc.save_button.click()


def rate(panel, scale: str, **answers: int) -> None:
    """Open a rating (MOAA/S 5 / CADSS-6 all 0 by default), answer and save it through the panel."""
    panel.trigger(scale)
    form = panel.current_form()
    if not answers:
        answers = {"score": 5} if scale == "moaas" else dict.fromkeys(CADSS6_ITEMS, 0)
    for item, value in answers.items():
        form.select(item, value)
    panel.save_button.click()


def ready(panel) -> None:
    """The steps before dosing: a saved pre-check with every check confirmed, and the baseline ratings."""
    save_precheck(panel)
    rate(panel, "moaas")
    rate(panel, "cadss6")


def confirm(panel) -> None:
    """Press the confirm strip's big button (start, stop, a device)."""
    assert not panel.confirm.isHidden(), panel.message()
    panel.confirm.confirm_button.click()
