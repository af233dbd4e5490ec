"""The alarm engine: what alarms, when, for how long, and what the record gets."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from console.alarms import AlarmEngine, AlarmLimits, Category
from devices import mdc
from devices.model import AlarmPriority, DeviceAlarm, LinkEvent, LinkState, State, WaveBlock
from tests.alarms.helpers import VERSION, engine, events, num, series, top

HIGH, MEDIUM, LOW, NONE = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW, AlarmPriority.NONE


def nibp(eng: AlarmEngine, sbp: float, dbp: float, t: float) -> None:
    eng.feed(num(mdc.NIBP_SYS, sbp, t), now=t)  # now= because a host_time of 0 means "not set"
    eng.feed(num(mdc.NIBP_DIA, dbp, t), now=t)


# ---------------------------------------------------------------- physiological alarms


def test_one_nibp_measurement_over_the_limit_alarms_at_once_with_a_complete_record() -> None:
    eng = engine()
    nibp(eng, 150, 90, 1000.0)
    assert eng.visible() == []
    nibp(eng, 184, 96, 1600.0)
    [alarm] = eng.visible()
    assert (alarm.priority, alarm.mdc, alarm.started, alarm.value) == (HIGH, mdc.NIBP, 1600.0, 184)
    assert alarm.message == "NBP 184/96 sys ≥ 180 mmHg"
    [start] = events(eng, "start")
    assert start == {
        "event": "start", "time": 1600.0, "alarm_id": alarm.id, "key": "nibp|mon",
        "category": "physiological", "priority": "high", "mdc": mdc.NIBP, "parameter": "NBP",
        "message": "NBP 184/96 sys ≥ 180 mmHg", "value": 184, "unit": "mmHg", "limit": 180.0,
        "limit_text": "sys ≥ 180",
        "values": {"sbp": 184, "dbp": 96, "limit_sbp_high": 180}, "started": 1600.0, "source": "mon",
        "demo": False,
        "protocol_version": VERSION, "user": None,
    }
    json.dumps(start)  # ready to be stored as is


def test_diastolic_limit_alone_raises_a_high_alarm() -> None:
    eng = engine()
    nibp(eng, 150, 80, 20.0)
    nibp(eng, 170, 112, 50.0)
    assert [(a.parameter, a.priority, a.value) for a in eng.visible()] == [("NBP", HIGH, 112)]
    assert top(eng).message == "NBP 170/112 dia ≥ 110 mmHg"
    # the record pairs it with the systolic of the same measurement, never an older one
    assert top(eng).values == {"sbp": 170, "dbp": 112, "limit_dbp_high": 110}


def test_next_nibp_inside_the_margin_ends_the_alarm_and_one_in_between_does_not() -> None:
    eng = engine()
    nibp(eng, 185, 95, 0.0)
    nibp(eng, 178, 95, 600.0)  # below 180 but not by the 5 mmHg margin: still alarming
    assert eng.visible()[0].active
    nibp(eng, 181, 95, 1200.0)
    nibp(eng, 174, 95, 1800.0)
    evs = events(eng)
    assert [(e["event"], e["time"]) for e in evs] == [("start", 0.0), ("end", 1800.0)]
    assert evs[1]["value"] == 174 and evs[1]["worst_value"] == 185 and evs[1]["duration_s"] == 1800.0


def test_spike_shorter_than_the_persistence_delay_raises_nothing() -> None:
    eng = engine()
    series(eng, mdc.SPO2, [97] * 5 + [84] * 10 + [97] * 20, 0.0)  # 84 % for 9 s (t=5..14)
    eng.tick(40.0)
    assert events(eng) == [] and eng.visible() == []


def test_condition_persisting_for_the_delay_alarms_at_the_end_of_the_delay() -> None:
    eng = engine()
    series(eng, mdc.SPO2, [97] * 5 + [90] * 11, 0.0)  # 90 % from t=5 to t=15
    [alarm] = eng.visible()
    assert (alarm.parameter, alarm.priority, alarm.started, alarm.limit) == ("SpO2", MEDIUM, 15.0, 92)
    assert alarm.message == "SpO2 90 < 92 %"


def test_critical_spo2_is_one_high_alarm_with_both_limits_in_its_record() -> None:
    eng = engine()
    series(eng, mdc.SPO2, [85] * 11, 0.0)
    [alarm] = eng.visible()  # low and critical are one condition: one banner, one acknowledgement
    assert (alarm.key, alarm.priority, alarm.limit, alarm.limit_text) == (f"low|{mdc.SPO2}|mon", HIGH, 88, "< 88")
    [start] = events(eng)
    assert start["event"] == "start" and start["value"] == 85
    assert start["values"] == {"limit_spo2_critical": 88, "limit_spo2_low": 92}


def test_hovering_at_the_limit_does_not_chatter() -> None:
    eng = engine()
    t = series(eng, mdc.HEART_RATE, [125] * 11, 0.0)
    # five minutes wandering around the limit, sometimes below it but never 5 /min inside
    hover = [119, 121, 118, 122, 116, 120, 124, 117] * 38
    t = series(eng, mdc.HEART_RATE, hover, t + 1)
    assert [e["event"] for e in events(eng)] == ["start"]
    # back inside by the margin: ends after holding there for 5 s, once
    series(eng, mdc.HEART_RATE, [110] * 7, t + 1)
    evs = events(eng)
    assert [(e["event"], e["time"]) for e in evs] == [("end", t + 6)]
    assert evs[0]["worst_value"] == 125


def test_brief_return_inside_the_margin_does_not_end_the_alarm() -> None:
    eng = engine()
    t = series(eng, mdc.HEART_RATE, [40] * 11, 0.0)
    t = series(eng, mdc.HEART_RATE, [55, 55, 55, 42, 55, 55, 55, 55], t + 1)
    assert [e["event"] for e in events(eng)] == ["start"]
    assert eng.visible()[0].active


def test_rise_over_baseline_is_medium_and_needs_a_baseline() -> None:
    eng = engine()
    nibp(eng, 165, 100, 10.0)
    assert eng.visible() == []  # no baseline yet: nothing to rise from
    eng.set_baseline(120, 70)
    nibp(eng, 165, 100, 610.0)
    alarms = eng.visible()
    # both rises are one condition of the one reading
    assert [(a.key, a.priority) for a in alarms] == [("nibp|mon", MEDIUM)]
    assert alarms[0].limit_text == "rise ≥ 40/25 over 120/70"
    assert alarms[0].values["baseline_sbp"] == 120 and alarms[0].values["limit_dbp_rise"] == 25


def test_unusable_values_do_not_alarm_but_demo_values_alarm_marked() -> None:
    eng = engine()
    series(eng, mdc.SPO2, [70] * 15, 0.0, state=State.QUESTIONABLE)
    assert [a.key.split("|")[0] for a in eng.visible()] == ["invalid"]  # only the technical INOP
    eng2 = engine()
    series(eng2, mdc.SPO2, [85] * 11, 0.0, state=State.DEMO)
    top = eng2.top()
    assert top is not None and top.demo and top.message.endswith("(DEMO data)")
    assert events(eng2, "start")[0]["demo"] is True


def test_gap_in_data_restarts_the_delay() -> None:
    eng = engine()
    series(eng, mdc.RESP_RATE, [6] * 6, 0.0)  # t=0..5
    series(eng, mdc.RESP_RATE, [6] * 6, 30.0)  # t=30..35 after a 25 s hole
    assert eng.visible() == []
    series(eng, mdc.RESP_RATE, [6] * 5, 36.0)  # t=36..40: 10 s since the restart
    assert top(eng).started == 40.0


def test_etco2_alarms_only_when_present_and_on_both_sides() -> None:
    eng = engine()
    series(eng, mdc.SPO2, [97] * 30, 0.0)
    assert eng.visible() == []
    series(eng, mdc.ETCO2, [65] * 11, 100.0)
    series(eng, mdc.ETCO2, [15] * 11, 200.0)  # the high one clears, the low one starts
    assert [(e["event"], e["key"].split("|")[0], e["limit"]) for e in events(eng)] == [
        ("start", "high", 60), ("end", "high", 60), ("start", "low", 20)]


def test_priority_for_a_tile_reports_the_parameter_alarm() -> None:
    eng = engine()
    series(eng, mdc.SPO2, [85] * 11, 0.0)
    assert eng.priority_for(mdc.SPO2) == HIGH
    assert eng.priority_for(mdc.HEART_RATE) == NONE


# ---------------------------------------------------------------- technical alarms


def test_disconnect_raises_a_technical_alarm_at_once_and_reconnect_ends_it() -> None:
    eng = engine()
    eng.feed(num(mdc.HEART_RATE, 70, 10.0))
    eng.feed(LinkEvent(LinkState.LOST, "port vanished", host_time=12.5, source="mon"))
    [alarm] = eng.visible()
    assert (alarm.category, alarm.priority, alarm.started) == (Category.TECHNICAL, MEDIUM, 12.5)
    assert alarm.message == "mon disconnected: port vanished"
    eng.tick(40.0)  # no second "stale" INOP for the same outage
    assert len(eng.visible()) == 1
    eng.feed(LinkEvent(LinkState.ASSOCIATED, host_time=45.0, source="mon"))
    assert eng.visible() == []
    assert [(e["event"], e["time"], e["category"]) for e in events(eng)] == [
        ("start", 12.5, "technical"), ("end", 45.0, "technical")]


def test_stale_data_raises_within_stale_s_and_new_data_ends_it() -> None:
    eng = engine()
    eng.feed(num(mdc.HEART_RATE, 70, 100.0))
    eng.tick(109.9)
    assert eng.visible() == []
    eng.tick(110.0)
    [alarm] = eng.visible()
    assert (alarm.key, alarm.priority, alarm.started, alarm.technical) == ("stale|mon", MEDIUM, 110.0, True)
    eng.tick(111.0)
    assert len(events(eng, "start")) == 1
    eng.feed(WaveBlock(mdc.PLETH, "Pleth", 112.0, 125.0, np.zeros(125), "1", host_time=112.0, source="mon"))
    assert eng.visible() == []
    assert [e["time"] for e in events(eng, "end")] == [112.0]


def test_stopped_device_is_not_stale() -> None:
    eng = engine()
    eng.feed(num(mdc.HEART_RATE, 70, 100.0))
    eng.feed(LinkEvent(LinkState.STOPPED, "stopped by user", host_time=101.0, source="mon"))
    eng.tick(500.0)
    assert eng.visible() == [] and events(eng) == []
    # restarted and associated, but nothing arrives: stale again after stale_s
    eng.feed(LinkEvent(LinkState.ASSOCIATED, host_time=600.0, source="mon"))
    eng.tick(609.0)
    assert eng.visible() == []
    eng.tick(610.0)
    assert [a.key for a in eng.visible()] == ["stale|mon"]


def test_sensor_off_is_an_immediate_low_inop_and_clears_when_the_flag_goes() -> None:
    eng = engine()
    eng.feed(num(mdc.SPO2, None, 5.0, State.SENSOR_OFF | State.INVALID))
    [alarm] = eng.visible()
    assert (alarm.message, alarm.priority, alarm.technical) == ("SpO2 sensor off (mon)", LOW, True)
    series(eng, mdc.SPO2, [97] * 3, 6.0)
    assert eng.visible() == []
    assert [(e["event"], e["time"]) for e in events(eng)] == [("start", 5.0), ("end", 8.0)]


def test_lead_off_flag() -> None:
    eng = engine()
    eng.feed(num(mdc.HEART_RATE, None, 5.0, State.LEAD_OFF))
    assert top(eng).message == "HR lead off (mon)"


def test_monitor_alarms_pass_through_with_their_priority() -> None:
    eng = engine()
    low_spo2 = functools.partial(DeviceAlarm, code="masimo.spo2_low", text="SpO2 low", priority=MEDIUM,
                                 mdc=mdc.SPO2, source="rad")
    eng.feed(low_spo2(active=True, host_time=3.0))
    eng.feed(low_spo2(active=True, host_time=4.0))  # repeated: still one alarm
    eng.feed(DeviceAlarm("masimo.no_sensor", "No sensor", LOW, True, technical=True, host_time=4.0,
                         source="rad"))
    assert [(a.message, a.priority, a.technical) for a in eng.visible()] == [
        ("SpO2 low (rad) [monitor alarm]", MEDIUM, False), ("No sensor (rad) [monitor alarm]", LOW, True)]
    eng.feed(low_spo2(active=False, host_time=9.0))
    assert [(e["event"], e["time"]) for e in events(eng)] == [("start", 3.0), ("start", 4.0), ("end", 9.0)]


# ---------------------------------------------------------------- priorities, latching, ack, pause


def test_priority_ordering_puts_the_most_urgent_first() -> None:
    eng = engine()
    eng.feed(num(mdc.SPO2, None, 0.5, State.SENSOR_OFF))  # low technical
    series(eng, mdc.HEART_RATE, [130] * 11, 1.0)  # medium
    nibp(eng, 190, 100, 20.0)  # high
    assert [a.priority for a in eng.visible()] == [HIGH, MEDIUM, LOW]
    assert top(eng).parameter == "NBP"
    assert eng.audible_priority(21.0) == HIGH


def test_high_alarm_latches_until_acknowledged_and_ack_is_logged_with_the_user() -> None:
    eng = engine()
    series(eng, mdc.SPO2, [85] * 11, 0.0)
    series(eng, mdc.SPO2, [97] * 6, 11.0)  # both SpO2 alarms end at t=16
    alarms = eng.visible()
    assert [(a.priority, a.active, a.latched) for a in alarms] == [(HIGH, False, True)]  # medium not latched
    assert eng.audible_priority(17.0) == NONE  # latched alarms are shown, not sounded
    latched = alarms[0]
    events(eng)
    assert eng.acknowledge(latched.id, "nurse.kim", 30.0) is True
    assert eng.visible() == []
    [ack] = events(eng)
    assert (ack["event"], ack["user"], ack["time"], ack["priority"], ack["alarm_id"]) == (
        "ack", "nurse.kim", 30.0, "high", latched.id)
    assert ack["protocol_version"] == VERSION
    assert eng.acknowledge(latched.id, "nurse.kim", 31.0) is False  # once only
    assert eng.acknowledge(9999, "nurse.kim", 31.0) is False


def test_acknowledging_an_active_alarm_silences_it_but_keeps_it_visible() -> None:
    eng = engine()
    series(eng, mdc.HEART_RATE, [130] * 11, 0.0)
    alarm = top(eng)
    eng.acknowledge(alarm.id, "dr.lee", 12.0)
    assert eng.visible() == [alarm] and alarm.acknowledged_by == "dr.lee"
    assert eng.audible_priority(12.0) == NONE


def test_ack_without_a_user_is_refused() -> None:
    eng = engine()
    series(eng, mdc.HEART_RATE, [130] * 11, 0.0)
    with pytest.raises(ValueError, match="must name the user"):
        eng.acknowledge(top(eng).id, "  ", 12.0)


def test_audio_pause_for_two_minutes_is_logged_and_new_high_alarm_stays_visible() -> None:
    eng = engine()
    series(eng, mdc.HEART_RATE, [130] * 11, 0.0)
    events(eng)
    eng.pause_audio("nurse.kim", 20.0)
    assert eng.pause_remaining(21.0) == 119.0
    [pause] = events(eng)
    assert pause == {"event": "pause", "time": 20.0, "user": "nurse.kim", "duration_s": 120.0, "until": 140.0,
                     "protocol_version": VERSION, "priority": "medium",
                     "active_alarm_ids": [top(eng).id]}
    nibp(eng, 200, 100, 30.0)  # new high alarm during the pause
    assert top(eng).priority == HIGH and top(eng).active
    assert eng.audible_priority(30.0) == NONE
    eng.tick(139.9)
    assert eng.audio_paused(139.9)
    eng.tick(140.0)
    assert not eng.audio_paused(140.0) and eng.audible_priority(140.0) == HIGH
    ends = events(eng, "pause_end")
    assert [(e["reason"], e["paused_by"], e["time"]) for e in ends] == [("expired", "nurse.kim", 140.0)]


def test_resume_audio_early_is_logged() -> None:
    eng = engine()
    eng.pause_audio("a", 0.0)
    assert eng.resume_audio("b", 10.0) is True
    assert [(e["event"], e["user"]) for e in events(eng)] == [("pause", "a"), ("pause_end", "b")]
    assert eng.resume_audio("b", 11.0) is False


# ---------------------------------------------------------------- delivery


def test_events_go_to_the_callback_and_a_failing_callback_loses_nothing() -> None:
    got: list[dict] = []

    def flaky(data: dict) -> None:
        if data["event"] == "end":
            raise RuntimeError("database busy")
        got.append(data)

    eng = AlarmEngine(AlarmLimits(protocol_version="p"), on_event=flaky)
    nibp(eng, 190, 100, 0.0)
    nibp(eng, 150, 90, 600.0)
    assert [e["event"] for e in got] == ["start"]
    assert [e["event"] for e in eng.drain_events()] == ["end"]


def test_sample_without_time_needs_now() -> None:
    eng = engine()
    with pytest.raises(ValueError, match="pass now="):
        eng.feed(num(mdc.SPO2, 97, 0.0))
    eng.feed(num(mdc.SPO2, 97, 0.0), now=5.0)


def test_baseline_is_validated() -> None:
    eng = engine()
    with pytest.raises(ValueError, match="systolic"):
        eng.set_baseline(1200, 80)
    with pytest.raises(ValueError, match="below systolic"):
        eng.set_baseline(80, 90)
    eng.set_baseline(128, 82)
    assert eng.baseline == (128.0, 82.0)


def test_batches_submitted_from_other_threads_are_evaluated_in_order_on_tick() -> None:
    import threading

    eng = engine()
    batches = [[num(mdc.SPO2, 85.0, 100.0 + i)] for i in range(11)]
    def submit_all() -> None:
        for b in batches:
            eng.submit(b)

    worker = threading.Thread(target=submit_all)
    worker.start()
    worker.join()
    assert eng.visible() == []  # nothing evaluated on the submitting thread
    eng.tick(111.0)
    assert [a.started for a in eng.visible()] == [110.0]
