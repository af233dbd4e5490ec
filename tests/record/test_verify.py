"""Integrity: a row changed outside the application (raw SQL) is detected and named, for each tamper."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.record.conftest import PASSWORD, drop_append_only_guard


@pytest.fixture
def chain(db, svc, session):
    """A session with five notes: (session id, [entry ids])."""
    ids = [svc.add_entry(session.id, "note", {"text": f"note {i}: BP {120 + i}/80"}).id for i in range(5)]
    assert db.verify(session.id).ok
    return session.id, ids


def raw(db, sql: str, **params) -> None:
    """Tamper with the tables directly, past the database's append-only guard."""
    with db.engine.begin() as conn:
        drop_append_only_guard(conn)
        conn.execute(text(sql), params)


def test_the_database_itself_refuses_to_change_or_delete_entries(db, chain):
    from sqlalchemy import exc

    sid, ids = chain
    for sql in ("UPDATE entries SET data_json = '{}' WHERE id = :i", "DELETE FROM entries WHERE id = :i"):
        with pytest.raises(exc.DatabaseError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql), {"i": ids[0]})
    assert db.verify(sid).ok


def test_intact_chain_verifies_and_the_run_is_audited(db, chain):
    sid, _ = chain
    result = db.verify(sid)
    assert result.ok and result.sessions_checked == 1 and result.entries_checked == 5
    assert "intact" in result.summary()
    last = db.audit_trail(action="verify")[-1]
    assert last.target == f"session {sid}" and "intact" in last.detail


def test_changed_data_is_detected(db, chain):
    sid, ids = chain
    raw(db, "UPDATE entries SET data_json = :d WHERE id = :i", d='{"bp":[90,60],"text":"note 2"}', i=ids[2])
    p = db.verify(sid).first_problem
    assert (p.what, p.seq, p.entry_id) == ("changed", 3, ids[2])


def test_changed_time_is_detected(db, chain):
    sid, ids = chain
    raw(db, "UPDATE entries SET late = :t WHERE id = :i", t=True, i=ids[1])
    p = db.verify(sid).first_problem
    assert (p.what, p.seq) == ("changed", 2)


def test_changed_author_is_detected(db, chain):
    sid, ids = chain
    raw(db, "UPDATE entries SET username = 'someone_else' WHERE id = :i", i=ids[0])
    p = db.verify(sid).first_problem
    assert (p.what, p.seq) == ("changed", 1)


def test_deleted_entry_in_the_middle_is_missing(db, chain):
    sid, ids = chain
    raw(db, "DELETE FROM entries WHERE id = :i", i=ids[2])
    result = db.verify(sid)
    p = result.first_problem
    assert (p.what, p.seq, p.entry_id) == ("missing", 4, ids[3])
    assert "#3" in p.detail


def test_deleted_last_entry_is_missing(db, chain):
    sid, ids = chain
    raw(db, "DELETE FROM entries WHERE id = :i", i=ids[4])
    p = db.verify(sid).first_problem
    assert p.what == "missing" and p.seq == 5 and "deleted from the end" in p.detail


def test_reordered_entries_are_detected(db, chain):
    sid, ids = chain
    raw(db, "UPDATE entries SET seq = -1 WHERE id = :i", i=ids[1])
    raw(db, "UPDATE entries SET seq = 2 WHERE id = :i", i=ids[2])
    raw(db, "UPDATE entries SET seq = 3 WHERE id = :i", i=ids[1])
    p = db.verify(sid).first_problem
    assert (p.what, p.seq, p.entry_id) == ("reordered", 2, ids[2])


def test_changed_session_header_is_detected(db, chain):
    sid, _ = chain
    raw(db, "UPDATE sessions SET details_json = :d WHERE id = :i", d='{"dose_mg":80}', i=sid)
    p = db.verify(sid).first_problem
    assert p.what == "changed" and "header" in p.detail


def test_changed_signature_is_detected(db, svc, chain):
    sid, _ = chain
    sig = svc.sign(sid, PASSWORD)
    raw(db, "UPDATE entries SET data_json = replace(data_json, 'authored', 'approved') WHERE id = :i",
        i=sig.id)
    p = db.verify(sid).first_problem
    assert p.what == "changed" and p.entry_id == sig.id


def test_verify_all_reports_only_the_tampered_session(db, svc, chain):
    sid, ids = chain
    other = svc.start_session(svc.session(sid).patient_id, "iv", "1", "chair 2")
    svc.add_entry(other.id, "note", {"text": "fine"})
    raw(db, "UPDATE entries SET kind = 'discharge' WHERE id = :i", i=ids[0])
    result = db.verify()
    assert result.sessions_checked == 2 and not result.ok
    assert {p.session_id for p in result.problems if p.what != "unprotected"} == {sid}
