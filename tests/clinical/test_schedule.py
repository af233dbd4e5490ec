"""Schedule engine: a whole IV and esketamine session walked through minute by minute, without a clock."""

from __future__ import annotations

import pytest

from console.clinical import ProtocolLibrary
from console.clinical.schedule import device_gate, format_wait, schedule_from_entries, timeline_from_entries

T0 = 1_700_000_000.0  # infusion start
MIN = 60.0
TITLES = {"moaas": "MOAA/S", "cadss6": "CADSS-6"}


@pytest.fixture(scope="module")
def lib() -> ProtocolLibrary:
    return ProtocolLibrary.builtin()


def e(kind, minute, **data):
    return {"kind": kind, "at": T0 + minute * MIN, "data": data}


def obs(scale, minute):
    return e("observation", minute, scale=scale)


def states(status):
    return {c.key: c.state for c in status.checkpoints}


def test_before_start_baseline_is_due_and_nothing_overdue(lib):
    s = schedule_from_entries(lib.get("iv-ketamine-0.5"), [], T0 - 30 * MIN, titles=TITLES)
    st = states(s)
    assert st["bp@baseline"] == st["moaas@baseline"] == st["cadss6@baseline"] == "pending"
    assert st["moaas@40"] == st["moaas@end"] == st["moaas@discharge"] == "waiting"
    assert s.overdue == [] and s.unlogged == ()
    assert s.next_due.label.endswith("baseline") and s.next_due.seconds_left(T0) is None


def test_iv_bp_every_10_minutes_with_countdown_and_overdue(lib):
    p = lib.get("iv-ketamine-0.5")
    ents = [obs("moaas", -5), obs("cadss6", -5), e("infusion_start", 0)]
    s = schedule_from_entries(p, ents, T0 + 4 * MIN, bp_times=[T0 - 6 * MIN], titles=TITLES)
    assert s.next_due.key == "bp@10"
    assert s.next_due.label == "BP at 10 min"
    assert s.next_due.seconds_left(s.now) == 6 * MIN
    # 16 min: the 10-min BP is late beyond the 5-min grace
    s = schedule_from_entries(p, ents, T0 + 16 * MIN, bp_times=[T0 - 6 * MIN], titles=TITLES)
    assert [c.key for c in s.overdue] == ["bp@10"]
    assert [c.key for c in s.unlogged] == ["bp@10"]
    # once logged as overdue it is not reported again, but still shown overdue
    logged = ents + [e("check_overdue", 16, key="bp@10")]
    s = schedule_from_entries(p, logged, T0 + 16.5 * MIN, bp_times=[T0 - 6 * MIN], titles=TITLES)
    assert [c.key for c in s.overdue] == ["bp@10"] and s.unlogged == ()
    # a reading at 16.6 min resolves it
    s = schedule_from_entries(p, logged, T0 + 17 * MIN, bp_times=[T0 - 6 * MIN, T0 + 16.6 * MIN], titles=TITLES)
    assert states(s)["bp@10"] == "done" and s.overdue == []


def test_one_reading_never_counts_for_two_bp_times(lib):
    p = lib.get("iv-ketamine-0.5")
    s = schedule_from_entries(p, [e("infusion_start", 0)], T0 + 26 * MIN, bp_times=[T0 - 60, T0 + 25 * MIN])
    st = states(s)
    assert st["bp@10"] == "missed" and st["bp@20"] == "done"


def test_bp_continues_30_min_after_the_end_and_discharge_follows(lib):
    p = lib.get("iv-ketamine-0.5")
    ents = [e("infusion_start", 0), e("infusion_stop", 40)]
    s = schedule_from_entries(p, ents, T0 + 41 * MIN)
    bp_keys = [c.key for c in s.checkpoints if c.what == "bp"]
    assert bp_keys == ["bp@baseline", "bp@10", "bp@20", "bp@30", "bp@40", "bp@50", "bp@60", "bp@70"]
    assert s.get("moaas@discharge").due_at == T0 + 70 * MIN
    assert s.get("moaas@end").due_at == T0 + 40 * MIN


def test_one_observation_at_40_min_covers_40_min_and_end_of_a_40_min_infusion(lib):
    p = lib.get("iv-ketamine-0.5")
    ents = [obs("moaas", -3), e("infusion_start", 0), obs("moaas", 39), e("infusion_stop", 40)]
    st = states(schedule_from_entries(p, ents, T0 + 45 * MIN))
    assert st["moaas@40"] == st["moaas@end"] == "done"
    assert st["moaas@discharge"] == "pending"


def test_a_late_discharge_rating_does_not_fill_a_missed_40_min_one(lib):
    p = lib.get("iv-ketamine-0.5")
    ents = [obs("moaas", -3), e("infusion_start", 0), e("infusion_stop", 55), obs("moaas", 85)]
    st = states(schedule_from_entries(p, ents, T0 + 86 * MIN))
    assert st["moaas@40"] == "missed" and st["moaas@end"] == "missed" and st["moaas@discharge"] == "done"


def test_baseline_missing_at_start_becomes_overdue_then_missed(lib):
    p = lib.get("iv-ketamine-0.5")
    ents = [e("infusion_start", 0)]
    assert states(schedule_from_entries(p, ents, T0 + 2 * MIN))["cadss6@baseline"] == "pending"
    assert states(schedule_from_entries(p, ents, T0 + 6 * MIN))["cadss6@baseline"] == "missed"


def test_timeline_tracks_pause_and_resume(lib):
    p = lib.get("iv-ketamine-0.5")
    tl = timeline_from_entries([e("infusion_start", 0), e("infusion_pause", 10)], p)
    assert tl.running and tl.paused and tl.end is None
    tl = timeline_from_entries([e("infusion_start", 0), e("infusion_pause", 10), e("infusion_resume", 12)], p)
    assert tl.running and not tl.paused
    tl = timeline_from_entries([e("infusion_start", 0), e("infusion_stop", 44)], p)
    assert not tl.running and tl.end == T0 + 44 * MIN


def test_im_injection_ends_when_given(lib):
    p = lib.get("im-ketamine")
    tl = timeline_from_entries([e("infusion_start", 0)], p)
    assert tl.end == T0 and not tl.running
    s = schedule_from_entries(p, [e("infusion_start", 0)], T0 + MIN)
    assert s.get("moaas@discharge").due_at == T0 + 30 * MIN
    assert [c.key for c in s.checkpoints if c.what == "bp"][-1] == "bp@30"


def test_esketamine_device_spacing(lib):
    p = lib.get("esketamine-56")
    g = device_gate(p, [], T0)
    assert g.allowed and g.reason == "Device 1 of 2 can be given"
    g = device_gate(p, [T0], T0 + 192)
    assert not g.allowed and g.next_allowed_at == T0 + 300
    assert g.reason == "Device 2 of 2 allowed in 1 min 48 s: devices must be 5 min apart"
    assert device_gate(p, [T0], T0 + 300).allowed
    g = device_gate(p, [T0, T0 + 300], T0 + 600)
    assert not g.allowed and g.reason == "All 2 devices given (56 mg)"
    with pytest.raises(ValueError):
        device_gate(lib.get("iv-ketamine-0.5"), [], T0)


def test_esketamine_monitoring_runs_two_hours_from_first_device(lib):
    p = lib.get("esketamine-84")
    ents = [e("esketamine_dose", 0), e("esketamine_dose", 5), e("esketamine_dose", 10)]
    tl = timeline_from_entries(ents, p)
    assert tl.start == T0 and tl.end == T0 + 10 * MIN and len(tl.device_times) == 3
    s = schedule_from_entries(p, ents, T0 + 20 * MIN)
    assert s.get("bp@40").due_at == T0 + 40 * MIN
    assert s.get("bp@discharge").due_at == T0 + 120 * MIN
    assert s.next_due.key in ("bp@40", "cadss6@40", "moaas@40")


def test_format_wait():
    assert (format_wait(45.2), format_wait(192), format_wait(-3)) == ("46 s", "3 min 12 s", "0 s")


# -- observations matched by the point they were saved for --------------------------------------------------------
def pobs(scale, minute, point):
    return e("observation", minute, scale=scale, point=point)


def test_a_rating_saved_for_its_point_does_that_check_whenever_it_was_taken(lib):
    """The compressed simulation: the 40-minute rating taken at minute 20 is not "missed" at minute 60."""
    p = lib.get("iv-ketamine-0.5")
    ents = [pobs("moaas", -5, "baseline"), e("infusion_start", 0), pobs("moaas", 20, "40"),
            e("infusion_stop", 21)]
    s = schedule_from_entries(p, ents, T0 + 60 * MIN, titles=TITLES)
    assert states(s)["moaas@40"] == "done" and s.get("moaas@40").done_at == T0 + 20 * MIN
    # saved for "40", it is not counted again by its time for the end of dosing (due at minute 21)
    assert states(s)["moaas@end"] == "missed"
    # without the point the same reading is judged by its time only: it answers the end, and 40 is missed
    ents[2] = obs("moaas", 20)
    s = schedule_from_entries(p, ents, T0 + 60 * MIN, titles=TITLES)
    assert states(s)["moaas@40"] == "missed" and states(s)["moaas@end"] == "done"


def test_a_rating_for_one_point_answers_another_due_at_the_same_moment(lib):
    p = lib.get("iv-ketamine-0.5")
    ents = [pobs("moaas", -5, "baseline"), e("infusion_start", 0), e("infusion_stop", 40),
            pobs("moaas", 46, 40)]  # late, and the point stored as a number
    s = schedule_from_entries(p, ents, T0 + 50 * MIN, titles=TITLES)
    assert states(s)["moaas@40"] == states(s)["moaas@end"] == "done"
    assert s.get("moaas@end").done_at == T0 + 46 * MIN


def test_a_point_not_in_the_schedule_falls_back_to_the_time(lib):
    p = lib.get("iv-ketamine-0.5")
    ents = [e("infusion_start", 0), pobs("moaas", -4, "before"), pobs("cadss6", 39, "extra")]
    s = schedule_from_entries(p, ents, T0 + 41 * MIN, titles=TITLES)
    assert states(s)["moaas@baseline"] == "done" and states(s)["cadss6@40"] == "done"


def test_point_keys_are_one_text():
    from console.clinical.schedule import point_key

    assert point_key(40) == point_key(40.0) == point_key("40") == point_key(" 40.0 ") == "40"
    assert point_key("baseline") == "baseline" and point_key(12.5) == "12.5"


def test_flagged_checks_once_the_session_is_finished(lib):
    from console.clinical.schedule import flagged_checks

    p = lib.get("iv-ketamine-0.5")
    ents = [pobs("moaas", -5, "baseline"), pobs("cadss6", -5, "baseline"), e("infusion_start", 0)]
    s = schedule_from_entries(p, ents, T0 + 12 * MIN, bp_times=[T0 - 6 * MIN], titles=TITLES)
    assert [c.key for c in flagged_checks(s, finished=False)] == []  # the 10-min BP is within its grace
    finished = {c.key for c in flagged_checks(s, finished=True)}
    assert "bp@10" in finished and "moaas@40" in finished and "moaas@baseline" not in finished
