"""The session workflow without Qt: every transition of :class:`SessionController`, the forbidden ones included.

Each refusal is checked twice: the plain sentence the clinician sees, and that nothing reached the record.
"""

from __future__ import annotations

from typing import Any

import pytest

from console.clinical import ProtocolLibrary, ScaleLibrary
from console.clinical.entries import precheck_data
from console.record.errors import StorageUnavailable
from console.session import Phase, Refused, SessionController
from devices import mdc
from devices.model import State
from tests.session_panel.conftest import Clock
from tests.session_panel.fake_service import FakeService

LIB = ProtocolLibrary.builtin()
SCALES = ScaleLibrary.builtin()
CADSS_ZERO = {i: 0 for i in ("1", "2", "6", "7", "15", "22")}


class Monitor:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.values: dict[int, Any] = {}
        self.set_bp(128, 82)

    def set_bp(self, sbp: float, dbp: float) -> None:
        self.values[mdc.NIBP_SYS] = (sbp, State.NONE, self.clock())
        self.values[mdc.NIBP_DIA] = (dbp, State.NONE, self.clock())
        self.values[mdc.HEART_RATE] = (72.0, State.NONE, self.clock())

    def __call__(self) -> dict[int, Any]:
        return dict(self.values)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def monitor(clock: Clock) -> Monitor:
    return Monitor(clock)


@pytest.fixture
def svc(clock: Clock) -> FakeService:
    return FakeService(clock)


@pytest.fixture
def ctl(svc: FakeService, clock: Clock, monitor: Monitor) -> SessionController:
    return SessionController(svc, clock=clock, latest_vitals=monitor, scales=SCALES, protocols=LIB)


def begin(ctl: SessionController, protocol_id: str = "iv-ketamine-0.5", weight: float = 70.0) -> None:
    protocol = LIB.get(protocol_id)
    ctl.begin("P-001", protocol, protocol.plan(weight) if not protocol.uses_devices else protocol.plan(), "2",
              weight_kg=weight, age_years=40)


def precheck(ctl: SessionController, monitor: Monitor, **over: bool) -> None:
    answers = {"identity_confirmed": True, "consent_on_file": True, "fasting": True, "escort_arranged": True}
    answers.update(over)
    ctl.save_precheck([("precheck", precheck_data(
        identity_confirmed=answers["identity_confirmed"], consent_on_file=answers["consent_on_file"],
        fasting=answers["fasting"], escort_arranged=answers["escort_arranged"], baseline_vitals=monitor()))])


def baseline(ctl: SessionController) -> None:
    ctl.record_rating(SCALES.get("moaas"), {"score": 5})
    ctl.record_rating(SCALES.get("cadss6"), CADSS_ZERO)


def ready(ctl: SessionController, monitor: Monitor, protocol_id: str = "iv-ketamine-0.5") -> None:
    begin(ctl, protocol_id)
    precheck(ctl, monitor)
    baseline(ctl)


def refused(call: Any, svc: FakeService, words: str) -> str:
    """``call`` is refused with ``words`` in its reason and stores nothing."""
    before = len(svc.only_session().entries) if svc.sessions else 0
    with pytest.raises(Refused) as info:
        call()
    assert words in info.value.reason
    assert (len(svc.only_session().entries) if svc.sessions else 0) == before
    return info.value.reason


# -- the whole way through ------------------------------------------------------------------------------------
def test_every_phase_in_order_from_no_session_to_the_next_patient(ctl, svc, clock, monitor):
    assert ctl.phase is Phase.NO_SESSION
    begin(ctl)
    assert ctl.phase is Phase.CHOSEN
    precheck(ctl, monitor)
    assert ctl.phase is Phase.PRECHECKED
    baseline(ctl)
    assert ctl.phase is Phase.READY
    ctl.start_infusion(confirmed=True)
    assert ctl.phase is Phase.DOSING
    clock.advance(10)
    ctl.pause_infusion("Nausea")
    assert ctl.phase is Phase.PAUSED
    clock.advance(2)
    ctl.resume_infusion()
    assert ctl.phase is Phase.DOSING
    clock.advance(30)
    ctl.stop_infusion(confirmed=True)
    assert ctl.phase is Phase.MONITORING
    clock.advance(30)
    ctl.record_discharge({k: True for k in ("alert_oriented", "able_to_walk", "escort_present",
                                            "instructions_given")}, override_reason="reviewed, fit to leave")
    assert ctl.phase is Phase.DISCHARGED
    ctl.sign("secret")
    assert ctl.phase is Phase.SIGNED
    ctl.next_patient()
    assert ctl.phase is Phase.NO_SESSION
    assert ctl.session is None and ctl.schedule() is None and ctl.entries() == [] and ctl.bp_readings == {}
    assert svc.kinds() == ["precheck", "observation", "observation", "infusion_start", "infusion_pause",
                           "infusion_resume", "infusion_stop", "discharge", "signature"]
    # the 2-minute pause is not dosing time: 40 min of running at 52.5 mL/h is the whole 35 mL
    assert svc.last("infusion_stop").data == {"completed": True, "reason": "", "dose_given_mg": 35.0,
                                              "volume_given_ml": 35.0}


# -- before dosing --------------------------------------------------------------------------------------------
def test_dosing_cannot_start_without_a_saved_precheck(ctl, svc):
    begin(ctl)
    refused(lambda: ctl.start_infusion(confirmed=True), svc, "Save the pre-check first")
    assert ctl.phase is Phase.CHOSEN


def test_identity_not_confirmed_blocks_and_no_reason_unblocks_it(ctl, svc, monitor):
    begin(ctl)
    precheck(ctl, monitor, identity_confirmed=False)
    baseline(ctl)
    refused(lambda: ctl.start_infusion(confirmed=True), svc, "Identity is not confirmed")
    refused(lambda: ctl.record_hold_reason("identity", "known to the team"), svc, "Identity is not confirmed")
    precheck(ctl, monitor)  # a new pre-check confirming it is what unblocks
    assert ctl.start_infusion(confirmed=True).kind == "infusion_start"


def test_missing_consent_blocks_even_with_every_other_hold_resolved(ctl, svc, monitor):
    begin(ctl)
    precheck(ctl, monitor, consent_on_file=False, fasting=False)
    baseline(ctl)
    ctl.record_hold_reason("fasting", "clear fluids only, 4 h ago")
    refused(lambda: ctl.start_infusion(confirmed=True), svc, "No consent on file")
    refused(lambda: ctl.record_hold_reason("consent", "verbal consent given"), svc, "No consent on file")
    assert "infusion_start" not in svc.kinds()


@pytest.mark.parametrize("answer,key,words", [
    ("fasting", "fasting", "Not fasting"),
    ("escort_arranged", "escort", "No escort"),
])
def test_a_precheck_hold_needs_a_recorded_reason(ctl, svc, monitor, answer, key, words):
    begin(ctl)
    precheck(ctl, monitor, **{answer: False})
    baseline(ctl)
    refused(lambda: ctl.start_infusion(confirmed=True), svc, words)
    refused(lambda: ctl.record_hold_reason(key, "  ok "), svc, "at least 5 characters")
    override = ctl.record_hold_reason(key, "taxi booked by the clinic")
    assert override.kind == "hold_override" and override.data["limit"] == key
    assert override.data["reason"] == "taxi booked by the clinic"
    refused(lambda: ctl.record_hold_reason(key, "second time"), svc, "already recorded")
    assert ctl.start_infusion(confirmed=True).kind == "infusion_start"


def test_bp_above_the_hold_limit_needs_a_reason(ctl, svc, monitor):
    begin(ctl)
    monitor.set_bp(176, 104)
    precheck(ctl, monitor)
    baseline(ctl)
    refused(lambda: ctl.start_infusion(confirmed=True), svc, "above the hold limit")
    override = ctl.record_hold_reason("bp", "anxious, repeat BP trending down")
    assert (override.data["sbp"], override.data["dbp"]) == (176.0, 104.0)
    ctl.start_infusion(confirmed=True)


def test_no_hold_to_override_is_refused(ctl, svc, monitor):
    ready(ctl, monitor)
    refused(lambda: ctl.record_hold_reason("bp", "just in case"), svc, "Nothing to override")


def test_baseline_ratings_are_due_before_dosing(ctl, svc, monitor):
    begin(ctl)
    precheck(ctl, monitor)
    reason = refused(lambda: ctl.start_infusion(confirmed=True), svc, "Baseline ratings due before dosing")
    assert "MOAA/S baseline" in reason and "CADSS-6 baseline" in reason
    ctl.record_rating(SCALES.get("moaas"), {"score": 5})
    reason = refused(lambda: ctl.start_infusion(confirmed=True), svc, "CADSS-6 baseline")
    assert "MOAA/S" not in reason
    ctl.record_rating(SCALES.get("cadss6"), CADSS_ZERO)
    assert ctl.phase is Phase.READY


def test_start_needs_confirmation(ctl, svc, monitor):
    ready(ctl, monitor)
    refused(lambda: ctl.start_infusion(), svc, "Confirm the start")
    assert ctl.phase is Phase.READY


def test_the_precheck_cannot_be_saved_again_once_dosing_started(ctl, svc, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    refused(lambda: precheck(ctl, monitor), svc, "Dosing has started")


# -- stopping -------------------------------------------------------------------------------------------------
def test_stop_at_minute_zero_is_stopped_early_with_nothing_given(ctl, svc, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    reason = refused(lambda: ctl.stop_infusion(confirmed=True), svc, "give the reason for stopping early")
    assert reason.startswith("Stopped early: 0.0 of 35 mg given (0.0 of 35 mL)")
    refused(lambda: ctl.stop_infusion(reason="patient request"), svc, "Confirm the stop")
    ctl.stop_infusion(confirmed=True, reason="patient request")
    assert svc.last("infusion_stop").data == {"completed": False, "reason": "patient request",
                                              "dose_given_mg": 0.0, "volume_given_ml": 0.0}
    assert ctl.phase is Phase.MONITORING


def test_dose_and_volume_follow_the_times_pauses_and_rates(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)                 # 52.5 mL/h of 1 mg/mL
    clock.advance(10)                                  # 8.75 mL
    ctl.pause_infusion("Blood pressure rise")
    clock.advance(5)                                   # paused: nothing
    ctl.resume_infusion()
    clock.advance(10)                                  # 8.75 mL
    ctl.change_rate("30", "Blood pressure rise")
    clock.advance(10)                                  # 5 mL
    summary = ctl.stop_summary()
    assert (summary.volume_ml, summary.dose_mg, summary.completed) == (22.5, 22.5, False)
    assert summary.minutes_running == pytest.approx(30.0)
    ctl.stop_infusion(confirmed=True, reason="BP kept rising")
    assert svc.last("infusion_stop").data == {"completed": False, "reason": "BP kept rising",
                                              "dose_given_mg": 22.5, "volume_given_ml": 22.5}


def test_a_run_past_the_planned_volume_records_the_planned_dose(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    clock.advance(55)  # the pump stops at its volume to be infused
    ctl.stop_infusion(confirmed=True)
    assert svc.last("infusion_stop").data["completed"] is True
    assert svc.last("infusion_stop").data["volume_given_ml"] == 35.0


def test_infusion_controls_refused_when_not_running(ctl, svc, monitor):
    ready(ctl, monitor)
    refused(lambda: ctl.pause_infusion("Nausea"), svc, "has not started")
    refused(lambda: ctl.stop_infusion(confirmed=True, reason="x"), svc, "has not started")
    ctl.start_infusion(confirmed=True)
    refused(lambda: ctl.resume_infusion(), svc, "not paused")
    refused(lambda: ctl.pause_infusion(""), svc, "Reason for pausing is required")
    refused(lambda: ctl.start_infusion(confirmed=True), svc, "already started")


# -- ratings carry their point --------------------------------------------------------------------------------
def test_ratings_carry_the_point_they_answer(ctl, svc, clock, monitor):
    begin(ctl)
    precheck(ctl, monitor)
    assert ctl.rating_point("moaas") == "baseline"
    baseline(ctl)
    ctl.start_infusion(confirmed=True)
    clock.advance(2)
    assert ctl.rating_point("moaas") is None  # nothing due: an extra rating, never "baseline"
    refused(lambda: ctl.record_rating(SCALES.get("moaas"), {"score": 4}, point="baseline"), svc,
            "cannot be the baseline")
    extra = ctl.record_rating(SCALES.get("moaas"), {"score": 4})
    assert "point" not in extra.data
    clock.advance(36)  # 38 min: the 40-minute rating's window is open
    assert ctl.record_rating(SCALES.get("moaas"), {"score": 4}).data["point"] == "40"
    status = ctl.schedule()
    assert status.get("moaas@40").state == "done" and status.get("moaas@baseline").state == "done"
    clock.advance(2)
    ctl.stop_infusion(confirmed=True)
    clock.advance(1)
    # "40 min" and "end" of a 40-minute infusion are one moment: the 40-minute rating answers both
    assert ctl.schedule().get("moaas@end").state == "done"
    assert ctl.rating_point("moaas") is None
    assert [e.data.get("point") for e in svc.only_session().entries if e.kind == "observation"] == \
        ["baseline", "baseline", None, "40"]


def test_a_rating_after_an_early_stop_answers_the_end(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    clock.advance(20)
    ctl.stop_infusion(confirmed=True, reason="dissociation")
    clock.advance(1)
    assert ctl.record_rating(SCALES.get("cadss6"), CADSS_ZERO).data["point"] == "end"


def test_a_rating_saved_for_the_40_minute_point_counts_even_when_taken_early(ctl, svc, clock, monitor):
    """The simulated 60-minute session: its 40-minute rating is taken at minute 20, and it is not "missed"."""
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    clock.advance(20)
    ctl.record_rating(SCALES.get("moaas"), {"score": 4}, point="40")
    clock.advance(60)
    status = ctl.schedule()
    assert status.get("moaas@40").state == "done"
    assert status.get("moaas@40").done_at == clock() - 60 * 60


# -- discharge and sign-off -----------------------------------------------------------------------------------
def test_no_sign_off_without_a_discharge(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    refused(lambda: ctl.record_discharge({}), svc, "stop the infusion first")
    refused(lambda: ctl.sign("secret"), svc, "Record the discharge first")
    clock.advance(40)
    ctl.stop_infusion(confirmed=True)
    refused(lambda: ctl.sign("secret"), svc, "Record the discharge first")
    assert svc.signatures == []


def test_discharge_with_criteria_unmet_needs_a_reason(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    clock.advance(40)
    ctl.stop_infusion(confirmed=True)
    refused(lambda: ctl.record_discharge({}), svc, "Reason for discharge with criteria not met")


@pytest.mark.parametrize("how,label", [("left_against_advice", "Left against medical advice"),
                                       ("transferred", "Transferred")])
def test_sign_off_with_a_recorded_departure_instead_of_a_discharge(ctl, svc, clock, monitor, how, label):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    clock.advance(5)
    refused(lambda: ctl.record_departure(how, "to the emergency department"), svc, "stop the infusion first")
    ctl.stop_infusion(confirmed=True, reason="chest pain")
    refused(lambda: ctl.record_departure(how, ""), svc, "a few words")
    refused(lambda: ctl.record_departure("vanished", "gone"), svc, "Choose how the patient left")
    entry = ctl.record_departure(how, "to the emergency department")
    assert entry.kind == "discharge" and entry.data["notes"] == label
    assert entry.data["override_reason"] == f"{label}: to the emergency department"
    assert entry.data["all_met"] is False
    ctl.sign("secret")
    assert ctl.phase is Phase.SIGNED and svc.signatures == [(svc.only_session().id, "authored")]


def test_a_patient_leaving_before_dosing_is_recorded_then_signed(ctl, svc, monitor):
    begin(ctl)
    precheck(ctl, monitor, consent_on_file=False)
    refused(lambda: ctl.record_discharge({}), svc, "record why")
    ctl.record_departure("left_against_advice", "declined treatment today")
    ctl.sign("secret")
    assert "infusion_start" not in svc.kinds() and ctl.phase is Phase.SIGNED


def test_wrong_password_is_refused_and_the_session_stays_open(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.record_departure("transferred", "to the ward")
    reason = refused(lambda: ctl.sign("nope"), svc, "password is not correct")
    assert reason == "The password is not correct; the session was not signed."
    refused(lambda: ctl.sign(""), svc, "Re-enter your password")
    assert ctl.phase is Phase.DISCHARGED


def test_next_patient_only_after_sign_off_and_again_after_a_correction(ctl, svc, monitor):
    ready(ctl, monitor)
    refused(ctl.next_patient, svc, "Sign the session")
    ctl.record_departure("transferred", "to the ward")
    entry = ctl.sign("secret")
    assert entry.kind == "signature"
    refused(lambda: ctl.add_entry("note", {"text": "late note"}), svc, "The session is signed")
    refused(lambda: ctl.sign("secret"), svc, "already signed")
    first = svc.only_session().entries[0]
    ctl.amend(first.id, "typo", dict(first.data, notes="corrected"))
    assert ctl.phase is not Phase.SIGNED
    refused(ctl.next_patient, svc, "sign it again")
    ctl.sign("secret")
    ctl.next_patient()
    assert ctl.phase is Phase.NO_SESSION and ctl.log_overdue() == []
    begin(ctl)  # the next patient
    assert ctl.phase is Phase.CHOSEN and ctl.entries() == []


def test_a_second_session_cannot_be_begun_over_an_open_one(ctl, svc, monitor):
    begin(ctl)
    with pytest.raises(Refused, match="sign it and go to the next patient first"):
        begin(ctl)
    assert len(svc.sessions) == 1


def test_a_resumed_session_is_in_the_phase_it_was_left_in(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    session, patient = ctl.session, ctl.patient
    again = SessionController(svc, clock=clock, latest_vitals=monitor)
    protocol = LIB.get("iv-ketamine-0.5")
    again.open(session, patient, protocol, protocol.plan(70), 70, 40, svc.entries(session.id))
    assert again.phase is Phase.DOSING
    clock.advance(40)
    again.stop_infusion(confirmed=True)
    assert svc.last("infusion_stop").data["completed"] is True


# -- other protocols -------------------------------------------------------------------------------------------
def test_esketamine_devices_follow_the_same_rules(ctl, svc, clock, monitor):
    begin(ctl, "esketamine-56")
    refused(lambda: ctl.give_device(confirmed=True), svc, "Save the pre-check first")
    precheck(ctl, monitor)
    baseline(ctl)
    refused(lambda: ctl.give_device(), svc, "Confirm device 1 of 2")
    ctl.start_infusion(confirmed=True)
    assert ctl.phase is Phase.DOSING
    refused(lambda: ctl.give_device(confirmed=True), svc, "allowed in 5 min 00 s")
    clock.advance(5)
    ctl.give_device("LOT7", confirmed=True)
    assert ctl.phase is Phase.MONITORING
    assert [e.data["device_number"] for e in svc.only_session().entries if e.kind == "esketamine_dose"] == [1, 2]


def test_an_im_injection_goes_straight_to_monitoring(ctl, svc, monitor):
    ready(ctl, monitor, "im-ketamine")
    ctl.start_infusion(confirmed=True)
    assert ctl.phase is Phase.MONITORING
    refused(lambda: ctl.stop_infusion(confirmed=True), svc, "no infusion")


# -- overdue checks and storage failures -----------------------------------------------------------------------
def test_overdue_checks_are_logged_once(ctl, svc, clock, monitor):
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    clock.advance(16)  # the 10-minute BP is 6 minutes late
    assert ctl.log_overdue() == []
    assert ctl.log_overdue() == []
    logged = [e.data["key"] for e in svc.only_session().entries if e.kind == "check_overdue"]
    assert logged == ["bp@10"]


def test_a_refused_write_is_a_plain_sentence_and_nothing_is_kept(ctl, svc, monitor):
    ready(ctl, monitor)
    svc.fail_with = StorageUnavailable("The record database is locked.")
    before = ctl.entries()
    with pytest.raises(Refused) as info:
        ctl.start_infusion(confirmed=True)
    assert info.value.reason.startswith("The infusion start was NOT saved. The record database is locked.")
    assert ctl.entries() == before and ctl.phase is Phase.READY
