"""One NIBP reading is ONE alarm condition: worst priority, one acknowledgement, the whole reading in words.

Issue 12: a reading of 186/112 used to raise a systolic and a diastolic alarm, each to be acknowledged, and the
banner kept the onset value. These tests feed readings the way monitors send them (three parts with one time)
and check what the clinician sees, hears and what the record keeps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.alarms import AlarmEngine, AlarmLimits, nibp
from console.alarms.limits import AlarmRule, Condition
from console.alarms.presentation import current_text
from console.clinical.entry_model import EntryPayloadError, validate_payload
from console.clinical.protocols import load_protocol_file
from devices import mdc
from devices.model import AlarmPriority, State
from tests.alarms.helpers import engine, events, num

HIGH, MEDIUM, NONE = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.NONE
PROTOCOLS = Path(__file__).resolve().parents[2] / "resources" / "protocols"


def reading(eng: AlarmEngine, sbp: float | None, dbp: float | None, mean: float | None, t: float,
            source: str = "mon", state: State = State.NONE) -> None:
    """One cuff result as a monitor sends it: the parts one after the other, all with the result's time."""
    for code, v in ((mdc.NIBP_SYS, sbp), (mdc.NIBP_DIA, dbp), (mdc.NIBP_MEAN, mean)):
        if v is not None:
            n = num(code, v, t, state, source)
            eng.feed(n, now=t)


def test_one_reading_over_both_limits_is_one_high_alarm_naming_both_limits_and_one_ack_silences_it() -> None:
    eng = engine()
    reading(eng, 186, 112, 137, 1000.0)
    [alarm] = eng.visible()
    assert alarm.active and alarm.priority == HIGH and alarm.mdc == mdc.NIBP
    assert alarm.message == "NBP 186/112 (137) ≥ 180/110 mmHg"
    assert current_text(alarm, lambda t: "14:21") == "NBP 186/112 (137) ≥ 180/110 mmHg since 14:21"
    assert eng.priority_for(mdc.NIBP) == HIGH and eng.audible_priority(1001.0) == HIGH
    [start] = events(eng)
    assert start["event"] == "start" and start["priority"] == "high"
    assert start["values"] == {"sbp": 186, "dbp": 112, "map": 137, "limit_sbp_high": 180, "limit_dbp_high": 110}

    assert eng.acknowledge(alarm.id, "nurse.kim", 1005.0) is True
    assert eng.audible_priority(1006.0) == NONE  # nothing else left sounding
    assert eng.acknowledge(alarm.id, "nurse.kim", 1006.0) is False
    [ack] = events(eng)
    assert (ack["event"], ack["alarm_id"], ack["user"]) == ("ack", alarm.id, "nurse.kim")
    [still] = eng.visible()
    assert still.active and still.acknowledged_by == "nurse.kim"  # the condition is still shown


def test_a_reading_over_one_limit_says_which_part_broke_it() -> None:
    eng = engine()
    reading(eng, 150, 114, 126, 10.0)
    assert [a.message for a in eng.visible()] == ["NBP 150/114 (126) dia ≥ 110 mmHg"]
    eng2 = engine()
    eng2.set_baseline(120, 70)
    # the systolic breaks the high limit, the diastolic only its rise limit: both said, the rise as a rise
    reading(eng2, 184, 100, 128, 10.0)
    [alarm] = eng2.visible()
    assert alarm.priority == HIGH
    assert alarm.message == "NBP 184/100 (128) sys ≥ 180; dia rise ≥ 25 over 70 mmHg"
    assert alarm.values["limit_sbp_rise"] == 40  # the record still names every limit broken


def test_a_later_reading_still_over_updates_the_one_alarm_and_is_no_new_alarm() -> None:
    eng = engine()
    reading(eng, 182, 100, 127, 1000.0)
    first = eng.visible()[0]
    events(eng)
    reading(eng, 183, 113, 136, 1300.0)
    [alarm] = eng.visible()
    assert alarm.id == first.id and alarm.started == 1000.0
    assert alarm.message == "NBP 183/113 (136) ≥ 180/110 mmHg"  # the current reading, not the onset's
    assert alarm.values["sbp"] == 183 and alarm.values["dbp"] == 113
    assert events(eng) == []  # already high: no new start, no escalation


def test_a_medium_systolic_rise_escalates_to_high_when_the_diastolic_breaks_its_high_limit() -> None:
    eng = engine()
    eng.set_baseline(120, 80)
    reading(eng, 165, 95, 118, 100.0)  # systolic +45 over baseline: medium; diastolic +15 is fine
    [medium] = eng.visible()
    assert medium.priority == MEDIUM and medium.message == "NBP 165/95 (118) sys rise ≥ 40 over 120 mmHg"
    eng.acknowledge(medium.id, "nurse.kim", 110.0)
    assert eng.audible_priority(111.0) == NONE

    reading(eng, 170, 112, 131, 400.0)
    [alarm] = eng.visible()
    assert alarm.id == medium.id and alarm.priority == HIGH and alarm.started == 100.0
    assert alarm.message == "NBP 170/112 (131) dia ≥ 110; sys rise ≥ 40 over 120 mmHg"
    # the acknowledgement was given for a lesser condition: the worse one sounds again and needs its own
    assert not alarm.acknowledged and eng.audible_priority(401.0) == HIGH
    evs = events(eng)
    assert [e["event"] for e in evs] == ["start", "ack", "escalate"]
    escalate = evs[2]
    assert (escalate["alarm_id"], escalate["priority"], escalate["time"]) == (medium.id, "high", 400.0)
    assert escalate["values"]["dbp"] == 112 and escalate["values"]["limit_dbp_high"] == 110
    assert escalate["reason"].startswith("priority raised from medium")

    # a lesser reading afterwards does not quietly lower the priority of the condition
    reading(eng, 166, 100, 122, 700.0)
    assert eng.visible()[0].priority == HIGH and events(eng) == []


def test_a_reading_back_within_limits_ends_the_condition_with_one_end_event() -> None:
    eng = engine()
    reading(eng, 186, 112, 137, 0.0)
    alarm = eng.visible()[0]
    eng.acknowledge(alarm.id, "nurse.kim", 5.0)
    reading(eng, 178, 108, 131, 300.0)  # inside the limits but not by the 5 mmHg margin: still on
    assert eng.visible()[0].active
    reading(eng, 172, 104, 127, 600.0)  # back by the margin on every limit it broke
    evs = events(eng)
    assert [e["event"] for e in evs] == ["start", "ack", "end"]
    end = evs[2]
    assert (end["alarm_id"], end["time"], end["duration_s"]) == (alarm.id, 600.0, 600.0)
    assert end["values"]["sbp"] == 172 and end["values"]["dbp"] == 104  # the reading that ended it
    assert end["worst_value"] == 186
    assert eng.visible() == [] and eng.priority_for(mdc.NIBP) == NONE
    reading(eng, 171, 100, 124, 900.0)  # a further normal reading: nothing more
    assert events(eng) == []


def test_an_ended_unacknowledged_high_alarm_stays_latched_with_the_reading_that_alarmed() -> None:
    eng = engine()
    reading(eng, 186, 112, 137, 0.0)
    reading(eng, 150, 90, 110, 300.0)
    [latched] = eng.visible()
    assert latched.latched and latched.message == "NBP 186/112 (137) ≥ 180/110 mmHg"


def test_parts_in_any_order_one_part_at_a_time_or_a_missing_mean_still_make_one_reading() -> None:
    eng = engine()
    for code, v in ((mdc.NIBP_MEAN, 137), (mdc.NIBP_DIA, 112), (mdc.NIBP_SYS, 186)):
        eng.feed(num(code, v, 50.0), now=50.0)
        eng.feed(num(mdc.HEART_RATE, 80, 50.0), now=50.0)  # other parameters interleaved
    assert [a.message for a in eng.visible()] == ["NBP 186/112 (137) ≥ 180/110 mmHg"]
    eng2 = engine()
    eng2.feed_many([num(mdc.NIBP_SYS, 186, 50.0), num(mdc.NIBP_DIA, 112, 50.0)])
    assert [a.message for a in eng2.visible()] == ["NBP 186/112 ≥ 180/110 mmHg"]
    assert len(events(eng2, "start")) == 1


def test_each_monitor_has_its_own_condition_and_cuff_inflation_resends_are_not_new_readings() -> None:
    eng = engine()
    reading(eng, 186, 112, 137, 0.0, source="a")
    reading(eng, 190, 100, 130, 0.0, source="b")
    assert sorted(a.key for a in eng.visible()) == ["nibp|a", "nibp|b"]
    events(eng)
    reading(eng, 120, 80, 93, 60.0, source="a", state=State.MEASURING)  # the previous result, re-sent
    assert len([a for a in eng.visible() if a.active]) == 2 and events(eng) == []


def test_every_recorded_nibp_event_fits_the_alarm_entry_model() -> None:
    eng = engine()
    eng.set_baseline(120, 80)
    reading(eng, 165, 95, 118, 100.0, state=State.DEMO)
    eng.acknowledge(eng.visible()[0].id, "nurse.kim", 110.0)
    reading(eng, 170, 112, 131, 400.0, state=State.DEMO)
    reading(eng, 120, 78, 92, 700.0, state=State.DEMO)
    evs = events(eng)
    assert [e["event"] for e in evs] == ["start", "ack", "escalate", "end"]
    for data in evs:
        assert validate_payload("alarm", data) == data
    assert all(e["demo"] for e in evs if e["event"] != "ack") and evs[0]["message"].endswith("(DEMO data)")
    with pytest.raises(EntryPayloadError):  # the model still refuses what the engine never writes
        validate_payload("alarm", {**evs[2], "event": "escalated"})


def test_protocol_limits_and_the_baseline_rise_rules_apply_to_the_one_condition() -> None:
    protocol = load_protocol_file(PROTOCOLS / "esketamine-56.json")
    limits = {**protocol.alarm_limits, "sbp_high": 170, "dbp_rise": 20}  # a site's stricter template
    eng = AlarmEngine(AlarmLimits.from_dict(limits, protocol.version_tag))
    reading(eng, 165, 102, 123, 10.0)
    assert eng.visible() == []  # no baseline yet, and under the site's 170
    eng.set_baseline(130, 80)
    reading(eng, 165, 102, 123, 310.0)  # +22 diastolic over 80: the site's rise limit of 20
    [alarm] = eng.visible()
    assert (alarm.priority, alarm.message) == (MEDIUM, "NBP 165/102 (123) dia rise ≥ 20 over 80 mmHg")
    reading(eng, 172, 104, 127, 610.0)  # past the site's systolic limit
    [alarm] = eng.visible()
    assert alarm.priority == HIGH and alarm.message == "NBP 172/104 (127) sys ≥ 170; dia rise ≥ 20 over 80 mmHg"
    starts = events(eng, "start")
    assert len(starts) == 1 and starts[0]["protocol_version"] == protocol.version_tag


class _WithMeanLimit(AlarmLimits):
    """Default limits plus a low-mean threshold (no shipped template limits the mean pressure yet)."""

    def threshold(self, rule_id: str) -> float:
        return 65.0 if rule_id == "map_low" else super().threshold(rule_id)


def test_a_rule_on_the_mean_alone_joins_the_same_one_condition(monkeypatch) -> None:
    """docs/extending.md promises that a mean-pressure rule needs only its table entry: a mean-only breach is
    the reading's one condition, named as the mean's, and ends like any other."""
    map_low = AlarmRule("map_low", frozenset({mdc.NIBP_MEAN}), Condition.BELOW, 65.0, (30, 120), "mmHg",
                        AlarmPriority.HIGH, 5)
    monkeypatch.setattr(nibp, "NIBP_RULES", (*nibp.NIBP_RULES, map_low))
    eng = AlarmEngine(_WithMeanLimit())
    reading(eng, 96, 50, 60, 10.0)  # sys and dia within their limits, the mean below 65
    [alarm] = eng.visible()
    assert (alarm.priority, alarm.value, alarm.message) == (HIGH, 60, "NBP 96/50 (60) mean < 65 mmHg")
    assert alarm.values["limit_map_low"] == 65
    reading(eng, 190, 48, 62, 310.0)  # still low, and now the systolic too: one alarm, both said
    [alarm] = eng.visible()
    assert alarm.message == "NBP 190/48 (62) sys ≥ 180; mean < 65 mmHg" and len(events(eng, "start")) == 1
    reading(eng, 150, 80, 103, 610.0)
    assert [e["event"] for e in events(eng)] == ["end"]


def test_a_rise_alarm_ends_when_new_limits_clear_the_baseline_it_rose_from() -> None:
    """A protocol change (next session) clears the baseline; a rise alarm must not then stay on for ever."""
    eng = engine()
    eng.set_baseline(120, 80)
    reading(eng, 165, 95, 118, 100.0)
    assert [a.priority for a in eng.visible()] == [MEDIUM]
    eng.set_limits(AlarmLimits(protocol_version="next"))
    reading(eng, 165, 95, 118, 400.0)  # nothing to rise from now, and under the high limits
    assert eng.visible() == [] and [e["event"] for e in events(eng)] == ["start", "end"]
