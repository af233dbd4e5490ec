"""What the clinician at the chair sees and what the record receives."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from console.record.errors import StorageUnavailable
from console.session_panel.panel import PAGE_FORM, PAGE_SESSION, PAGE_SIGN, PAGE_START
from devices import mdc
from tests.session_panel.conftest import T0, confirm, rate, ready, save_precheck, start
from tests.session_panel.fake_service import FakeService
from widgets.scale_form import ScaleForm
from widgets.side_effect_form import SideEffectForm


def test_start_form_shows_the_dose_and_starts_the_session(make_panel, svc):
    panel = make_panel(svc)
    form = panel.start_form
    form.weight.setText("70")
    assert form.dose_label.text() == "Dose: 35.0 mg (0.5 mg/kg x 70 kg) = 35.0 mL at 1 mg/mL over 40 min at 52.5 mL/h"
    form.weight.setText("7o")
    assert form.dose_label.text() == "Dose: weight '7o' is not a number"
    start(panel)
    s = svc.only_session()
    assert (s.protocol_id, s.protocol_version, s.chair) == ("iv-ketamine-0.5", "1", "2")
    assert s.details["protocol_tag"] == "iv-ketamine-0.5@1"
    assert s.details["dose_plan"]["rate_ml_h"] == 52.5
    assert s.details["protocol"]["alarm_limits"]["sbp_high"] == 180
    assert panel.stack.currentIndex() == PAGE_SESSION
    assert panel.title_label.text() == "P-001 - chair 2"


def test_start_without_code_says_so(make_panel, svc):
    panel = make_panel(svc)
    panel.start_form.weight.setText("70")
    panel.start_form.start_button.click()
    assert panel.start_form.error_label.text() == "Enter the patient code"
    assert svc.sessions == {}


def test_demo_marker(make_panel, clock):
    panel = make_panel(FakeService(clock, demo=True))
    assert not panel.demo_badge.isHidden() and panel.demo_badge.text() == "DEMO"
    panel = make_panel(FakeService(clock))
    assert panel.demo_badge.isHidden()


def test_moaas_entry_stores_score_and_vitals(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.shortcut_actions["F2"].trigger()
    form = panel.current_form()
    assert isinstance(form, ScaleForm) and form.scale.id == "moaas"
    assert panel.stack.currentIndex() == PAGE_FORM
    form.buttons[("score", 4)].click()
    panel.save_button.click()
    e = svc.last("observation")
    assert e.data["scale"] == "moaas" and e.data["items"] == {"score": 4} and e.data["total"] == 4
    assert e.data["point"] == "baseline"
    assert e.data["vitals"][str(mdc.NIBP_SYS)]["value"] == 128
    assert panel.stack.currentIndex() == PAGE_SESSION
    assert panel.entry_list.item(0).text().endswith("MOAA/S 4 baseline, BP 128/82")


def test_cadss6_entry_stores_items_and_subscales(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.shortcut_actions["F3"].trigger()
    form = panel.current_form()
    for item, value in {"1": 2, "2": 1, "6": 3, "7": 0, "15": 1, "22": 0}.items():
        form.buttons[(item, value)].click()
    assert form.summary_label.text().startswith("Total 7 (of 24)")
    panel.save_button.click()
    e = svc.last("observation")
    assert e.data["scale"] == "cadss6"
    assert e.data["items"] == {"1": 2, "2": 1, "6": 3, "7": 0, "15": 1, "22": 0}
    assert e.data["subscales"] == {"depersonalization": 3, "derealization": 4, "amnesia": 0}
    assert e.data["total"] == 7
    # no pre-dose score exists yet for this baseline rating, so dissociation is raised and says why
    assert e.data["flags"][0]["id"] == "dissociation"


def test_incomplete_scale_is_not_saved_and_stays_open(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.trigger("cadss6")
    panel.current_form().buttons[("1", 2)].click()
    panel.save_button.click()
    assert "observation" not in svc.kinds()
    assert panel.stack.currentIndex() == PAGE_FORM
    assert "CADSS-6 item 2 (Surroundings feel unreal or dream-like) is not answered" in panel.form_error.text()
    assert panel.current_form().values() == {"1": 2}


def test_phq9_item9_flag_appears_at_once(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    phq9 = panel.precheck.phq9
    assert phq9.flag_label.isHidden()
    phq9.buttons[("9", 1)].click()   # the first and only answer so far
    assert not phq9.flag_label.isHidden()
    assert phq9.flag_label.text() == "Thoughts of self-harm reported: tell the clinician now"
    assert panel.message() == "Thoughts of self-harm reported: tell the clinician now"
    assert panel.message_kind == "urgent"
    phq9.buttons[("9", 0)].click()
    assert phq9.flag_label.isHidden() and panel.message() == ""


def test_precheck_stores_checks_baseline_vitals_and_questionnaires(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    pc = panel.precheck
    for cb in (pc.identity, pc.consent, pc.fasting, pc.escort):
        cb.setChecked(True)
    pc.concomitant["opioids"].setChecked(True)
    for i in range(1, 8):
        pc.gad7.select(str(i), 1)
    pc.save_button.click()
    assert svc.kinds() == ["precheck", "questionnaire"]
    pre = svc.last("precheck").data
    assert pre["consent_on_file"] is True and pre["concomitant"]["opioids"] is True
    assert pre["weight_kg"] == 70.0 and pre["baseline_vitals"][str(mdc.NIBP_DIA)]["value"] == 82
    q = svc.last("questionnaire").data
    assert (q["scale"], q["total"], q["band"], q["loinc"]) == ("gad7", 7, "mild", "70274-6")


def test_hold_limit_override_requires_a_reason(make_panel, svc, monitor):
    monitor.set_bp(152, 96)
    panel = make_panel(svc)
    start(panel)
    ready(panel)
    dosing = panel.dosing
    assert not dosing.hold_box.isHidden()
    dosing.start_button.click()  # held: the tap says why, nothing is stored
    assert panel.message() == "Pre-dose BP 152/96 is above the hold limit 140/90: record a reason to proceed"
    assert "infusion_start" not in svc.kinds() and panel.confirm.isHidden()
    assert dosing.hold_label.text() == \
        "Pre-dose BP 152/96 is above the hold limit 140/90: record a reason to proceed"
    dosing.override_button.click()  # no reason typed
    assert "hold_override" not in svc.kinds()
    assert panel.message() == "Give a reason for proceeding (at least 5 characters)."
    dosing.hold_reason.setText("repeat BP 138/88 after 10 min rest; discussed with Dr B")
    dosing.override_button.click()
    e = svc.last("hold_override")
    assert e.data["reason"] == "repeat BP 138/88 after 10 min rest; discussed with Dr B"
    assert e.data["sbp"] == 152 and e.data["limit"] == "140/90"
    assert dosing.start_button.isEnabled() and dosing.hold_box.isHidden()
    dosing.start_button.click()
    assert "infusion_start" not in svc.kinds()  # not before the confirmation
    confirm(panel)
    assert svc.last("infusion_start").data["dose_mg"] == 35.0


def test_infusion_controls(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel)
    ready(panel)
    d = panel.dosing
    assert not d.pause_button.isEnabled()
    d.start_button.click()
    confirm(panel)
    assert d.pause_button.isEnabled() and not d.resume_button.isEnabled() and not d.start_button.isEnabled()
    clock.advance(5)
    d.pause_reason.setEditText("Nausea")
    d.pause_button.click()
    assert svc.last("infusion_pause").data == {"reason": "Nausea"}
    assert d.resume_button.isEnabled() and d.state_label.text().startswith("PAUSED")
    d.resume_button.click()
    d.rate.setText("40")
    d.rate_button.click()  # no reason: refused, the typed rate stays
    assert "infusion_rate" not in svc.kinds() and d.rate.text() == "40"
    d.rate_reason.setEditText("Side effects")
    d.rate_button.click()
    assert svc.last("infusion_rate").data == {"rate_ml_h": 40.0, "reason": "Side effects", "previous_rate_ml_h": 52.5}
    clock.advance(30)  # 4.4 mL before the pause, then 20 mL at 40 mL/h: not the planned 35 mL
    d.stop_button.click()
    assert panel.confirm.isHidden() and "infusion_stop" not in svc.kinds()
    assert panel.message() == ("Stopped early: 24.4 of 35 mg given (24.4 of 35 mL) after 35 min running: give "
                               "the reason for stopping early, then Stop.")
    clock.advance(16)
    d.stop_button.click()
    assert panel.confirm.question.text() == ("Stop the infusion now? Planned dose given: 35.0 of 35 mg given "
                                             "(35.0 of 35 mL) after 51 min running.")
    confirm(panel)
    assert svc.last("infusion_stop").data["completed"] is True
    assert not d.stop_button.isEnabled()


def test_esketamine_device_button_enforces_spacing(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel, "esketamine-56", weight="")
    ready(panel)
    d = panel.dosing
    assert d.device_button.isEnabled() and d.device_button.text() == "Give device 1 of 2 (28 mg)"
    d.lot.setText("LOT7")
    d.device_button.click()
    assert panel.confirm.question.text() == "Give device 1 of 2 now (lot LOT7)?"
    confirm(panel)
    assert svc.last("esketamine_dose").data == {"device_number": 1, "devices_planned": 2, "device_mg": 28.0,
                                                "lot": "LOT7"}
    assert not d.device_button.isEnabled()
    assert d.block_label.text() == "Device 2 of 2 allowed in 5 min 00 s: devices must be 5 min apart"
    clock.advance(3)
    panel.refresh()
    assert not d.device_button.isEnabled()
    assert d.block_label.text() == "Device 2 of 2 allowed in 2 min 00 s: devices must be 5 min apart"
    assert panel.give_device("LOT7") is False  # refused even if called directly
    assert panel.confirm.isHidden()
    clock.advance(2)
    panel.refresh()
    assert d.device_button.isEnabled() and d.block_label.text() == ""
    d.device_button.click()
    confirm(panel)
    assert [e.data["device_number"] for e in svc.only_session().entries if e.kind == "esketamine_dose"] == [1, 2]
    assert not d.device_button.isEnabled() and d.block_label.text() == "All 2 devices given (56 mg)"


def test_esketamine_over_65_uses_the_higher_hold_limit(make_panel, svc, monitor):
    monitor.set_bp(146, 88)
    panel = make_panel(svc)
    form = panel.start_form
    form.birth_known.setChecked(True)
    from PySide6.QtCore import QDate
    form.birth.setDate(QDate(1950, 1, 1))
    start(panel, "esketamine-84", weight="")
    assert panel.dosing.device_button.isEnabled() and panel.dosing.hold_box.isHidden()


def test_overdue_check_stands_out_and_is_logged_once(make_panel, svc, clock, monitor):
    panel = make_panel(svc)
    start(panel)
    ready(panel)
    panel.dosing.start_button.click()
    confirm(panel)
    clock.advance(6)
    panel.tick()
    assert panel.countdown.state == "due" and panel.countdown.text() == "BP at 10 min in 04:00"
    assert panel.overdue_label.isHidden()
    clock.advance(3.5)
    panel.tick()
    assert panel.countdown.state == "soon"
    clock.advance(7)  # 16.5 min: the 10-min BP is past its 5-min grace
    panel.tick()
    assert panel.countdown.is_overdue()
    assert panel.countdown.text() == "OVERDUE 06:30  BP at 10 min"
    assert "#e8202a" in panel.countdown.styleSheet()
    assert panel.overdue_label.text().startswith("OVERDUE: BP at 10 min")
    assert "#e8202a" in panel.overdue_label.styleSheet()
    panel.tick()
    clock.advance(0.1)
    panel.tick()
    overdue = [e.data["key"] for e in svc.only_session().entries if e.kind == "check_overdue"]
    assert overdue == ["bp@10"]
    monitor.set_bp(130, 84)  # the BP arrives: no longer overdue
    panel.tick()
    assert panel.status.get("bp@10").state == "done"
    assert not panel.countdown.is_overdue()


def test_storage_failure_keeps_the_form_and_shows_the_message(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.trigger("moaas")
    panel.current_form().buttons[("score", 3)].click()
    svc.fail_with = StorageUnavailable("The record database is busy: another program holds it locked.")
    assert panel.save_form() is None
    assert panel.stack.currentIndex() == PAGE_FORM
    assert panel.current_form().values() == {"score": 3}
    expected = "The MOAA/S was NOT saved. The record database is busy: another program holds it locked."
    assert panel.form_error.text().startswith(expected) and not panel.form_error.isHidden()
    assert panel.message().startswith(expected) and panel.message_kind == "error"
    # leaving the form and coming back keeps the draft
    panel.close_form()
    panel.trigger("moaas")
    assert panel.current_form().values() == {"score": 3}
    svc.fail_with = None
    panel.save_button.click()
    assert svc.last("observation").data["total"] == 3


def test_storage_failure_keeps_a_typed_note(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.shortcut_actions["F5"].trigger()
    panel.current_form().text.setText("patient asks for a blanket")
    svc.fail_with = StorageUnavailable("The disk holding the record database is full.")
    panel.save_button.click()
    assert panel.current_form().text.text() == "patient asks for a blanket"
    assert "The disk holding the record database is full." in panel.form_error.text()


def test_role_without_permission_sees_the_refusal(make_panel, clock):
    auditor = FakeService(clock, role="auditor")
    panel = make_panel(auditor)
    start(panel)
    msg = "Not allowed: A user with the role auditor cannot add patients; only clinicians can."
    assert panel.message() == msg and panel.start_form.error_label.text() == msg
    assert panel.stack.currentIndex() == PAGE_START and auditor.sessions == {}


def test_role_change_mid_session_refuses_entries_and_keeps_them(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.trigger("note")
    panel.current_form().text.setText("dizzy on standing")
    svc.user.role = "auditor"
    panel.save_button.click()
    assert panel.message() == ("Not allowed: A user with the role auditor cannot write clinical entries; "
                               "only clinicians can.")
    assert panel.current_form().text.text() == "dizzy on standing" and "note" not in svc.kinds()


def test_side_effect_entry(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.shortcut_actions["F4"].trigger()
    form = panel.current_form()
    assert isinstance(form, SideEffectForm)
    form.set_effect("nausea")
    panel.save_button.click()
    assert panel.form_error.text().startswith("choose a grade")
    form.set_grade(2)
    form.set_intervention("drug")
    form.drug.setCurrentIndex(form.drug.findText("ondansetron"))
    panel.save_button.click()
    e = svc.last("side_effect")
    assert (e.data["name"], e.data["grade"], e.data["effect_id"]) == ("Nausea", 2, "nausea")
    assert e.data["intervention"]["drug"] == "ondansetron" and e.data["intervention"]["dose"] == "4 mg"
    assert e.data["intervention"]["route"] == "IV"


def test_shortcuts_and_take_bp(make_panel, svc, monitor):
    panel = make_panel(svc)
    keys = {k: a.shortcut() for k, a in panel.shortcut_actions.items()}
    assert keys == {k: QKeySequence(k) for k in ("F2", "F3", "F4", "F5", "F6")}
    panel.trigger("moaas")
    assert panel.message() == "Start a session first."
    start(panel)
    panel.shortcut_actions["F6"].trigger()
    assert monitor.bp_requests == 1
    panel.quick["bp"].click()
    assert monitor.bp_requests == 2


def test_entry_list_latest_first(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel)
    for text in ("first", "second"):
        panel.trigger("note")
        panel.current_form().text.setText(text)
        panel.save_button.click()
        clock.advance(1)
    assert panel.entry_list.item(0).text().endswith("Note: second")
    assert panel.entry_list.item(1).text().endswith("Note: first")


def test_discharge_and_signoff(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel)
    ready(panel)
    dis = panel.discharge
    assert panel.open_signoff() is None  # no discharge yet
    assert panel.message().startswith("Record the discharge first")
    assert dis.signoff_hint.text().startswith("Record the discharge first")
    panel.dosing.start_button.click()
    confirm(panel)
    dis.discharge_button.click()
    assert panel.message() == "Dosing is still in progress: stop the infusion first."
    clock.advance(40)
    panel.dosing.stop_button.click()
    confirm(panel)
    dis.discharge_button.click()  # nothing confirmed, no reason: refused
    assert "discharge" not in svc.kinds()
    assert "Reason for discharge with criteria not met is required" in panel.message()
    rate(panel, "moaas")
    assert svc.last("observation").data["point"] == "40"  # due with "end" at the same moment: answers both
    assert panel.status.get("moaas@end").state == "done"
    for key in ("alert_oriented", "able_to_walk", "escort_present", "instructions_given"):
        dis.checks[key].setChecked(True)
    panel.refresh()
    assert dis.marks["moaas_5"].text() == "\u2714"
    # vitals: baseline comes from a pre-check; without one the clinician confirms
    dis.checks["vitals_near_baseline"].setChecked(True)
    dis.discharge_button.click()
    assert svc.last("discharge").data["all_met"] is True
    assert dis.signoff_hint.isHidden()
    dlg = panel.open_signoff()
    assert panel.stack.currentIndex() == PAGE_SIGN and dlg.isVisibleTo(panel)  # a page, not a window
    assert not dlg.isWindow()
    assert dlg.name_label.text() == "Ada Byron"
    dlg.password.setText("wrong")
    assert dlg.try_sign() is False
    assert dlg.error_label.text() == "The password is not correct; the session was not signed."
    assert svc.signatures == []
    dlg.meaning.setCurrentIndex(dlg.meaning.findData("reviewed"))
    dlg.password.setText("secret")
    assert dlg.try_sign() is True
    assert svc.signatures == [(svc.only_session().id, "reviewed")]
    assert panel.signed and panel.message().startswith("Session signed and sealed")
    assert not panel.quick["moaas"].isEnabled()
    assert panel.stack.currentIndex() == PAGE_SESSION and panel.countdown.text() == "Session signed: no checks due"
    # the way to the next patient: state cleared, countdown cleared, the start form
    assert not panel.next_patient_button.isHidden()
    panel.next_patient_button.click()
    assert panel.session is None and panel.stack.currentIndex() == PAGE_START
    assert panel.title_label.text() == "No session" and panel.countdown.text() == ""
    assert panel.entry_list.count() == 0 and panel.next_patient_button.isHidden()
    assert panel.quick["moaas"].isEnabled()
    start(panel, code="P-002")
    assert panel.title_label.text() == "P-002 - chair 2" and panel.phase.value == "patient and protocol chosen"
    assert len(svc.sessions) == 2


def test_timer_runs_only_while_visible(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    assert not panel.timer.isActive()
    panel.show()
    assert panel.timer.isActive()
    panel.hide()
    assert not panel.timer.isActive()


def test_started_at_is_recorded_at_clock(svc, make_panel):
    panel = make_panel(svc)
    start(panel)
    assert svc.only_session().started_at.timestamp() == T0


def test_im_injection_is_one_button(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel, "im-ketamine", weight="80")
    ready(panel)
    d = panel.dosing
    assert d.start_button.text() == "Give IM injection" and d.infusion_box.isHidden()
    d.start_button.click()
    assert panel.confirm.confirm_button.text() == "Give the IM injection"
    confirm(panel)
    data = svc.last("infusion_start").data
    assert (data["route"], data["dose_mg"], data["volume_ml"]) == ("IM", 40.0, 0.8)
    assert "rate_ml_h" not in data
    clock.advance(10)
    panel.refresh()
    assert d.state_label.text() == "Injection given 10 min ago" and not d.start_button.isEnabled()
    assert panel.status.get("moaas@discharge").due_at == clock.t + 20 * 60


def test_esketamine_rems_status_on_the_discharge_tab(make_panel, clock, monitor):
    svc = FakeService(clock)
    panel = make_panel(svc, rems_context={"provider": {"name": "Dr A", "phone": "555", "email": "a@x.org"},
                                          "setting": {"name": "Clinic", "address": "1 Main St"}})
    start(panel, "esketamine-56", weight="")
    assert not panel.discharge.rems_label.isHidden()
    assert "Patient name" in panel.discharge.rems_label.text()
    ready(panel)
    panel.dosing.device_button.click()
    confirm(panel)
    form = panel.rems_form()
    assert form.values["bp_before_administration"] == "128/82"
    assert form.values["provider_email"] == "a@x.org"
    assert "Treatment date" not in form.missing and "Patient date of birth" in form.missing


def test_non_esketamine_has_no_rems_status(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    assert panel.discharge.rems_label.isHidden() and panel.rems_form() is None


def test_missed_list_is_capped(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel)
    ready(panel)
    panel.dosing.start_button.click()
    confirm(panel)
    clock.advance(49)  # BP at 10, 20, 30 and 40 min missed
    panel.tick()
    lines = panel.overdue_label.text().split("\n")
    assert lines[-1].startswith("(and ") and lines[-1].endswith("earlier missed checks)")
    assert len([x for x in lines if x.startswith("missed:")]) == 3


def test_correcting_a_rating_keeps_the_original_and_counts_the_correction(make_panel, svc, qtbot):
    panel = make_panel(svc)
    start(panel)
    panel.trigger("moaas")
    panel.current_form().select("score", 3)
    panel.save_button.click()
    original = svc.last("observation")
    assert panel.discharge_results()[2].met is False  # MOAA/S 3
    # the newest entry is the first row; double-clicking it opens the correction form, prefilled
    panel.entry_list.itemDoubleClicked.emit(panel.entry_list.item(0))
    form = panel.current_form()
    assert form.scale_form.values() == {"score": 3}
    form.scale_form.select("score", 5)
    panel.save_button.click()  # no reason
    assert panel.form_error.text() == "a correction needs a reason (at least 5 characters)"
    assert "amendment" not in svc.kinds()
    form.reason.setText("pressed the wrong button")
    panel.save_button.click()
    amendment = svc.last("amendment")
    assert amendment.amends == original.id and amendment.data["reason"] == "pressed the wrong button"
    assert amendment.data["data"]["total"] == 5
    assert original.data["total"] == 3  # never changed
    assert panel.discharge_results()[2].met is True
    assert panel.entry_list.item(0).text().endswith("Amendment: pressed the wrong button")


def test_correction_after_signing_asks_for_a_new_signature(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.trigger("note")
    panel.current_form().text.setText("first note")
    panel.save_button.click()
    panel.discharge.departure.setCurrentIndex(panel.discharge.departure.findData("transferred"))
    panel.discharge.departure_details.setText("to the ward")
    panel.discharge.departure_button.click()
    assert svc.last("discharge").data["override_reason"] == "Transferred: to the ward"
    dlg = panel.open_signoff()
    dlg.password.setText("secret")
    assert dlg.try_sign()
    assert panel.state_label.text() == "Signed"
    panel.trigger("note")
    assert panel.message() == "The session is signed: double-click an entry to correct it."
    signature_row = panel.entry_list.item(0)
    panel.entry_list.itemDoubleClicked.emit(signature_row)
    assert panel.message() == "A signature entry cannot be corrected."
    panel.entry_list.itemDoubleClicked.emit(panel.entry_list.item(2))
    form = panel.current_form()
    assert form.text.text() == "first note"
    form.text.setText("first note, corrected")
    form.reason.setText("typing error")
    panel.save_button.click()
    assert svc.last("amendment").data["data"] == {"text": "first note, corrected"}
    assert panel.message() == "Correction saved. The session was signed: sign it again."
    assert panel.state_label.text() == "Corrected after signing: sign again"
    assert not panel.signed and panel.sealed and not panel.quick["note"].isEnabled()
    assert panel.next_patient_button.isHidden()
    assert panel.next_patient() is False and panel.message() == \
        "The session was corrected after signing: sign it again first."


def test_reopening_a_session_restores_its_state(make_panel, svc, clock):
    first = make_panel(svc)
    start(first)
    ready(first)
    first.dosing.start_button.click()
    confirm(first)
    clock.advance(12)
    session = svc.only_session()
    patient = svc.patients[session.patient_id]
    again = make_panel(svc)
    again.open_session(session, patient)
    assert again.plan.rate_ml_h == 52.5 and again.dosing.plan_label.text().startswith("35.0 mg")
    assert again.state_label.text() == "Infusing  12 min"
    assert not again.dosing.start_button.isEnabled() and again.dosing.pause_button.isEnabled()
    assert again.entry_list.count() == 4 and again.phase.value == "dosing"
    assert again.status.get("moaas@baseline").state == "done"


def test_other_ratings_are_one_click_away(make_panel, svc):
    panel = make_panel(svc)
    assert sorted(panel.more_ratings) == ["quick_dissociation", "rass"]
    assert panel.more_ratings["quick_dissociation"].text() == "Detachment 0-10 (additional)"
    start(panel)
    panel.more_ratings["quick_dissociation"].click()
    form = panel.current_form()
    assert form.scale.id == "quick_dissociation"
    form.select("score", 6)
    panel.save_button.click()
    data = svc.last("observation").data
    assert (data["scale"], data["total"], data["validated"], data["additional_only"]) == \
        ("quick_dissociation", 6, False, True)
    panel.more_ratings["rass"].click()
    panel.current_form().select("score", -2)
    panel.save_button.click()
    assert svc.last("observation").data["items"] == {"score": -2}


def test_esketamine_header_says_dosing_until_the_last_device(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel, "esketamine-56", weight="")
    ready(panel)
    panel.dosing.device_button.click()
    confirm(panel)
    assert panel.state_label.text() == "Dosing: 1 of 2 devices given"
    clock.advance(5)
    panel.refresh()
    panel.dosing.device_button.click()
    confirm(panel)
    clock.advance(1)
    panel.refresh()
    assert panel.state_label.text() == "Monitoring  6 min since dosing"


def test_discharge_checklist_explains_what_is_missing(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.refresh()
    dis = panel.discharge
    assert dis.details["vitals_near_baseline"].text() == "no baseline vitals recorded (save the pre-check)"
    assert dis.checks["instructions_given"].text() == "Written instructions given"
    assert dis.details["instructions_given"].text() == "no driving until the next day"


def test_a_second_correction_starts_from_the_first_one(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    panel.trigger("note")
    panel.current_form().text.setText("BP 150/95")
    panel.save_button.click()
    original = svc.last("note")
    for text, reason in (("BP 150/90", "typing error"), ("BP 150/90, repeated at 10 min", "added the repeat")):
        row = next(i for i in range(panel.entry_list.count())
                   if panel.entry_list.item(i).text().endswith("Note: BP 150/95"))
        panel.entry_list.itemDoubleClicked.emit(panel.entry_list.item(row))
        form = panel.current_form()
        assert form.text.text() == ("BP 150/95" if reason == "typing error" else "BP 150/90")
        form.text.setText(text)
        form.reason.setText(reason)
        panel.save_button.click()
        assert svc.last("amendment").amends == original.id
        assert svc.last("amendment").data["data"] == {"text": text}


# -- the workflow, as the clinician meets it ---------------------------------------------------------------------
def test_start_without_a_saved_precheck_says_so_and_stores_nothing(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    assert panel.next_label.text().startswith("Next: the pre-check")
    panel.dosing.start_button.click()
    expected = "Save the pre-check first: identity and consent must be confirmed before dosing."
    assert panel.message() == expected and panel.dosing.block_label.text() == expected
    assert panel.confirm.isHidden() and svc.kinds() == []


def test_missing_consent_is_shown_and_blocks_until_a_new_precheck_confirms_it(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    save_precheck(panel, unticked=("consent",))
    assert panel.message() == ("Pre-check saved. Dosing cannot start:\n"
                               "No consent on file in the saved pre-check: dosing cannot start.")
    assert panel.message_kind == "error"
    rate(panel, "moaas")
    rate(panel, "cadss6")
    panel.dosing.start_button.click()
    assert panel.message() == "No consent on file in the saved pre-check: dosing cannot start."
    assert panel.dosing.hold_box.isHidden()  # nothing to override: it is not a hold a reason can lift
    assert "infusion_start" not in svc.kinds()
    save_precheck(panel)  # saved again, consent ticked
    assert [e.data["consent_on_file"] for e in svc.only_session().entries if e.kind == "precheck"] == [False, True]
    panel.dosing.start_button.click()
    confirm(panel)
    assert svc.last("infusion_start").data["dose_mg"] == 35.0


def test_no_escort_needs_a_reason_in_the_dosing_tab(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    save_precheck(panel, unticked=("escort",))
    assert panel.message() == "Pre-check saved with: No escort or transport home arranged: record a reason to proceed."
    rate(panel, "moaas")
    rate(panel, "cadss6")
    d = panel.dosing
    assert not d.hold_box.isHidden() and d.hold_key == "escort"
    d.start_button.click()
    assert panel.confirm.isHidden() and "No escort" in panel.message()
    d.hold_reason.setText("partner collects at 14:00, confirmed by phone")
    d.override_button.click()
    assert svc.last("hold_override").data["limit"] == "escort"
    assert d.hold_box.isHidden()
    d.start_button.click()
    confirm(panel)
    assert "infusion_start" in svc.kinds()


def test_baseline_ratings_are_asked_for_before_dosing(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    save_precheck(panel)
    assert panel.next_label.text() == "Next: baseline ratings before dosing (MOAA/S F2, CADSS-6 F3)."
    panel.dosing.start_button.click()
    assert panel.message() == "Baseline ratings due before dosing: CADSS-6 baseline, MOAA/S baseline."
    panel.shortcut_actions["F2"].trigger()
    assert panel.form_title.text() == "MOAA/S - baseline"
    panel.current_form().select("score", 5)
    panel.save_button.click()
    panel.dosing.start_button.click()
    assert panel.message() == "Baseline ratings due before dosing: CADSS-6 baseline."
    rate(panel, "cadss6")
    assert panel.next_label.text() == "Next: start dosing on the Dosing tab."


def test_ratings_after_the_start_are_never_the_baseline(make_panel, svc, clock):
    panel = make_panel(svc)
    start(panel)
    ready(panel)
    panel.dosing.start_button.click()
    confirm(panel)
    clock.advance(2)
    panel.shortcut_actions["F2"].trigger()
    assert panel.form_title.text() == "MOAA/S - extra rating"
    panel.current_form().select("score", 4)
    panel.save_button.click()
    assert "point" not in svc.last("observation").data
    clock.advance(37)
    rate(panel, "moaas", score=3)
    assert svc.last("observation").data["point"] == "40"
    assert panel.status.get("moaas@40").state == "done"


def test_stop_at_minute_zero_asks_for_a_reason_and_records_stopped_early(make_panel, svc):
    panel = make_panel(svc)
    start(panel)
    ready(panel)
    d = panel.dosing
    d.start_button.click()
    assert panel.confirm.question.text().startswith("Start the infusion now? 35.0 mg")
    panel.confirm.cancel_button.click()  # changed their mind: nothing stored
    assert "infusion_start" not in svc.kinds() and panel.confirm.isHidden()
    d.start_button.click()
    confirm(panel)
    d.stop_button.click()
    assert panel.message().startswith("Stopped early: 0.0 of 35 mg given (0.0 of 35 mL) after 0 min running")
    assert panel.confirm.isHidden() and "infusion_stop" not in svc.kinds()
    d.stop_reason.setText("patient request")
    d.stop_button.click()
    assert panel.confirm.question.text() == ("Stop the infusion now? Stopped early: 0.0 of 35 mg given (0.0 of "
                                             "35 mL) after 0 min running.")
    confirm(panel)
    assert svc.last("infusion_stop").data == {"completed": False, "reason": "patient request",
                                              "dose_given_mg": 0.0, "volume_given_ml": 0.0}
    assert panel.state_label.text() == "Monitoring  0 min since dosing"


def test_escape_cancels_the_confirm_strip(make_panel, svc, qtbot):
    from PySide6.QtCore import Qt

    panel = make_panel(svc)
    start(panel)
    ready(panel)
    panel.dosing.start_button.click()
    assert panel.confirm.pending
    qtbot.keyClick(panel.confirm, Qt.Key.Key_Escape)
    assert not panel.confirm.pending and "infusion_start" not in svc.kinds()
    assert panel.confirm.confirm_button.minimumHeight() >= 44 and panel.confirm.cancel_button.minimumHeight() >= 44


def test_a_resumed_session_with_consent_missing_lets_the_precheck_be_saved_again(make_panel, svc):
    first = make_panel(svc)
    start(first)
    save_precheck(first, unticked=("consent", "fasting"))
    session = svc.only_session()
    again = make_panel(svc)
    again.open_session(session, svc.patients[session.patient_id])
    assert "precheck" not in again.precheck.saved
    rate(again, "moaas")
    rate(again, "cadss6")
    assert again.next_label.text() == \
        "Before dosing: No consent on file in the saved pre-check: dosing cannot start."
    save_precheck(again, unticked=("fasting",))
    assert again.next_label.text() == "Before dosing: Not fasting as instructed: record a reason to proceed."
    assert "precheck" in again.precheck.saved and not again.dosing.hold_box.isHidden()
