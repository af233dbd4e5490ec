"""Tampering outside the application, for EVERY entry kind the record knows: an entry row changed, deleted or
moved to another place in the chain is found by ``verify``, which names what happened and where.

One session holding an entry of every kind in :data:`console.record.ENTRY_KINDS` (clinical entries, an
interruption and resumption, an amendment, a signature) is recorded once per module; each test tampers with a
copy of that SQLite file using plain SQL, as someone with file access could (first dropping the triggers that
refuse a careless UPDATE or DELETE of an entry: they stop accidents, not a determined editor).
``tests/record/test_verify.py`` covers the tampers themselves on both backends with notes; this module covers
every kind.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from console.record import CLINICAL_KINDS, ENTRY_KINDS, open_database
from tests.payloads import valid

pytestmark = pytest.mark.faults

USER, PASSWORD = "tess", "correct horse 1"

#: data of each clinical kind (free-form for the record; only an observation needs its scale)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, dict[str, str]]:
    """(database file, session id, {kind: id of its entry}) with one entry of every kind."""
    path = tmp_path_factory.mktemp("tamper") / "record.sqlite3"
    url = f"sqlite:///{path}"
    db = open_database(url)
    db.service(db.system_user("fault-tests")).add_user(USER, "Tess Tamper", "clinician", PASSWORD)
    svc = db.service(db.authenticate(USER, PASSWORD))
    sid = svc.start_session(svc.create_patient("TAMPER-1").id, "iv-ketamine-0.5", "1", "chair 1",
                            devices=["simulator"], details={"dose_mg": 36.25}).id
    ids: dict[str, str] = {}
    for kind in ENTRY_KINDS:
        if kind in CLINICAL_KINDS:
            ids[kind] = svc.add_entry(sid, kind, valid(kind)).id
    db.close()  # the console goes away: the session is interrupted
    db = open_database(url)
    svc = db.service(db.authenticate(USER, PASSWORD))
    svc.resume_session(sid)
    ids["amendment"] = svc.amend(sid, ids["note"], "wrong words", {"text": "the right words"}).id
    ids["signature"] = svc.sign(sid, PASSWORD).id
    for entry in svc.entries(sid):
        ids.setdefault(entry.kind, entry.id)
    assert set(ids) == set(ENTRY_KINDS), f"no entry of {set(ENTRY_KINDS) - set(ids)}"
    assert db.verify(sid).ok
    db.close()
    return path, sid, ids


@pytest.fixture
def copy(recorded: tuple[Path, int, dict[str, str]], tmp_path: Path):
    """A fresh copy of the recorded database, opened: (db, session id, {kind: entry id})."""
    path, sid, ids = recorded
    target = tmp_path / "record.sqlite3"
    shutil.copy(path, target)
    db = open_database(f"sqlite:///{target}")
    with db.engine.begin() as conn:
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                         "AND tbl_name = 'entries'")).all():
            conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield db, sid, ids
    db.close()


def _raw(db: Any, sql: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def _seqs(db: Any, sid: int) -> list[tuple[str, int]]:
    with db.engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(
            text("SELECT id, seq FROM entries WHERE session_id = :s ORDER BY seq"), {"s": sid})]


@pytest.mark.parametrize("kind", ENTRY_KINDS)
def test_changed_entry_is_detected(copy, kind: str) -> None:
    db, sid, ids = copy
    _raw(db, "UPDATE entries SET data_json = :d WHERE id = :i", d='{"text":"tampered"}', i=ids[kind])
    result = db.verify(sid)
    assert not result.ok
    p = result.first_problem
    assert (p.what, p.entry_id) == ("changed", ids[kind])


@pytest.mark.parametrize("kind", ENTRY_KINDS)
def test_deleted_entry_is_detected(copy, kind: str) -> None:
    db, sid, ids = copy
    order = _seqs(db, sid)
    position = [i for i, _ in order].index(ids[kind])
    _raw(db, "DELETE FROM entries WHERE id = :i", i=ids[kind])
    result = db.verify(sid)
    assert not result.ok
    p = result.first_problem
    assert p.what == "missing"
    if position == len(order) - 1:
        assert "deleted from the end" in p.detail and p.seq == order[position][1]
    else:  # named at the entry after the hole
        assert p.entry_id == order[position + 1][0]
        assert f"#{order[position][1]}" in p.detail


@pytest.mark.parametrize("kind", ENTRY_KINDS)
def test_reordered_entry_is_detected(copy, kind: str) -> None:
    db, sid, ids = copy
    order = _seqs(db, sid)
    position = [i for i, _ in order].index(ids[kind])
    other = position + 1 if position + 1 < len(order) else position - 1
    (a, seq_a), (b, seq_b) = order[position], order[other]
    # swap the two places in the chain (via a free number, as the (session, seq) pair is unique)
    _raw(db, "UPDATE entries SET seq = -1 WHERE id = :i", i=a)
    _raw(db, "UPDATE entries SET seq = :s WHERE id = :i", s=seq_a, i=b)
    _raw(db, "UPDATE entries SET seq = :s WHERE id = :i", s=seq_b, i=a)
    result = db.verify(sid)
    assert not result.ok
    assert "reordered" in {p.what for p in result.problems}
    assert result.first_problem.seq == min(seq_a, seq_b)
