"""Login and sign-off dialogs, the countdown, scale form and entry summaries."""

from __future__ import annotations

import datetime as dt

import pytest

from console.clinical import ScaleLibrary
from console.login_dialog import LoginDialog
from console.record.errors import AuthError, StorageUnavailable
from console.session_panel.failures import classify, failure_message
from console.session_panel.signoff import SignoffDialog
from console.session_panel.summary import entry_summary
from widgets.countdown import CountdownLabel, format_clock
from widgets.scale_form import ScaleForm


def test_login_success_keeps_the_user(qtbot):
    calls = []

    def auth(u, p):
        calls.append((u, p))
        return {"username": u}

    dlg = LoginDialog(auth)
    qtbot.addWidget(dlg)
    dlg.username.setText(" ada ")
    dlg.password.setText("pw")
    assert dlg.try_login() is True
    assert calls == [("ada", "pw")] and dlg.user == {"username": "ada"} and dlg.result() == LoginDialog.DialogCode.Accepted


@pytest.mark.parametrize(("auth", "message"), [
    (lambda u, p: None, "Wrong user name or password."),
    (lambda u, p: (_ for _ in ()).throw(AuthError("Wrong user name or password, or the account is disabled.")),
     "Wrong user name or password, or the account is disabled."),
    (lambda u, p: (_ for _ in ()).throw(StorageUnavailable("The record database server cannot be reached.")),
     "The record database server cannot be reached."),
])
def test_login_failure_is_shown_plainly(qtbot, auth, message):
    dlg = LoginDialog(auth)
    qtbot.addWidget(dlg)
    dlg.username.setText("ada")
    dlg.password.setText("bad")
    dlg.buttons.accepted.emit()
    assert dlg.error_label.text() == message
    assert dlg.password.text() == "" and dlg.username.text() == "ada" and dlg.user is None
    assert dlg.result() != LoginDialog.DialogCode.Accepted


def test_login_needs_both_fields(qtbot):
    dlg = LoginDialog(lambda u, p: pytest.fail("must not be called"))
    qtbot.addWidget(dlg)
    assert dlg.try_login() is False
    assert dlg.error_label.text() == "Enter your user name and password."


def test_signoff_dialog_shows_name_time_meaning_and_needs_password(qtbot):
    signed = []
    dlg = SignoffDialog(lambda pw, meaning: signed.append((pw, meaning)) or "entry", "Ada Byron",
                        clock=lambda: 1_800_000_000.0)
    qtbot.addWidget(dlg)
    assert dlg.name_label.text() == "Ada Byron"
    local_day = dt.datetime.fromtimestamp(1_800_000_000.0).strftime("%Y-%m-%d")  # any time zone
    assert dlg.time_label.text().startswith(local_day)
    assert [dlg.meaning.itemData(i) for i in range(dlg.meaning.count())] == ["authored", "reviewed", "approved"]
    assert dlg.try_sign() is False and dlg.error_label.text() == "Re-enter your password to sign."
    dlg.password.setText("pw")
    assert dlg.try_sign() is True and signed == [("pw", "authored")] and dlg.result_entry == "entry"


def test_signoff_storage_failure_is_a_message(qtbot):
    def sign(pw, meaning):
        raise StorageUnavailable("The record database is busy.")

    dlg = SignoffDialog(sign, "Ada Byron")
    qtbot.addWidget(dlg)
    dlg.password.setText("pw")
    assert dlg.try_sign() is False
    assert dlg.error_label.text().startswith("The signature was NOT saved. The record database is busy.")


def test_countdown_states(qtbot):
    c = CountdownLabel()
    qtbot.addWidget(c)
    c.show_due("BP at 20 min", 192)
    assert (c.state, c.text()) == ("due", "BP at 20 min in 03:12")
    c.show_due("BP at 20 min", 30)
    assert c.state == "soon"
    c.show_due("BP at 20 min", -10)
    assert (c.state, c.text()) == ("soon", "BP at 20 min due now")
    c.show_overdue("BP at 20 min", 130)
    assert c.is_overdue() and c.text() == "OVERDUE 02:10  BP at 20 min" and c.property("overdue") is True
    c.show_due("MOAA/S at end of dosing", None)
    assert (c.state, c.text()) == ("waiting", "Next: MOAA/S at end of dosing")
    assert format_clock(3725) == "1:02:05"


def test_scale_form_rass_negative_and_digit_keys(qtbot):
    lib = ScaleLibrary.builtin()
    form = ScaleForm(lib.get("rass"))
    qtbot.addWidget(form)
    form.buttons[("score", -3)].click()
    assert form.values() == {"score": -3} and form.result().total == -3
    moaas = ScaleForm(lib.get("moaas"), baseline_total=5)
    qtbot.addWidget(moaas)
    qtbot.keyClick(moaas, "4")
    assert moaas.values() == {"score": 4}
    assert moaas.flag_label.text() == "Sedation: MOAA/S below the pre-dose score"


def test_scale_form_quick_rating_says_not_validated(qtbot):
    form = ScaleForm(ScaleLibrary.builtin().get("quick_dissociation"))
    qtbot.addWidget(form)
    warn = form.findChild(type(form.summary_label), "notValidated")
    assert warn is not None and warn.text().startswith("Not validated")
    assert len(form.buttons) == 11


def test_scale_form_band_and_subscales_in_summary(qtbot):
    form = ScaleForm(ScaleLibrary.builtin().get("phq9"))
    qtbot.addWidget(form)
    form.set_values({str(i): 2 for i in range(1, 9)} | {"9": 0})
    assert form.summary_label.text() == "Total 16 (of 27): moderately severe"
    form.clear()
    assert form.values() == {} and form.summary_label.text() == "Total 0 (of 27): 0 of 9 answered"


def test_failure_classes():
    assert classify(StorageUnavailable("x")) == "storage"
    assert classify(ValueError("x")) == "invalid"

    class PermissionDenied(Exception):  # a look-alike from another service implementation
        pass

    assert failure_message(PermissionDenied("no")) == "Not allowed: no"
    assert failure_message(RuntimeError("boom"), "the note").startswith("The note was NOT saved (unexpected RuntimeError")


@pytest.mark.parametrize(("entry", "text"), [
    ({"kind": "observation", "data": {"title": "CADSS-6", "total": 9, "flags": [{"message": "Dissociation"}]}},
     "CADSS-6 9  [Dissociation]"),
    ({"kind": "questionnaire", "data": {"title": "PHQ-9", "total": 12, "band": "moderate"}}, "PHQ-9 12 (moderate)"),
    ({"kind": "side_effect", "data": {"name": "Nausea", "grade": 2, "outcome": "resolved",
                                      "intervention": {"drug": "ondansetron", "dose": "4 mg", "route": "IV"}}},
     "Side effect: Nausea, grade 2; ondansetron 4 mg IV (resolved)"),
    ({"kind": "infusion_start", "data": {"dose_mg": 35.0, "rate_ml_h": 52.5}}, "Dosing started: 35.0 mg at 52.5 mL/h"),
    ({"kind": "esketamine_dose", "data": {"device_number": 2, "devices_planned": 3, "device_mg": 28.0}},
     "Nasal device 2 of 3 (28 mg)"),
    ({"kind": "precheck", "data": {"consent_on_file": False, "fasting": True}}, "Pre-check (no consent)"),
    ({"kind": "weird", "data": None}, "weird"),
])
def test_entry_summaries(entry, text):
    entry = dict(entry, at=None)
    assert entry_summary(entry) == "--:--  " + text
