"""Every write path × every role: only the roles in the brief may write; the others get PermissionDenied
with a plain message and nothing changes. (Backend-independent logic: runs on SQLite.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update

from console.record import PermissionDenied, Role, open_database
from console.record import models as m
from tests.record.conftest import PASSWORD, make_user

ALLOWED: dict[str, set[str]] = {
    "create_patient": {"clinician"},
    "start_session": {"clinician"},
    "add_entry": {"clinician"},
    "amend": {"clinician"},
    "sign": {"clinician"},
    "resume_session": {"clinician"},
    "close_interrupted": {"clinician"},
    "log_protocol_change": {"clinician"},
    "vitals_recorder": {"clinician"},
    "save_device_profile": {"technician", "admin"},
    "delete_device_profile": {"technician", "admin"},
    "add_user": {"admin"},
    "disable_user": {"admin"},
    "enable_user": {"admin"},
    "set_password": {"admin"},
}


@pytest.fixture
def world(sqlite_url):
    """A database with one user per role, a patient, sessions (one interrupted), an entry and a profile."""
    db = open_database(sqlite_url)
    users = {r.value: make_user(db, f"user_{r.value}", r.value) for r in Role}
    clin = db.service(users["clinician"])
    patient = clin.create_patient("PT-1")
    open_s = clin.start_session(patient.id, "iv", "1", "chair 1")
    entry = clin.add_entry(open_s.id, "note", {"text": "x"})
    crashed = [clin.start_session(patient.id, "iv", "1", "chair 2").id for _ in range(2)]
    with db.write_engine.begin() as conn:  # their console died: nobody holds them
        conn.execute(update(m.Session).where(m.Session.id.in_(crashed)).values(lock_owner=None))
    db.service(users["technician"]).save_device_profile("mon", "simulator", "loop://", {})
    db.service(users["admin"]).add_user("victim", "Victim", "clinician", "long password 1")
    yield db, users, {"session": open_s.id, "entry": entry.id, "crashed": crashed, "patient": patient.id}
    db.close()


def actions(ids: dict[str, Any]) -> dict[str, Callable[[Any], Any]]:
    return {
        "create_patient": lambda s: s.create_patient("PT-2"),
        "start_session": lambda s: s.start_session(ids["patient"], "iv", "1", "chair 3"),
        "add_entry": lambda s: s.add_entry(ids["session"], "note", {"text": "y"}),
        "amend": lambda s: s.amend(ids["session"], ids["entry"], "typo", {"text": "z"}),
        "sign": lambda s: s.sign(ids["session"], PASSWORD),
        "resume_session": lambda s: s.resume_session(ids["crashed"][0]),
        "close_interrupted": lambda s: s.close_interrupted(ids["crashed"][1], "power cut"),
        "log_protocol_change": lambda s: s.log_protocol_change("iv", "2", {"bp_hold": 140}, {"bp_hold": 150}),
        "vitals_recorder": lambda s: s.vitals_recorder(ids["session"]).close(),
        "save_device_profile": lambda s: s.save_device_profile("mon2", "simulator", "loop://", {}),
        "delete_device_profile": lambda s: s.delete_device_profile("mon"),
        "add_user": lambda s: s.add_user("newbie", "New Bie", "auditor", "long password 2"),
        "disable_user": lambda s: s.disable_user("victim"),
        "enable_user": lambda s: s.enable_user("victim"),
        "set_password": lambda s: s.set_password("victim", "long password 3"),
    }


def _counts(db) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t.__tablename__: conn.scalar(select(func.count()).select_from(t))
                for t in (m.Patient, m.Session, m.Entry, m.DeviceProfile, m.User)}


@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_write_path_by_role(world, role, action):
    db, users, ids = world
    svc = db.service(users[role])
    do = actions(ids)[action]
    if role in ALLOWED[action]:
        do(svc)
        return
    before_counts = _counts(db)
    before_audit = len(db.audit_trail())
    with pytest.raises(PermissionDenied) as exc:
        do(svc)
    msg = str(exc.value)
    assert f"role {role} cannot" in msg and "only" in msg  # plain words: who may do it instead
    assert _counts(db) == before_counts
    assert len(db.audit_trail()) == before_audit
    assert db.verify().ok


def test_auditor_reads_everything(world):
    db, users, ids = world
    a = db.service(users["auditor"])
    assert a.entries(ids["session"])[0].data == {"text": "x"}
    assert len(a.sessions()) == 3 and a.device_profiles()[0].name == "mon"
    assert a.audit_trail() and a.users()


def test_role_is_checked_against_the_database_not_the_callers_context(world):
    """A UserContext claiming a role the account does not have gets nowhere."""
    from dataclasses import replace

    db, users, ids = world
    forged = replace(users["auditor"], role="clinician")
    with pytest.raises(PermissionDenied):
        db.service(forged).add_entry(ids["session"], "note", {"text": "forged"})
