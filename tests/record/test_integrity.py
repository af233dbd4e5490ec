"""The whole record under the chain: header snapshot, checkpoints, the chained audit trail, the guards, the
upgrade of an older record, and verify's refusal to open what is not a Chairside record."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, text

from console.record import chain, open_database
from console.record import models as m
from console.record.checkpoints import append_checkpoint
from console.record.database import open_for_verify
from console.record.engine import make_engine
from console.record.errors import NotAChairsideDatabase, SchemaTooNew
from console.record.schema import _upgrade
from tests.record.conftest import PASSWORD, make_user


def _numerics(db, session_id: int, n: int, t0: float) -> None:
    with db.write_engine.begin() as conn:
        conn.execute(insert(m.VitalNumeric), [
            {"session_id": session_id, "mdc": 150456, "label": "SpO2", "value": 97.0 + i % 3, "unit": "%",
             "state": 0, "device_time": None, "host_time": t0 + i} for i in range(n)])


def test_header_keeps_patient_and_people_as_they_were(svc, db):
    p = svc.create_patient("PT-50", name="Ann Example", birth_date=date(1961, 2, 3), sex="F", weight_kg=60)
    s = svc.start_session(p.id, "iv", "1", "chair 2", details={"dose_mg": 30})
    assert s.at_start == {
        "patient": {"id": p.id, "code": "PT-50", "name": "Ann Example", "birth_date": "1961-02-03", "sex": "F",
                    "weight_kg": 60.0, "demo": False},
        "started_by": {"id": svc.user.id, "username": "carla", "full_name": "Carla Clinician",
                       "role": "clinician"}}
    assert svc.session(s.id).at_start == s.at_start and db.verify(s.id).ok


def test_checkpoints_cover_only_new_rows_and_are_written_by_the_system(db, svc, session):
    _numerics(db, session.id, 30, 1_000.0)
    first = append_checkpoint(db, session.id)
    _numerics(db, session.id, 10, 2_000.0)
    second = append_checkpoint(db, session.id)
    assert first is not None and second is not None
    assert (first.username, first.role, first.kind) == ("system", "system", "checkpoint")
    t1, t2 = first.data["tables"]["vital_numerics"], second.data["tables"]["vital_numerics"]
    assert (t1["after_id"], t1["rows"]) == (0, 30) and (t2["after_id"], t2["rows"]) == (t1["last_id"], 10)
    assert first.data["audit"]["last_id"] >= 1  # the second leaves the audit head out when it did not move
    assert second.data.get("audit", first.data["audit"])["last_id"] >= first.data["audit"]["last_id"]
    # rows written after the last checkpoint of a session still open are not a finding yet
    _numerics(db, session.id, 5, 3_000.0)
    assert db.verify(session.id).ok
    svc.sign(session.id, PASSWORD)  # sign-off covers them
    assert db.verify(session.id).ok
    assert append_checkpoint(db, session.id) is None  # a signed session takes no more checkpoints


def test_a_checkpoint_is_not_a_clinical_kind(svc, session):
    from console.record import InvalidEntry

    with pytest.raises(InvalidEntry, match="reserved"):
        svc.add_entry(session.id, "checkpoint", {"tables": {}})


def test_concurrent_audit_writers_keep_one_chain(db, clinician):
    """Two consoles writing audit rows at once never link to the same predecessor."""
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            svc = db.service(clinician)
            for i in range(10):
                svc.log_protocol_change(f"p{k}", str(i), None, {"i": i})
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = db.verify()
    assert result.ok, result.summary()
    trail = db.audit_trail(action="protocol_change")
    assert len(trail) == 30


def test_a_0004_record_upgrades_and_its_old_sessions_still_verify(db_url):
    """A session and audit rows written by the 0004 software (version-1 header, unchained audit trail)."""
    engine = make_engine(db_url)
    sqlite = engine.dialect.name == "sqlite"
    started = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    stamp = started.replace(tzinfo=None) if sqlite else started
    try:
        with engine.begin() as conn:
            _upgrade(conn, "0004")
            conn.execute(text("INSERT INTO users (id, username, full_name, role, password_hash, active, demo, "
                              "created_at, password_changed_at) VALUES (1, 'olga', 'Olga Old', 'clinician', "
                              "'x', :t, :f, :at, :at)"), {"t": True, "f": False, "at": stamp})
            conn.execute(text("INSERT INTO patients (id, code, demo, created_at, created_by) "
                              "VALUES (1, 'OLD-1', :f, :at, 1)"), {"f": False, "at": stamp})
            header = SimpleNamespace(id=1, patient_id=1, protocol_id="iv", protocol_version="1", chair="c1",
                                     devices_json="[]", details_json='{"dose_mg":30}', demo=False,
                                     started_at=started, started_by=1)
            h = chain.header_hash(header)  # no header_version: the version-1 format
            conn.execute(text("INSERT INTO sessions (id, patient_id, protocol_id, protocol_version, chair, "
                              "devices_json, details_json, demo, status, started_at, started_by, header_hash, "
                              "head_seq, head_hash) VALUES (1, 1, 'iv', '1', 'c1', '[]', :d, :f, 'closed', :at, 1, :h, 0, "
                              ":h)"), {"d": '{"dose_mg":30}', "f": False, "at": stamp, "h": h})
            if not sqlite:  # the explicit ids above did not move PostgreSQL's sequences
                for table in ("users", "patients", "sessions"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)"))
            for i in range(3):
                conn.execute(text("INSERT INTO audit_log (at, user_id, username, role, action, target, detail) "
                                  "VALUES (:at, NULL, 'cli', 'admin', 'user_add', :t, '')"),
                             {"at": stamp, "t": f"user u{i}"})
    finally:
        engine.dispose()
    db = open_database(db_url)
    try:
        assert db.schema.from_revision == "0004"
        result = db.verify()
        assert result.ok and result.sessions_checked == 1, result.summary()  # header v1 still verifies
        carla = make_user(db, "carla", "clinician")
        svc = db.service(carla)
        s = svc.start_session(svc.create_patient("PT-1").id, "iv", "1", "chair 1")
        svc.add_entry(s.id, "note", {"text": "after the upgrade"})
        assert db.verify().ok
        # the old rows are under the guards now
        with pytest.raises(sa_exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("UPDATE sessions SET details_json = '{}' WHERE id = 1"))
    finally:
        db.close()


def test_verify_opens_only_an_existing_current_record(tmp_path: Path, sqlite_url: str):
    with pytest.raises(NotAChairsideDatabase, match="does not exist"):
        open_for_verify(str(tmp_path / "missing" / "x.sqlite3"))
    assert not (tmp_path / "missing").exists()
    older = tmp_path / "older.sqlite3"
    engine = make_engine(f"sqlite:///{older}")
    try:
        with engine.begin() as conn:
            _upgrade(conn, "0004")
    finally:
        engine.dispose()
    before = older.read_bytes()
    with pytest.raises(SchemaTooNew, match="older schema revision '0004'"):
        open_for_verify(str(older))
    assert older.read_bytes() == before and list(tmp_path.glob("older.sqlite3.pre-*")) == []
    open_database(sqlite_url).close()
    db = open_for_verify(sqlite_url)
    try:
        assert db.verify().ok
    finally:
        db.close()


def test_a_fresh_record_has_every_guard(db):
    from console.record import protection

    with db.engine.connect() as conn:
        assert protection.check_guards(conn) == []


def test_a_recorder_closed_after_sign_off_puts_its_last_rows_under_the_chain(db, svc, session):
    """The console signs while the monitor still records: the recorder's final flush is covered by a
    checkpoint after the signature (verify stays intact); a row slipped in later is still named."""
    import time as _time

    from devices.simulator import Simulator

    rec = db.vitals_recorder(session.id)
    sim = Simulator("stable", 1, waves=True, start=_time.time() - 30)
    rec.submit(sim.advance_sim(10))
    assert rec.flush()
    svc.sign(session.id, PASSWORD)
    rec.submit(sim.advance_sim(10))
    rec.close()
    kinds = [e.kind for e in svc.entries(session.id)]
    assert kinds[-2:] == ["signature", "checkpoint"]
    assert db.verify(session.id).ok
    _numerics(db, session.id, 1, 9_999.0)
    p = db.verify(session.id).first_problem
    assert p is not None and p.what == "inserted" and "1 numerics rows" in p.detail
