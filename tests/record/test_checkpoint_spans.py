"""Checkpoint format 2: a table with no new rows is left out of a checkpoint (and the audit head when it did
not move), which must not open a hole in what verify checks; checkpoints written in format 1 by earlier
versions still verify, also mixed with format 2 in one session; a gap or an overlap between a table's spans
is named."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session as OrmSession

from console.record import models as m
from console.record.canonical import canonical_json
from console.record.checkpoints import BULK_TABLES, append_checkpoint, digest_rows
from console.record.records import SYSTEM_ACTOR, EntryRecord, UserContext
from console.record.service import append_entry
from tests.record.conftest import PASSWORD, drop_append_only_guard

SPO2 = 150456


def _numerics(db, session_id: int, n: int, t0: float) -> list[int]:
    """Write ``n`` legacy numeric rows as the recorder did; their ids."""
    with db.write_engine.begin() as conn:
        conn.execute(insert(m.VitalNumeric), [
            {"session_id": session_id, "mdc": SPO2, "label": "SpO2", "value": 97.0 + i % 3, "unit": "%",
             "state": 0, "device_time": None, "host_time": t0 + i} for i in range(n)])
        return list(conn.scalars(select(m.VitalNumeric.id).where(m.VitalNumeric.session_id == session_id,
                                                                m.VitalNumeric.host_time >= t0)
                                 .order_by(m.VitalNumeric.id)))


def _event(db, session_id: int, code: str) -> int:
    """One monitor alarm row as the recorder stores it; its id."""
    with db.write_engine.begin() as conn:
        return int(conn.execute(insert(m.VitalEvent).returning(m.VitalEvent.id), [{
            "session_id": session_id, "kind": "alarm", "code": code, "text": code, "priority": 2,
            "active": True, "mdc": SPO2, "source": "simulator", "host_time": time.time()}]).scalar_one())


def _tamper(db, sql: str, **params: Any) -> None:
    """Someone with database-only access: drop the guards, run SQL."""
    with db.engine.begin() as conn:
        drop_append_only_guard(conn)
        conn.execute(text(sql), params)


def _append_checkpoint_data(db, session_id: int, data: dict[str, Any]) -> EntryRecord:
    """Append a checkpoint entry with the given data exactly as the writer appends its own (same actor,
    same chain link, witnessed): an earlier version's writer, or one with a bug."""
    with OrmSession(db.write_engine, expire_on_commit=False) as s, s.begin():
        row = s.scalar(select(m.Session).where(m.Session.id == session_id).with_for_update())
        assert row is not None
        actor = UserContext(row.started_by, SYSTEM_ACTOR, "Chairside (automatic checkpoint)", SYSTEM_ACTOR)
        return append_entry(s, db, actor, row, "checkpoint", canonical_json(data), at=db.now())


def _format1_checkpoint(db, session_id: int) -> EntryRecord:
    """A checkpoint as versions before format 2 wrote it: every bulk table (empty spans too), each starting
    where the session's newest checkpoint ended, and always the audit head."""
    with OrmSession(db.engine) as s:
        newest = s.scalar(select(m.Entry.data_json).where(m.Entry.session_id == session_id,
                                                          m.Entry.kind == "checkpoint")
                          .order_by(m.Entry.seq.desc()).limit(1))
        prev = {} if newest is None else json.loads(newest)["tables"]
        tables = {}
        for name, (table, _) in BULK_TABLES.items():
            after = int(prev.get(name, {}).get("last_id", 0))
            n, last, sha = digest_rows(s, table, session_id, after)
            tables[name] = {"after_id": after, "last_id": last, "rows": n, "sha256": sha}
        head = s.execute(select(m.AuditEvent.id, m.AuditEvent.hash).order_by(m.AuditEvent.id.desc())
                         .limit(1)).first()
    audit = None if head is None else {"last_id": head[0], "hash": head[1]}
    return _append_checkpoint_data(db, session_id, {"format": 1, "tables": tables, "audit": audit})


def _problems(db, session_id: int) -> list[str]:
    """What verify finds in the session (the removed guards of ``_tamper`` are findings of their own)."""
    return [str(p) for p in db.verify(session_id).problems if p.session_id == session_id]


# -- what the writer leaves out --------------------------------------------------------------------------
def test_a_table_with_no_new_rows_is_left_out_and_its_next_span_starts_where_it_ended(db, svc, session):
    numerics = _numerics(db, session.id, 30, 1_000.0)
    first_event = _event(db, session.id, "SPO2_LOW")
    first = append_checkpoint(db, session.id)
    _numerics(db, session.id, 10, 2_000.0)
    second = append_checkpoint(db, session.id)  # no new event: vital_events is not named
    _numerics(db, session.id, 10, 3_000.0)
    third_event = _event(db, session.id, "HR_HIGH")
    third = append_checkpoint(db, session.id)
    assert first is not None and second is not None and third is not None
    assert first.data["format"] == 2 and set(first.data["tables"]) == {"vital_numerics", "vital_events"}
    assert set(second.data["tables"]) == {"vital_numerics"}
    assert first.data["tables"]["vital_events"] == {"after_id": 0, "last_id": first_event, "rows": 1,
                                                    "sha256": first.data["tables"]["vital_events"]["sha256"]}
    assert first.data["tables"]["vital_numerics"]["last_id"] == numerics[-1]
    # the events span of the third starts at the first checkpoint's end, not at the (silent) second's
    assert third.data["tables"]["vital_events"]["after_id"] == first_event
    assert third.data["tables"]["vital_events"]["last_id"] == third_event
    assert (third.data["tables"]["vital_numerics"]["after_id"]
            == second.data["tables"]["vital_numerics"]["last_id"])
    svc.sign(session.id, PASSWORD)
    closing = [e for e in svc.entries(session.id) if e.kind == "checkpoint"][-1]
    assert closing.data["tables"] == {}  # nothing new at sign-off: no empty spans either
    assert db.verify(session.id).ok


def test_the_audit_head_is_recorded_only_when_it_moved(db, svc, session):
    _numerics(db, session.id, 5, 1_000.0)
    first = append_checkpoint(db, session.id)
    _numerics(db, session.id, 5, 2_000.0)
    second = append_checkpoint(db, session.id)
    db.verify(session.id)  # every verify run is audit logged: the audit head moves
    _numerics(db, session.id, 5, 3_000.0)
    third = append_checkpoint(db, session.id)
    assert first is not None and second is not None and third is not None
    assert "audit" not in second.data
    assert third.data["audit"]["last_id"] > first.data["audit"]["last_id"]
    assert db.verify(session.id).ok
    # a cut audit trail is still caught by the checkpoint that recorded the head it ended at
    _tamper(db, "DELETE FROM audit_log WHERE id >= :cut", cut=third.data["audit"]["last_id"])
    assert any(f"audit row #{third.data['audit']['last_id']}, the end of the audit trail when this "
               "checkpoint was written, is gone" in p for p in _problems(db, session.id))


def test_a_changed_row_in_a_table_later_checkpoints_leave_out_is_named(db, svc, session):
    event = _event(db, session.id, "SPO2_LOW")
    first = append_checkpoint(db, session.id)
    for k in range(3):  # minutes with numerics only: the events table is left out of these
        _numerics(db, session.id, 5, 1_000.0 + 100 * k)
        append_checkpoint(db, session.id)
    svc.sign(session.id, PASSWORD)
    assert first is not None and db.verify(session.id).ok
    _tamper(db, "UPDATE vital_events SET code = 'NONE' WHERE id = :id", id=event)
    problems = _problems(db, session.id)
    assert problems == [(f"session {session.id}, entry #{first.seq} ({first.id}): changed: monitor "
                         "alarm/link events rows were changed between the session start and checkpoint "
                         f"#{first.seq} ({first.at.isoformat()[11:19]}) (ids 1..{event}: 1 recorded, "
                         "1 found)")]


def test_a_row_slipped_into_a_left_out_table_is_named(db, svc, session):
    event = _event(db, session.id, "SPO2_LOW")
    append_checkpoint(db, session.id)
    _numerics(db, session.id, 5, 1_000.0)
    last = append_checkpoint(db, session.id)  # leaves vital_events out
    svc.sign(session.id, PASSWORD)
    assert last is not None and "vital_events" not in last.data["tables"] and db.verify(session.id).ok
    _event(db, session.id, "FORGED")  # guards still on for inserts: the attacker needs no SQL trick
    closing = [e for e in svc.entries(session.id) if e.kind == "checkpoint"][-1]
    problems = _problems(db, session.id)
    assert len(problems) == 1, problems
    assert (f"inserted: 1 monitor alarm/link events rows (from id {event + 1}) were written after checkpoint "
            f"#{closing.seq}") in problems[0] and "although the session is closed" in problems[0]


def test_a_row_moved_into_a_span_from_another_session_is_named(db, svc, session):
    """Two chairs record at once, so a table's ids interleave; moving the other session's row into this
    one lands inside a span a later checkpoint left the table out of."""
    other = svc.start_session(svc.create_patient("PT-002").id, "iv-ketamine-0.5", "3", "chair 2")
    mine = _event(db, session.id, "SPO2_LOW")
    theirs = _event(db, other.id, "HR_HIGH")
    mine_too = _event(db, session.id, "SPO2_LOW")
    first = append_checkpoint(db, session.id)
    _numerics(db, session.id, 5, 1_000.0)
    append_checkpoint(db, session.id)
    svc.sign(session.id, PASSWORD)
    assert first is not None and db.verify(session.id).ok
    assert first.data["tables"]["vital_events"]["rows"] == 2 and mine < theirs < mine_too
    _tamper(db, "UPDATE vital_events SET session_id = :s WHERE id = :id", s=session.id, id=theirs)
    problems = _problems(db, session.id)
    assert len(problems) == 1, problems
    assert (f"inserted: monitor alarm/link events rows were inserted between the session start and "
            f"checkpoint #{first.seq}") in problems[0] and "2 recorded, 3 found" in problems[0]


# -- records written by earlier versions -----------------------------------------------------------------
def test_format_1_checkpoints_still_verify_and_the_writer_continues_after_them(db, svc, session):
    """A session checkpointed by an earlier version (every table named, empty spans, audit always), then
    resumed by this one: both formats verify together, and a change under the old checkpoint is named."""
    ids = _numerics(db, session.id, 30, 1_000.0)
    old = _format1_checkpoint(db, session.id)
    assert old.data["format"] == 1 and set(old.data["tables"]) == set(BULK_TABLES)
    assert old.data["tables"]["vital_waves"] == {"after_id": 0, "last_id": 0, "rows": 0,
                                                 "sha256": old.data["tables"]["vital_waves"]["sha256"]}
    _numerics(db, session.id, 10, 2_000.0)
    old_again = _format1_checkpoint(db, session.id)
    assert db.verify(session.id).ok  # an open session whose checkpoints are all format 1
    later = _numerics(db, session.id, 10, 3_000.0)
    new = append_checkpoint(db, session.id)
    assert new is not None and new.data["format"] == 2 and set(new.data["tables"]) == {"vital_numerics"}
    span = new.data["tables"]["vital_numerics"]
    assert span["after_id"] == old_again.data["tables"]["vital_numerics"]["last_id"]
    assert span["last_id"] == later[-1]
    svc.sign(session.id, PASSWORD)
    assert db.verify(session.id).ok
    _tamper(db, "UPDATE vital_numerics SET value = 80.0 WHERE id = :id", id=ids[3])
    problems = _problems(db, session.id)
    assert len(problems) == 1, problems
    assert f"entry #{old.seq}" in problems[0]
    assert "changed: numerics rows were changed between the session start and checkpoint" in problems[0]


# -- spans that do not join up ---------------------------------------------------------------------------
def _span(db, session_id: int, table: str, after: int, upto: int | None = None) -> dict[str, Any]:
    with OrmSession(db.engine) as s:
        n, last, sha = digest_rows(s, BULK_TABLES[table][0], session_id, after, upto)
    return {"after_id": after, "last_id": last, "rows": n, "sha256": sha}


def test_a_gap_between_a_tables_spans_is_named(db, svc, session):
    """A writer that skipped rows (a bug, or a rewrite by someone who knows the algorithm): every span's hash
    is right, but the rows between two spans are under no checkpoint."""
    first_ids = _numerics(db, session.id, 10, 1_000.0)
    first = _append_checkpoint_data(db, session.id, {
        "format": 2, "tables": {"vital_numerics": _span(db, session.id, "vital_numerics", 0)}})
    ids = _numerics(db, session.id, 10, 2_000.0)
    skip_to = ids[3]  # ids[0..3] are left uncovered
    second = _append_checkpoint_data(db, session.id, {
        "format": 2, "tables": {"vital_numerics": _span(db, session.id, "vital_numerics", skip_to)}})
    problems = _problems(db, session.id)
    assert problems == [
        (f"session {session.id}, entry #{second.seq} ({second.id}): changed: numerics ids "
        f"{first_ids[-1] + 1}..{skip_to} are under no checkpoint (4 rows of the session there): checkpoint "
        f"#{first.seq} ({first.at.isoformat()[11:19]}) covers up to id {first_ids[-1]}, but checkpoint "
        f"#{second.seq} ({second.at.isoformat()[11:19]}) starts after id {skip_to} (a gap between the "
        "table's spans)")]


def test_a_first_span_that_does_not_start_at_the_beginning_is_named(db, svc, session):
    ids = _numerics(db, session.id, 10, 1_000.0)
    _append_checkpoint_data(db, session.id, {
        "format": 2, "tables": {"vital_numerics": _span(db, session.id, "vital_numerics", ids[1])}})
    problems = _problems(db, session.id)
    assert len(problems) == 1, problems
    assert (f"numerics ids 1..{ids[1]} are under no checkpoint (2 rows of the session there): no checkpoint "
            "before it covers any") in problems[0]


def test_overlapping_spans_are_named(db, svc, session):
    ids = _numerics(db, session.id, 10, 1_000.0)
    _append_checkpoint_data(db, session.id, {
        "format": 2, "tables": {"vital_numerics": _span(db, session.id, "vital_numerics", 0)}})
    _numerics(db, session.id, 5, 2_000.0)
    _append_checkpoint_data(db, session.id, {
        "format": 2, "tables": {"vital_numerics": _span(db, session.id, "vital_numerics", ids[6])}})
    problems = _problems(db, session.id)
    assert len(problems) == 1, problems
    assert f"numerics ids {ids[6] + 1}..{ids[9]} are covered twice" in problems[0]
    assert "(its spans overlap)" in problems[0]


def test_a_checkpoint_that_does_not_fit_either_format_is_named_not_a_traceback(db, svc, session):
    _numerics(db, session.id, 3, 1_000.0)
    bad = _append_checkpoint_data(db, session.id, {
        "format": 2, "tables": {"vital_numerics": {"after_id": 0, "last_id": 3, "rows": "three"}}})
    problems = _problems(db, session.id)
    assert any(f"entry #{bad.seq} ({bad.id}): changed: the checkpoint's data cannot be read" in p
               and "rows" in p for p in problems), problems
    assert append_checkpoint(db, session.id) is not None  # the writer steps over it
