"""What a chair publishes is what its runtime shows: numbers, ages, alarms, links, and the session's phase."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.alarms.model import Alarm, Category
from console.board import Phase
from console.board.feed import ChairFeed, chair_status, display_unit
from devices import mdc
from devices.model import AlarmPriority, State


@dataclass
class Rec:
    value: float | None
    unit: str
    state: State = State.NONE
    measured_at: float = 995.0


@dataclass
class Link:
    state: str


def Al(priority: AlarmPriority, code: int, message: str, technical: bool = False, *,  # noqa: N802
       value: float | None = None, last_value: float | None = None, limit_text: str = "") -> Alarm:
    """An engine alarm as the runtime's snapshot holds it."""
    return Alarm(1, "k", Category.TECHNICAL if technical else Category.PHYSIOLOGICAL, priority, code,
                 message.split(" ")[0], message, "%", None, limit_text, value, 1000.0, last_value=last_value)


@dataclass
class Snap:
    chair: str = "2"
    time: float = 1000.0
    session_id: int | None = 9
    numerics: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)
    alarms: list = field(default_factory=list)


def test_units_read_as_clinicians_write_them() -> None:
    assert [display_unit(u) for u in ("mm[Hg]", "Cel", "/min", "%")] == ["mmHg", "°C", "/min", "%"]


def test_numbers_ages_alarms_and_links_carry_over() -> None:
    snap = Snap(numerics={mdc.NIBP_SYS: Rec(183, "mm[Hg]", measured_at=940.0), mdc.HEART_RATE: Rec(84, "/min"),
                          mdc.SPO2: Rec(None, "%"), mdc.RESP_RATE: Rec(14, "/min", State.INVALID),
                          "Simulator|147842": Rec(1, "/min")},
                links={"monitor": Link("lost")},
                alarms=[Al(AlarmPriority.HIGH, mdc.NIBP_SYS, "NBP sys 183 ≥ 180 mmHg"),
                        Al(AlarmPriority.NONE, 0, "silenced"),
                        Al(AlarmPriority.MEDIUM, 0, "monitor disconnected", True)])
    s = chair_status(snap, phase=Phase.INFUSING, patient="PT-9")
    assert s.numerics[mdc.NIBP_SYS].unit == "mmHg" and s.numerics[mdc.NIBP_SYS].age_s == 60.0
    assert set(s.numerics) == {mdc.NIBP_SYS, mdc.HEART_RATE}  # no value / invalid are not published
    assert [(a.priority, a.technical) for a in s.alarms] == [("high", False), ("medium", True)]
    assert s.devices == {"monitor": "lost"} and s.session_id == 9 and s.published_at == 1000.0


def test_a_headless_chair_reports_minutes_of_monitoring_and_reads_the_session_once() -> None:
    calls: list[int] = []

    class Runtime:
        snap = Snap(time=1000.0 + 12 * 60)

        def snapshot(self) -> Snap:
            return self.snap

    def info(sid: int) -> tuple[str, str, bool, float]:
        calls.append(sid)
        return "PT-9", "iv-ketamine-0.5 v1", True, 1000.0

    runtime = Runtime()
    feed = ChairFeed(runtime, info)
    s = feed()
    feed()
    assert (s.phase, s.phase_detail, s.patient, s.demo) == (Phase.MONITORING, "minute 12", "PT-9", True)
    assert calls == [9]
    runtime.snap = Snap(session_id=None)
    assert feed().phase == Phase.IDLE and feed().patient is None


def test_the_board_shows_an_alarms_latest_value_not_its_onset() -> None:
    """A desaturation that started at 90 and is now 84 reads 84 on the board, with since when."""
    import time

    spo2 = Al(AlarmPriority.HIGH, mdc.SPO2, "SpO2 90 < 92 %", value=90, last_value=84, limit_text="< 88")
    s = chair_status(Snap(alarms=[spo2]))
    since = time.strftime("%H:%M", time.localtime(1000.0))
    assert [a.text for a in s.alarms] == [f"SpO2 84 < 88 % since {since}"]
