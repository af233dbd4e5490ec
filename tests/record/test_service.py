"""The session service as a clinician uses it: entries, amendments, late entries, sign-off, audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.record import (
    ENTRY_KINDS,
    AuthError,
    InvalidEntry,
    NotFound,
    PermissionDenied,
    SessionStateError,
    SessionStatus,
)
from tests.payloads import moaas, valid
from tests.record.conftest import PASSWORD, make_user


def test_entry_is_stored_with_attribution_and_canonical_data(svc, session, clinician):
    at = datetime.now(UTC) - timedelta(minutes=1)
    e = svc.add_entry(session.id, "observation", moaas(5, point="baseline"), at=at)
    [stored] = svc.entries(session.id)
    assert stored == e
    assert (stored.seq, stored.kind, stored.user_id, stored.username, stored.role) == (
        1, "observation", clinician.id, "carla", "clinician")
    assert stored.data == moaas(5, point="baseline")
    assert stored.at == at.replace(microsecond=at.microsecond)  # exact to the microsecond, UTC
    assert stored.at.tzinfo is not None and stored.entered_at.tzinfo is not None
    assert stored.entered_at >= stored.at
    assert stored.late is False and stored.amends is None
    assert stored.prev_hash == session.head_hash  # entry 1 links to the session header
    assert len(stored.hash) == 64


def test_entries_chain_in_order(svc, session):
    ids = [svc.add_entry(session.id, "note", {"text": f"n{i}"}).id for i in range(5)]
    entries = svc.entries(session.id)
    assert [e.id for e in entries] == ids
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    for a, b in zip(entries, entries[1:]):
        assert b.prev_hash == a.hash
    assert svc.session(session.id).entry_count == 5


def test_late_entry_is_marked_late(svc, session):
    old = datetime.now(UTC) - timedelta(minutes=6)
    e = svc.add_entry(session.id, "note", {"text": "BP was 150/95, written late"}, at=old)
    assert e.late is True
    recent = svc.add_entry(session.id, "note", {"text": "now"}, at=datetime.now(UTC) - timedelta(minutes=4))
    assert recent.late is False


def test_bad_entries_are_refused_with_a_reason_and_nothing_is_stored(svc, session):
    with pytest.raises(InvalidEntry, match="no time zone"):
        svc.add_entry(session.id, "note", {"text": "x"}, at=datetime(2026, 1, 1, 12, 0))
    with pytest.raises(InvalidEntry, match="unknown entry kind 'coffee_break'"):
        svc.add_entry(session.id, "coffee_break", {})
    with pytest.raises(InvalidEntry, match="reserved entry kind 'signature'.*use sign"):
        svc.add_entry(session.id, "signature", {})
    with pytest.raises(InvalidEntry, match="finite"):
        svc.add_entry(session.id, "note", {"value": float("nan")})
    with pytest.raises(InvalidEntry, match="scale is missing"):
        svc.add_entry(session.id, "observation", {"score": 3})
    with pytest.raises(InvalidEntry, match="future"):
        svc.add_entry(session.id, "note", {"text": "x"}, at=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(InvalidEntry, match="dict"):
        svc.add_entry(session.id, "note", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        svc.add_entry(99999, "note", {"text": "x"})
    assert svc.entries(session.id) == []


def test_every_clinical_kind_can_be_written(svc, session):
    kinds = [k for k in ENTRY_KINDS
             if k not in {"amendment", "signature", "session_interrupted", "session_resumed", "checkpoint"}]
    for k in kinds:
        svc.add_entry(session.id, k, valid(k))
    assert [e.kind for e in svc.entries(session.id)] == kinds


def test_amendment_references_original_which_stays_untouched(svc, session):
    original = svc.add_entry(session.id, "observation", moaas(3))
    fix = svc.amend(session.id, original.id, "wrong score typed", moaas(4))
    entries = svc.entries(session.id)
    assert entries[0] == original  # byte for byte the same row, same hash
    assert fix.kind == "amendment" and fix.amends == original.id
    assert fix.data["reason"] == "wrong score typed"
    assert fix.data["data"] == moaas(4)
    assert fix.data["original_kind"] == "observation"
    with pytest.raises(InvalidEntry, match="reason"):
        svc.amend(session.id, original.id, "  ", {"score": 5})
    with pytest.raises(NotFound):
        svc.amend(session.id, "0" * 32, "x", {})


def test_sign_seals_session_then_only_amendments_and_a_new_signature(db, svc, session, clinician):
    note = svc.add_entry(session.id, "note", {"text": "all well"})
    sig = svc.sign(session.id, PASSWORD, meaning="authored")
    assert sig.kind == "signature"
    assert sig.data["signer_name"] == "Carla Clinician" and sig.data["meaning"] == "authored"
    # sign-off first puts the vitals under the chain (a checkpoint entry), then seals everything
    assert sig.data["entries_signed"] == 2 and len(sig.data["seal"]) == 64
    assert [e.kind for e in svc.entries(session.id)] == ["note", "checkpoint", "signature"]
    info = svc.session(session.id)
    assert info.status == SessionStatus.SIGNED and info.ended_at is not None
    with pytest.raises(SessionStateError, match="sealed"):
        svc.add_entry(session.id, "note", {"text": "after sign-off"})
    svc.amend(session.id, note.id, "clarify", {"text": "all well, escort present"})
    assert svc.session(session.id).status == SessionStatus.AMENDED
    svc.sign(session.id, PASSWORD, meaning="authored")
    assert svc.session(session.id).status == SessionStatus.SIGNED
    assert db.verify(session.id).ok


def test_sign_with_wrong_password_is_refused_and_audited(db, svc, session):
    with pytest.raises(AuthError, match="not signed"):
        svc.sign(session.id, "wrong password")
    assert svc.session(session.id).status == SessionStatus.IN_PROGRESS
    assert [e.kind for e in svc.entries(session.id)] == []
    failed = db.audit_trail(action="sign_failed")
    assert failed and failed[-1].username == "carla" and failed[-1].target == f"session {session.id}"
    with pytest.raises(InvalidEntry, match="meaning"):
        svc.sign(session.id, PASSWORD, meaning="because")


def test_login_success_and_failure_are_audited(db, clinician):
    with pytest.raises(AuthError):
        db.authenticate("carla", "nope")
    with pytest.raises(AuthError):
        db.authenticate("nobody", "nope")
    actions = [(a.action, a.username, a.detail) for a in db.audit_trail()
               if a.action in ("login", "login_failed")]
    assert ("login", "carla", "") in actions
    assert ("login_failed", "carla", "wrong password") in actions
    assert ("login_failed", "nobody", "unknown user") in actions


def test_disabled_user_cannot_log_in_or_write_any_more(db, svc, session):
    admin = make_user(db, "ada", "admin")
    db.service(admin).disable_user("carla")
    with pytest.raises(AuthError):
        db.authenticate("carla", PASSWORD)
    with pytest.raises(PermissionDenied, match="disabled"):
        svc.add_entry(session.id, "note", {"text": "x"})
    change = db.audit_trail(action="user_disable")[-1]
    assert change.username == "ada" and change.before["active"] is True and change.after["active"] is False


def test_user_admin_and_password_change(db):
    admin = make_user(db, "ada", "admin")
    a = db.service(admin)
    a.add_user("tom", "Tom Tech", "technician", "a long password")
    assert db.authenticate("tom", "a long password").role == "technician"
    a.set_password("tom", "another long one")
    with pytest.raises(AuthError):
        db.authenticate("tom", "a long password")
    assert db.authenticate("tom", "another long one").username == "tom"
    with pytest.raises(InvalidEntry, match="at least"):
        a.add_user("x", "X", "clinician", "short")
    with pytest.raises(InvalidEntry, match="role"):
        a.add_user("x", "X", "surgeon", "long enough pw")
    with pytest.raises(InvalidEntry, match="already exists"):
        a.add_user("tom", "Tom", "technician", "long enough pw")
    assert [(u.username, u.role, u.active) for u in a.users()] == [
        ("ada", "admin", True), ("tom", "technician", True)]
    acts = [x.action for x in db.audit_trail()]
    assert acts.count("user_add") == 2 and "user_passwd" in acts


def test_device_profile_changes_are_audited_with_before_and_after(db):
    tech = db.service(make_user(db, "tom", "technician"))
    tech.save_device_profile("Chair 1 MP50", "intellivue", "/dev/ttyUSB0", {"baud": 115200}, chair="chair 1")
    tech.save_device_profile("Chair 1 MP50", "intellivue", "/dev/ttyUSB1", {"baud": 115200}, chair="chair 1")
    [p] = tech.device_profiles()
    assert (p.name, p.port, p.settings, p.updated_by) == (
        "Chair 1 MP50", "/dev/ttyUSB1", {"baud": 115200}, "tom")
    tech.delete_device_profile("Chair 1 MP50")
    assert tech.device_profiles() == []
    saves = db.audit_trail(action="device_profile_save")
    assert saves[0].before is None and saves[0].after["port"] == "/dev/ttyUSB0"
    assert saves[1].before["port"] == "/dev/ttyUSB0" and saves[1].after["port"] == "/dev/ttyUSB1"
    deleted = db.audit_trail(action="device_profile_delete")[0]
    assert deleted.before["name"] == "Chair 1 MP50" and deleted.after is None


def test_demo_login_flags_patients_and_sessions_demo(db):
    demo = db.demo_login()
    assert demo.demo and demo.role == "clinician"
    assert db.demo_login().id == demo.id  # the same account every time
    svc = db.service(demo)
    p = svc.create_patient("DEMO-1")
    s = svc.start_session(p.id, "iv", "1", "chair 9")
    assert p.demo and s.demo and svc.session(s.id).demo
    assert svc.sessions(demo=True)[0].id == s.id


def test_patient_rules(svc):
    p = svc.create_patient("PT-9", birth_date=datetime(1980, 5, 1).date(), sex="female", weight_kg=61)
    assert svc.find_patient("PT-9") == p and svc.patient(p.id) == p
    with pytest.raises(InvalidEntry, match="already exists"):
        svc.create_patient("PT-9")
    with pytest.raises(InvalidEntry, match="plausible"):
        svc.create_patient("PT-10", weight_kg=7000)
    with pytest.raises(InvalidEntry, match="code"):
        svc.create_patient("   ")


def test_interrupted_session_found_then_resumed(db_url, db, svc, session):
    from console.record import open_database

    svc.add_entry(session.id, "note", {"text": "before the crash"})
    assert svc.interrupted_sessions() == []
    db.close()  # the console goes away without signing
    db2 = open_database(db_url)
    try:
        user = db2.authenticate("carla", PASSWORD)
        svc2 = db2.service(user)
        [found] = svc2.interrupted_sessions()
        assert found.id == session.id and found.display_status == "interrupted"
        first = svc2.entries(session.id)[0]
        with pytest.raises(SessionStateError, match="resume"):
            svc2.add_entry(session.id, "note", {"text": "x"})
        with pytest.raises(SessionStateError, match="resume"):
            svc2.amend(session.id, first.id, "typo", {"text": "y"})
        with pytest.raises(SessionStateError, match="resume"):
            svc2.sign(session.id, PASSWORD)
        resumed = svc2.resume_session(session.id)
        assert not resumed.interrupted and resumed.status == SessionStatus.IN_PROGRESS
        svc2.add_entry(session.id, "note", {"text": "after resume"})
        kinds = [e.kind for e in svc2.entries(session.id)]
        assert kinds == ["note", "session_interrupted", "session_resumed", "note"]
        assert svc2.interrupted_sessions() == []
        assert db2.verify(session.id).ok
    finally:
        db2.close()


def test_interrupted_session_can_be_closed_with_reason_and_signed(db_url, db, svc, session):
    from console.record import open_database

    db.close()
    db2 = open_database(db_url)
    try:
        svc2 = db2.service(db2.authenticate("carla", PASSWORD))
        with pytest.raises(InvalidEntry, match="reason"):
            svc2.close_interrupted(session.id, "")
        closed = svc2.close_interrupted(session.id, "patient discharged on paper during outage")
        assert closed.status == SessionStatus.CLOSED and not closed.interrupted
        e, cp = svc2.entries(session.id)
        assert e.kind == "session_interrupted" and e.data["reason"].startswith("patient discharged")
        assert cp.kind == "checkpoint" and cp.username == "system"  # the vitals so far, under the chain
        with pytest.raises(SessionStateError):
            svc2.add_entry(session.id, "note", {"text": "x"})
        svc2.sign(session.id, PASSWORD)
        assert svc2.session(session.id).status == SessionStatus.SIGNED
    finally:
        db2.close()


def test_a_live_session_is_not_interrupted_and_cannot_be_taken_over(db_url, db, svc, session):
    from console.record import open_database

    db2 = open_database(db_url)  # a second console on the same database, this one still running
    try:
        svc2 = db2.service(db2.authenticate("carla", PASSWORD))
        assert svc2.interrupted_sessions() == []
        with pytest.raises(SessionStateError, match="another console"):
            svc2.resume_session(session.id)
        svc2.add_entry(session.id, "note", {"text": "second console may write too"})
    finally:
        db2.close()


def test_sessions_listing_filters(svc, session):
    other = svc.start_session(session.patient_id, "iv", "1", "chair 2")
    svc.sign(other.id, PASSWORD)
    assert [s.id for s in svc.sessions()] == [other.id, session.id]
    assert [s.id for s in svc.sessions(status="signed")] == [other.id]
    assert [s.id for s in svc.sessions(status="in_progress")] == [session.id]
    assert svc.sessions(patient_id=session.patient_id, limit=1)[0].id == other.id


def test_a_dead_console_is_told_apart_from_a_reused_process_id(db, svc, session, monkeypatch):
    """The lock names host, pid and the process's start time: a live process with the same pid but another
    start time is not the console that held the session."""
    import os

    host, pid, nonce, started = db.owner.split("|")
    assert int(pid) == os.getpid() and started  # Linux: /proc gives the start time
    other = f"{host}|1|{nonce}|{started}"  # pid 1 is alive, but it started long before this test process
    assert db.lock_is_live(db.owner, None)
    assert not db.lock_is_live(other, None)
    assert not db.lock_is_live(f"{host}|999999999|x|1", None)  # no such process
    assert not db.lock_is_live(None, None)
