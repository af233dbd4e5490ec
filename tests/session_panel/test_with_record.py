"""The panel against the real record service on SQLite: what the clinician enters is what the record holds."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from console.record import open_database, passwords
from devices import mdc
from devices.model import State
from tests.session_panel.conftest import confirm, ready, start

PASSWORD = "correct horse 1"


@pytest.fixture
def db(tmp_path) -> Iterator:
    passwords.use_fast_hashing(True)
    os.environ["CHAIRSIDE_FAST_HASH"] = "1"
    database = open_database(f"sqlite:///{tmp_path / 'record.sqlite3'}")
    admin = database.service(database.system_user("test-setup"))
    admin.add_user("carla", "Carla Clinician", "clinician", PASSWORD)
    admin.add_user("otto", "Otto Auditor", "auditor", PASSWORD)
    yield database
    database.close()
    passwords.use_fast_hashing(False)


def _panel(qtbot, svc):
    import time

    from console.session_panel import SessionPanel

    now = time.time()
    vitals = {mdc.NIBP_SYS: (126.0, State.NONE, now), mdc.NIBP_DIA: (80.0, State.NONE, now),
              mdc.HEART_RATE: (70.0, State.NONE, now)}
    panel = SessionPanel(svc, latest_vitals=lambda: vitals, take_bp=lambda: None, chair="1")
    qtbot.addWidget(panel)
    return panel


def test_entries_and_signature_reach_the_record(qtbot, db):
    svc = db.service(db.authenticate("carla", PASSWORD))
    panel = _panel(qtbot, svc)
    start(panel, weight="80")
    session_id = panel.session_id
    info = svc.session(session_id)
    assert (info.protocol_id, info.protocol_version) == ("iv-ketamine-0.5", "1")
    assert info.details["dose_plan"]["dose_mg"] == 40.0
    ready(panel)
    panel.dosing.start_button.click()
    confirm(panel)
    stored = svc.entries(session_id)
    assert [e.kind for e in stored] == ["precheck", "observation", "observation", "infusion_start"]
    assert stored[0].data["identity_confirmed"] is True and stored[0].data["consent_on_file"] is True
    assert stored[1].data["items"] == {"score": 5} and stored[1].data["scale"] == "moaas"
    assert stored[1].data["point"] == stored[2].data["point"] == "baseline"
    assert stored[2].data["subscales"] == {"depersonalization": 0, "derealization": 0, "amnesia": 0}
    assert stored[3].data["rate_ml_h"] == 60.0
    assert panel.entry_list.count() == 4
    assert panel.open_signoff() is None  # no discharge yet
    panel.dosing.stop_reason.setText("patient request")
    panel.dosing.stop_button.click()
    confirm(panel)
    stop = svc.entries(session_id)[-1]
    assert stop.kind == "infusion_stop" and stop.data["completed"] is False
    assert stop.data["reason"] == "patient request" and stop.data["dose_given_mg"] < 1.0
    panel.discharge.departure_details.setText("declined to stay for monitoring")
    panel.discharge.departure_button.click()
    assert svc.entries(session_id)[-1].data["override_reason"] == \
        "Left against medical advice: declined to stay for monitoring"
    dlg = panel.open_signoff()
    dlg.password.setText("nope")
    assert not dlg.try_sign()
    assert dlg.error_label.text() == "The password is not correct; the session was not signed."
    dlg.password.setText(PASSWORD)
    assert dlg.try_sign()
    assert svc.entries(session_id)[-1].kind == "signature"
    assert svc.session(session_id).status == "signed"
    assert db.verify(session_id).ok
    # a correction after signing: the original stays, the session needs a new signature
    panel.entry_list.itemDoubleClicked.emit(panel.entry_list.item(panel.entry_list.count() - 2))
    form = panel.current_form()
    form.scale_form.select("score", 4)
    form.reason.setText("re-assessed: slow to respond")
    panel.save_button.click()
    stored = svc.entries(session_id)
    assert stored[-1].kind == "amendment" and stored[-1].amends == stored[1].id
    assert stored[1].data["total"] == 5 and stored[-1].data["data"]["total"] == 4
    assert svc.session(session_id).status == "amended"
    assert db.verify(session_id).ok


def test_auditor_is_refused_with_the_services_words(qtbot, db):
    svc = db.service(db.authenticate("otto", PASSWORD))
    panel = _panel(qtbot, svc)
    start(panel)
    assert panel.message() == "Not allowed: A user with the role auditor cannot add patients; only clinicians can."
    assert svc.sessions() == []
