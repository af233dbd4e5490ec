"""The main screens with fixed content, for the image-approval tests: every input that changes a pixel is fixed.

* the live console: the physiological simulator (fixed scenario and seed) stepped by a manual clock to a fixed
  moment, an NIBP reading above a tightened systolic limit (one active high-priority alarm), the alarm banner
  and list, flash phase fixed, no timers running at capture;
* the central board: fixed chairs read from a stand-in reader at a fixed database time;
* the review window: built by the review tests' own sample-session builder (fixed seed and start).
Times are shown in UTC (the ``golden_screen`` fixture sets ``TZ``), the application font is fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.alarms.limits import AlarmLimits
from console.board import AlarmStatus, ChairStatus, NumericStatus, Phase
from console.board.board import board_snapshot
from console.board.reader import BoardView
from console.board.store import StoredStatus
from console.runtime.clock import ManualClock
from devices import mdc
from devices.simulator.core import Simulator

#: 2023-11-14 22:13:20 UTC: the start of every fixed scene
T0 = 1_700_000_000.0
#: the live console is captured this long after the simulator starts (the first NIBP reading is in)
LIVE_AT_S = 75.0
#: simulator step between batches, like the acquisition thread's few tens of milliseconds
STEP_S = 0.05


def feed_simulator(ingest: Callable[[list[Any]], None], clock: ManualClock, *, seconds: float = LIVE_AT_S,
                   scenario: str = "stable", seed: int = 7) -> Simulator:
    """Step a seeded simulator from :data:`T0` for ``seconds`` into ``ingest``, moving ``clock`` along."""
    sim = Simulator(scenario, seed=seed, start=T0, mark_demo=True)
    steps = round(seconds / STEP_S)
    for k in range(1, steps + 1):
        now = T0 + k * STEP_S
        clock.set(now)
        ingest(sim.advance(now))
    return sim


class LiveConsole:
    """The demo console at a fixed moment: window, alarm display, clock. ``close()`` stops what it started."""

    def __init__(self, *, hr_high: float | None = None) -> None:
        from console.main_window import MainWindow
        from console.station import AlarmDisplay
        from tests.audio_fakes import RecordingOutput
        from widgets.alarm_audio import AlarmAudio

        self.clock = ManualClock(T0)
        self.window = MainWindow(demo=True, clock=self.clock)
        limits = {"sbp_high": 120.0}
        if hr_high is not None:
            limits["hr_high"] = hr_high
        self.window.runtime.set_limits(AlarmLimits("golden", **limits))
        self.display = AlarmDisplay(self.window, lambda: "Golden Clinician", clock=self.clock.now,
                                    audio=AlarmAudio(output=RecordingOutput()))
        self.display._timer.stop()  # captured at one moment: the test refreshes by hand
        feed_simulator(self.window.runtime.ingest, self.clock)
        # the samples were handed to the runtime directly (no device thread): say what a running link says
        self.window.status.set_link_state("simulator", "receiving", "receiving data")

    def settle(self) -> None:
        """Evaluate the alarms and draw one frame at the fixed moment, flash phase 0, no timer left running."""
        now = self.clock.now()
        self.window.runtime.tick(now)
        self.window.refresh()
        self.display.refresh()
        self.display.banner._flash_timer.stop()

    def close(self) -> None:
        self.display.shutdown()
        self.window.shutdown()


class FixedBoardReader:
    """The board's reader with fixed rows: what the database said at :data:`T0`."""

    def __init__(self) -> None:
        self.rows: list[StoredStatus] = []

    def add(self, chair: str, updated_at: float = T0, **kw: Any) -> None:
        status = ChairStatus(chair=chair, phase=kw.pop("phase", Phase.INFUSING), **kw)
        self.rows.append(StoredStatus(chair, status, None, updated_at, 1))

    def snapshot(self) -> BoardView:
        return BoardView(board_snapshot(T0, self.rows), 0.0, None, True)


def _vitals(hr: float, spo2: float, sys: float, dia: float, rr: float = 14) -> dict[int, NumericStatus]:
    return {mdc.HEART_RATE: NumericStatus(hr, "/min", 0.5), mdc.SPO2: NumericStatus(spo2, "%", 0.5),
            mdc.NIBP_SYS: NumericStatus(sys, "mmHg", 60), mdc.NIBP_DIA: NumericStatus(dia, "mmHg", 60),
            mdc.RESP_RATE: NumericStatus(rr, "/min", 0.5)}


def board_reader() -> FixedBoardReader:
    """Six chairs in the states a charge nurse tells apart: infusing, alarm, monitoring, overdue checks,
    offline (no heartbeat for two minutes), free."""
    reader = FixedBoardReader()
    reader.add("1", patient="PT-101", phase_detail="minute 12 of 40", next_check="MOAA/S at 22:20",
               numerics=_vitals(84, 98, 132, 84))
    reader.add("2", patient="PT-102", phase_detail="minute 31 of 40", numerics=_vitals(96, 97, 183, 112),
               alarms=(AlarmStatus("high", mdc.NIBP_SYS, "NIBP sys 183 > 180 mmHg"),))
    reader.add("3", patient="PT-103", phase=Phase.MONITORING, phase_detail="observed 25 min",
               numerics=_vitals(70, 99, 121, 76))
    reader.add("4", patient="PT-104", phase_detail="minute 3 of 40", numerics=_vitals(66, 91, 118, 70, rr=9),
               overdue=("BP check",), alarms=(AlarmStatus("medium", mdc.SPO2, "SpO2 91 < 92 %"),))
    reader.add("5", patient="PT-105", updated_at=T0 - 120, phase_detail="minute 20 of 40",
               numerics=_vitals(75, 98, 125, 80))
    reader.add("6", phase=Phase.IDLE)
    return reader
