"""One alarm condition per parameter and direction: SpO2 "low" and "critical low" are ONE alarm.

Issue 12 ("Alarms read right"): a desaturation to 84 % raised a medium and a high alarm, two banner lines, two
list rows and two acknowledgements. These tests feed continuous values the way a monitor sends them (one per
second) and check what the clinician sees and hears and what the record keeps.
"""

from __future__ import annotations

from console.alarms import AlarmEngine
from console.clinical.entry_model import validate_payload
from devices import mdc
from devices.model import AlarmPriority
from tests.alarms.helpers import engine, events, num, series, top

HIGH, MEDIUM, NONE = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.NONE


def spo2_alarms(eng: AlarmEngine) -> list:
    return [a for a in eng.history() if a.mdc == mdc.SPO2]


def test_a_desaturation_to_84_is_one_high_alarm_and_one_acknowledgement_silences_it() -> None:
    eng = engine()
    t = series(eng, mdc.SPO2, [97] * 5 + [84] * 11, 0.0)
    [alarm] = eng.visible()  # one banner line, one list row
    assert (alarm.priority, alarm.limit, alarm.value) == (HIGH, 88, 84)
    assert eng.audible_priority(t) == HIGH
    assert eng.acknowledge(alarm.id, "nurse.kim", t) is True
    assert eng.audible_priority(t) == NONE  # nothing else is left sounding for the same desaturation
    [start, ack] = events(eng)
    assert (start["event"], start["value"], start["limit"], start["priority"]) == ("start", 84, 88, "high")
    # the record names every limit the value crossed
    assert start["values"] == {"limit_spo2_critical": 88, "limit_spo2_low": 92}
    assert ack["alarm_id"] == alarm.id


def test_a_deepening_desaturation_escalates_the_same_alarm_and_sounds_again_after_an_acknowledgement() -> None:
    eng = engine()
    t = series(eng, mdc.SPO2, [90] * 11, 0.0)  # below 92 for 10 s: medium
    medium = top(eng)
    assert (medium.priority, medium.limit, medium.limit_text) == (MEDIUM, 92, "< 92")
    eng.acknowledge(medium.id, "nurse.kim", t)
    assert eng.audible_priority(t) == NONE
    t = series(eng, mdc.SPO2, [86, 85, 84, 84, 85, 84, 84, 84, 85, 84, 84], t + 1)  # below 88 for 10 s
    [alarm] = eng.visible()
    assert alarm.id == medium.id and alarm.priority == HIGH and not alarm.acknowledged
    assert eng.audible_priority(t) == HIGH  # the acknowledgement was for the medium condition
    evs = events(eng)
    assert [e["event"] for e in evs] == ["start", "ack", "escalate"]
    escalate = evs[2]
    # the escalation keeps the value and the limit that were crossed, and what it came from
    assert (escalate["alarm_id"], escalate["priority"], escalate["value"], escalate["limit"]) == (
        medium.id, "high", 84, 88)
    assert escalate["start_value"] == 90 and escalate["reason"] == "priority raised from medium: < 88"
    assert escalate["values"] == {"limit_spo2_low": 92, "limit_spo2_critical": 88}
    assert escalate["message"] == "SpO2 84 < 88 %" and alarm.limit_text == "< 88"
    for data in evs:
        assert validate_payload("alarm", data) == data
    assert eng.acknowledge(alarm.id, "dr.lee", t) is True
    assert eng.audible_priority(t) == NONE


def test_the_condition_lasts_until_the_value_is_back_inside_the_low_limit_and_keeps_its_priority() -> None:
    eng = engine()
    t = series(eng, mdc.SPO2, [84] * 11, 0.0)
    alarm = top(eng)
    eng.acknowledge(alarm.id, "nurse.kim", t)
    events(eng)
    # back above 88 but still below 92 for a minute: the critical rule clears, the desaturation does not
    t = series(eng, mdc.SPO2, [90] * 60, t + 1)
    assert eng.visible() == [alarm] and alarm.active and alarm.priority == HIGH  # never quietly lowered
    # a second dip below 88 in the same desaturation is the same, already acknowledged condition
    t = series(eng, mdc.SPO2, [85] * 11, t + 1)
    assert events(eng) == [] and alarm.acknowledged and eng.audible_priority(t) == NONE
    # inside the low limit by its margin (>= 94) for the clear hold (5 s): it ends, once
    t = series(eng, mdc.SPO2, [93, 93, 95, 96, 96, 96, 96, 96], t + 1)
    [end] = events(eng)
    assert (end["event"], end["alarm_id"], end["time"]) == ("end", alarm.id, t)
    assert (end["value"], end["worst_value"], end["start_value"], end["limit"]) == (96, 84, 84, 88)
    assert eng.visible() == []


def test_a_new_desaturation_after_the_end_is_a_new_alarm() -> None:
    eng = engine()
    t = series(eng, mdc.SPO2, [84] * 11 + [97] * 6 + [89] * 11, 0.0)
    first, second = spo2_alarms(eng)
    assert first.ended is not None and second.active and second.priority == MEDIUM
    assert [e["event"] for e in events(eng)] == ["start", "end", "start"]
    assert eng.audible_priority(t) == MEDIUM


def test_high_and_low_of_one_parameter_stay_separate_conditions() -> None:
    eng = engine()
    series(eng, mdc.HEART_RATE, [130] * 11, 0.0)
    series(eng, mdc.HEART_RATE, [40] * 11, 100.0)
    evs = events(eng)
    assert [(e["event"], e["key"].split("|")[0], e["limit"]) for e in evs] == [
        ("start", "high", 120), ("end", "high", 120), ("start", "low", 45)]


def test_an_arterial_systolic_rise_then_its_high_limit_is_one_condition_escalated() -> None:
    eng = engine()
    eng.set_baseline(120, 70)
    t = series(eng, mdc.ABP_SYS, [165] * 11, 0.0)  # rise of 45 over 120: medium
    alarm = top(eng)
    assert (alarm.priority, alarm.limit_text) == (MEDIUM, "rise ≥ 40 over 120")
    t = series(eng, mdc.ABP_SYS, [185] * 11, t + 1)  # past 180: high, the same alarm
    assert eng.visible() == [alarm] and alarm.priority == HIGH and alarm.limit_text == "≥ 180"
    evs = events(eng)
    assert [e["event"] for e in evs] == ["start", "escalate"]
    assert evs[1]["values"]["limit_sbp_rise"] == 40 and evs[1]["values"]["limit_sbp_high"] == 180
    assert evs[1]["values"]["baseline_sbp"] == 120 and evs[1]["value"] == 185


def test_resetting_the_baseline_does_not_hold_a_rise_condition_open_forever() -> None:
    eng = engine()
    eng.set_baseline(120, 70)
    t = series(eng, mdc.ABP_SYS, [165] * 11, 0.0)
    assert top(eng).active
    eng.set_limits(eng.limits)  # a new session's limits clear the baseline: no rise rule applies any more
    series(eng, mdc.ABP_SYS, [165] * 6, t + 1)
    assert eng.visible() == [] and [e["event"] for e in events(eng)] == ["start", "end"]


def test_two_oximeters_are_two_conditions() -> None:
    eng = engine()
    for i in range(11):
        eng.feed(num(mdc.SPO2, 84, 1.0 + i, source="a"))
        eng.feed(num(mdc.SPO2, 84, 1.0 + i, source="b"))
    assert sorted(a.source for a in eng.visible()) == ["a", "b"]
