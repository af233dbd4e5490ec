"""Attacks on a real record by someone with database-only write access (a PostgreSQL administrator, anyone
holding the SQLite file or a backup), on SQLite and PostgreSQL: each is detected and named by ``chairside
verify`` (exit 1), never a traceback.

The attacker first drops the append-only triggers (as full SQL rights allow: verify then also names every
removed guard), then changes the record with plain SQL. The recorded session has three minutes of simulated
vitals with waves, monitor events and a raw capture, observations, a checkpoint per minute and a signature.
What keys and an external witness add (a rewrite of the audit chain as well) is the ``sign`` part; here is
everything that can be detected without keys.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, text

from console.cli import main
from console.record import chain, open_database
from console.record import models as m
from console.record.canonical import canonical_json
from console.record.checkpoints import append_checkpoint
from console.record.raw_captures import start_raw_capture
from console.record.wavecodec import decode_numerics, encode_numerics
from devices.simulator import Simulator
from tests.payloads import moaas
from tests.record.conftest import (
    PASSWORD,
    _drop_pg_database,
    _new_pg_database,
    drop_append_only_guard,
    make_user,
)

pytestmark = pytest.mark.faults
ECG = 131330  # MDC_ECG_ELEC_POTL_II


def record_session(url: str) -> dict[str, Any]:
    """Record one signed session with everything the record holds; returns its ids."""
    db = open_database(url)
    try:
        carla = make_user(db, "carla", "clinician", "Carla Clinician")
        tess = make_user(db, "tess", "technician", "Tess Technician")
        svc = db.service(carla)
        patient = svc.create_patient("PT-9", name="Pat Nine", birth_date=date(1970, 5, 17), sex="F",
                                     weight_kg=72.5)
        s = svc.start_session(patient.id, "iv-ketamine-0.5", "3", "chair 1", devices=["simulator"],
                              details={"dose_mg_per_kg": 0.5, "weight_kg": 72.5, "dose_mg": 36.25})
        rec = db.vitals_recorder(s.id)
        sim = Simulator("stable", 1, waves=True, start=time.time() - 200)
        raw = start_raw_capture(db.service(tess), device="bed 1", protocol="simulator", session_id=s.id)
        obs = []
        for minute in range(3):
            rec.submit(sim.advance_sim(60))
            assert rec.flush()
            raw.tap("in", time.time(), f"minute {minute} bytes".encode() * 20)
            with db.write_engine.begin() as conn:  # monitor alarms as the recorder stores them
                conn.execute(insert(m.VitalEvent), [{
                    "session_id": s.id, "kind": "alarm", "code": "SPO2_LOW", "text": "SpO2 low",
                    "priority": 2, "active": minute % 2 == 0, "mdc": 150456, "source": "simulator",
                    "host_time": time.time()}])
            obs.append(svc.add_entry(s.id, "observation", moaas(5 - minute)).id)
            append_checkpoint(db, s.id)  # what the chair runtime does once a minute
        raw.close()
        rec.close()
        svc.sign(s.id, PASSWORD)
        result = db.verify()
        assert result.ok, result.summary()
        return {"session": s.id, "patient": patient.id, "user": carla.id, "observations": obs}
    finally:
        db.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("attacks") / "template.sqlite3"
    return path, record_session(f"sqlite:///{path}")


@pytest.fixture
def victim(backend: str, sqlite_template: tuple[Path, dict[str, Any]], tmp_path: Path
           ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(database URL, ids) of a freshly recorded signed session, on the parametrised backend."""
    if backend == "sqlite":
        path, ids = sqlite_template
        target = tmp_path / "record.sqlite3"
        shutil.copy(path, target)
        yield f"sqlite:///{target}", ids
        return
    url, name = _new_pg_database()
    try:
        yield url, record_session(url)
    finally:
        _drop_pg_database(name)


def attack(url: str, *statements: str, **params: Any) -> None:
    """Drop the guards and run SQL as an attacker with database-only access."""
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            drop_append_only_guard(conn)
            for sql in statements:
                conn.execute(text(sql), params)
    finally:
        db.close()


def verify(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, str]:
    """Run ``chairside verify`` as a user would; returns (exit code, all output)."""
    code = main(["verify", *extra, "--db", url])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def expect(capsys: pytest.CaptureFixture[str], url: str, *findings: str) -> str:
    code, out = verify(capsys, url)
    assert code == 1, out
    for f in findings:
        assert f in out, f"{f!r} not in:\n{out}"
    return out


def test_the_untouched_record_verifies_intact(capsys, victim):
    url, _ = victim
    code, out = verify(capsys, url)
    assert code == 0 and out.startswith("intact: 1 session(s)")


def test_every_record_table_refuses_update_and_delete(victim):
    url, _ = victim
    from sqlalchemy import exc

    db = open_database(url)
    try:
        for sql in ("UPDATE vital_numeric_blocks SET n = n", "DELETE FROM vital_numeric_blocks",
                    "DELETE FROM vital_waves",
                    "DELETE FROM vital_events", "UPDATE raw_captures SET data = data",
                    "DELETE FROM audit_log", "UPDATE patients SET name = 'X'",
                    "UPDATE users SET full_name = 'X'", "DELETE FROM users", "DELETE FROM sessions",
                    "UPDATE sessions SET details_json = '{}'", "UPDATE sessions SET status = 'in_progress'",
                    "UPDATE sessions SET head_seq = 1", "DELETE FROM entries"):
            with pytest.raises(exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
                conn.execute(text(sql))
        # what legitimately changes still can: liveness, a password, the active flag
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE sessions SET heartbeat_at = NULL, lock_owner = NULL"))
            conn.execute(text("UPDATE users SET active = :f WHERE username = 'tess'"), {"f": False})
        assert db.verify().ok
    finally:
        db.close()


def test_every_spo2_set_to_99(capsys, victim):
    """The attacker re-encodes every SpO2 block with the software's own codec: a valid block, other values."""
    url, _ = victim
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            drop_append_only_guard(conn)
            blocks = conn.execute(text("SELECT id, codec, data, n FROM vital_numeric_blocks WHERE label = 'SpO2'"
                                       )).all()
            assert blocks, "the recorder stores numerics as blocks"
            for bid, codec, data, n in blocks:
                host, value, state, device = decode_numerics(codec, bytes(data), n)
                forged = encode_numerics(host, np.full_like(value, 99.0), state, device)
                conn.execute(text("UPDATE vital_numeric_blocks SET data = :d WHERE id = :i"), {"d": forged, "i": bid})
    finally:
        db.close()
    out = expect(capsys, url,
                 "changed: numeric blocks rows were changed between the session start and checkpoint #")
    assert "unprotected" in out  # the dropped guards are named too


def test_a_fake_row_in_the_older_one_value_per_row_layout(capsys, victim):
    """Rows of the layout written before numeric blocks stay under the same checkpoints."""
    url, ids = victim
    attack(url, "INSERT INTO vital_numerics (session_id, mdc, label, value, unit, state, device_time, host_time) "
                "VALUES (:s, 150456, 'SpO2', 99, '%', 0, NULL, 1.0)", s=ids["session"])
    expect(capsys, url, f"session {ids['session']}: inserted: 1 numerics rows (from id 1) were written after "
           "checkpoint #", "although the session is closed")


def test_half_the_ecg_chunks_deleted(capsys, victim):
    url, _ = victim
    attack(url, "DELETE FROM vital_waves WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) "
                f"AS n FROM vital_waves WHERE mdc = {ECG}) AS x WHERE x.n % 2 = 0)")
    out = expect(capsys, url, "missing: wave chunks rows were removed between the session start and checkpoint #")
    assert out.count("wave chunks rows were removed") >= 3  # one per minute at least: each placed in time


def test_a_fake_numeric_row_inserted(capsys, victim):
    url, ids = victim
    attack(url, "INSERT INTO vital_numeric_blocks (session_id, mdc, label, unit, t0, t1, n, codec, data) "
                "SELECT session_id, mdc, label, unit, t0 + 0.5, t1 + 0.5, n, codec, data FROM vital_numeric_blocks "
                "WHERE label = 'SpO2' ORDER BY id LIMIT 1")
    expect(capsys, url, f"session {ids['session']}: inserted: 1 numeric blocks rows",
           "after checkpoint #", "although the session is closed")


def test_a_wave_blob_changed(capsys, victim):
    url, _ = victim
    attack(url, "UPDATE vital_waves SET data = :d WHERE id = (SELECT min(id) FROM vital_waves)", d=b"\x00" * 64)
    expect(capsys, url, "changed: wave chunks rows were changed between the session start and checkpoint #")


def test_a_monitor_event_deleted(capsys, victim):
    url, _ = victim
    attack(url, "DELETE FROM vital_events WHERE id = (SELECT max(id) FROM vital_events)")
    expect(capsys, url, "missing: monitor alarm/link events rows were removed between checkpoint #")


def test_a_raw_capture_changed(capsys, victim):
    url, _ = victim
    attack(url, "UPDATE raw_captures SET n_bytes = n_bytes + 1 WHERE id = (SELECT min(id) FROM raw_captures)")
    expect(capsys, url, "changed: raw capture chunks rows were changed")


def test_the_audit_trail_wiped(capsys, victim):
    url, _ = victim
    attack(url, "DELETE FROM audit_log")
    out = expect(capsys, url, "the audit trail was cut or wiped")
    assert "the end of the audit trail when this checkpoint was written, is gone" in out


def test_one_audit_row_deleted(capsys, victim):
    url, _ = victim
    attack(url, "DELETE FROM audit_log WHERE id = (SELECT min(id) + 3 FROM audit_log)")
    out = expect(capsys, url, "missing: it does not link to the audit row before it")
    assert "audit row #" in out


def test_an_audit_row_changed(capsys, victim):
    url, _ = victim
    attack(url, "UPDATE audit_log SET username = 'nobody' WHERE action = 'sign'")
    expect(capsys, url, "changed: its content differs from what was recorded (hash mismatch) (sign session")


def test_a_patients_name_changed(capsys, victim):
    url, ids = victim
    attack(url, "UPDATE patients SET name = 'Someone Else' WHERE id = :p", p=ids["patient"])
    expect(capsys, url, f"session {ids['session']}: changed: patient PT-9's name is now 'Someone Else' but was 'Pat Nine' in "
                        f"what session {ids['session']} recorded at its start")


def test_a_patients_birth_date_changed(capsys, victim):
    url, ids = victim
    attack(url, "UPDATE patients SET birth_date = :d WHERE id = :p", d=date(1980, 1, 1), p=ids["patient"])
    expect(capsys, url, "patient PT-9's birth date is now '1980-01-01' but was '1970-05-17'")


def test_a_users_full_name_changed(capsys, victim):
    url, ids = victim
    attack(url, "UPDATE users SET full_name = 'Mallory' WHERE id = :u", u=ids["user"])
    expect(capsys, url, f"user #{ids['user']}'s full name is now 'Mallory' but was 'Carla Clinician' when the "
                        "session started")


def test_a_users_name_changed_in_the_entries_view(capsys, victim):
    url, ids = victim
    attack(url, "UPDATE users SET username = 'mallory' WHERE id = :u", u=ids["user"])
    expect(capsys, url, "is now named 'mallory' but this entry recorded 'carla'")


def test_the_dose_in_the_header_changed(capsys, victim):
    url, ids = victim
    attack(url, "UPDATE sessions SET details_json = :d WHERE id = :s",
           d='{"dose_mg":80,"dose_mg_per_kg":0.5,"weight_kg":72.5}', s=ids["session"])
    expect(capsys, url, f"session {ids['session']}: changed: the session header")


def test_the_chain_recomputed_with_the_softwares_own_functions(capsys, victim):
    """Change an observation, then recompute every link, the seal and the head as the software would."""
    url, ids = victim
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            drop_append_only_guard(conn)
            sid = ids["session"]
            rows = conn.execute(text("SELECT * FROM entries WHERE session_id = :s ORDER BY seq"), {"s": sid})
            entries = [dict(r._mapping) for r in rows]
            head = conn.execute(text("SELECT header_hash FROM sessions WHERE id = :s"), {"s": sid}).scalar_one()
            prev = head
            for e in entries:
                row = SimpleNamespace(**e)
                for k in ("at", "entered_at"):  # SQLite hands back text, PostgreSQL aware datetimes
                    v = datetime.fromisoformat(row.__dict__[k]) if isinstance(e[k], str) else e[k]
                    setattr(row, k, v if v.tzinfo else v.replace(tzinfo=UTC))
                if e["id"] == ids["observations"][0]:
                    row.data_json = '{"scale":"MOAA/S","score":1}'
                if e["kind"] == "signature":
                    d = json.loads(row.data_json)
                    d["seal"] = chain.seal(prev, d["signer_id"], d["signer_name"], d["username"], d["meaning"],
                                           d["signed_at"])
                    row.data_json = canonical_json(d)
                row.prev_hash = prev
                row.hash = chain.entry_hash(row, prev)
                conn.execute(text("UPDATE entries SET data_json = :d, prev_hash = :p, hash = :h WHERE id = :i"),
                             {"d": row.data_json, "p": row.prev_hash, "h": row.hash, "i": e["id"]})
                prev = row.hash
            conn.execute(text("UPDATE sessions SET head_hash = :h WHERE id = :s"), {"h": prev, "s": sid})
        # the keyless check names it through the chained audit trail (the signature checks name it too)
        assert any("audit trail recorded at sign-off" in p.detail for p in db.verify(sid).problems)
    finally:
        db.close()
    expect(capsys, url, "changed: the chain up to this signature is not the one the audit trail recorded at "
                        "sign-off")


def test_entries_deleted_from_the_end_and_head_copied(capsys, victim):
    url, ids = victim
    sid = ids["session"]
    attack(url, "DELETE FROM entries WHERE session_id = :s AND kind IN ('signature', 'checkpoint') "
                "AND seq > 5",
           "UPDATE sessions SET head_seq = (SELECT max(seq) FROM entries WHERE session_id = :s), "
           "head_hash = (SELECT hash FROM entries WHERE session_id = :s AND seq = "
           "(SELECT max(seq) FROM entries WHERE session_id = :s)) WHERE id = :s", s=sid)
    expect(capsys, url, "the session is marked signed but its chain does not end in a signature",
           "the audit trail recorded at sign-off")


def test_an_entry_slipped_in_after_the_signature(capsys, victim):
    url, ids = victim
    sid = ids["session"]
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            drop_append_only_guard(conn)
            conn.execute(text("UPDATE sessions SET status = 'in_progress', lock_owner = :o WHERE id = :s"),
                         {"s": sid, "o": db.owner})
        db.service(db.authenticate("carla", PASSWORD)).add_entry(sid, "note", {"text": "added later"})
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE sessions SET status = 'signed' WHERE id = :s"), {"s": sid})
    finally:
        db.close()
    expect(capsys, url, "inserted: a note entry after the session was signed")


def test_a_whole_session_deleted(capsys, victim):
    url, ids = victim
    sid = ids["session"]
    attack(url, *(f"DELETE FROM {t} WHERE session_id = :s" for t in
                  ("entries", "vital_numerics", "vital_numeric_blocks", "vital_waves", "vital_events",
                   "raw_captures")),
           "DELETE FROM sessions WHERE id = :s", s=sid)
    expect(capsys, url, f"session {sid}: missing: the session is gone: the audit trail records its start")
    code, out = verify(capsys, url, str(sid))
    assert code == 1 and "the session is gone" in out


def test_a_dropped_trigger_is_named_not_restored(capsys, victim, backend):
    url, _ = victim
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER vital_numerics_no_update" if backend == "sqlite"
                                 else "DROP TRIGGER vital_numerics_append_only ON vital_numerics")
    finally:
        db.close()
    name = "vital_numerics_no_update" if backend == "sqlite" else "vital_numerics_append_only"
    out = expect(capsys, url, f"table vital_numerics: unprotected: the database guard {name}",
                 "is missing (dropped)")
    assert out.count("unprotected") == 1
    expect(capsys, url, name)  # verify reported it and did not quietly put it back


def test_a_disabled_postgresql_trigger_is_named(capsys, victim, backend):
    if backend != "postgresql":
        pytest.skip("SQLite triggers cannot be disabled, only dropped")
    url, _ = victim
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE patients DISABLE TRIGGER patients_append_only")
    finally:
        db.close()
    expect(capsys, url, "the database guard patients_append_only", "is disabled")


def test_damaged_file_pages_are_named_findings(capsys, victim, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("damaged pages are a property of the SQLite file")
    url, _ = victim
    path = Path(url.removeprefix("sqlite:///"))
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(len(data) // 2, len(data) // 2 + 4 * page, 97):
        data[offset] = (data[offset] + 0x5A) % 256
    path.write_bytes(bytes(data))
    code, out = verify(capsys, url)
    assert code == 1 and "damaged" in out and "file: damaged" in out, out


@pytest.mark.parametrize("damage", ["truncated", "schema page", "every other page"])
def test_other_damage_is_a_named_finding_never_a_traceback(capsys, sqlite_template, tmp_path, damage):
    path = tmp_path / "record.sqlite3"
    shutil.copy(sqlite_template[0], path)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) * 6 // 10]
    elif damage == "schema page":
        data[100:4096] = bytes(3996)  # the first page after the 100-byte header: the schema table
    else:
        for page in range(2, len(data) // 4096, 2):
            data[page * 4096 + 8: page * 4096 + 40] = b"\xff" * 32
    path.write_bytes(bytes(data))
    code, out = verify(capsys, f"sqlite:///{path}")
    assert code == 1 and "damaged" in out, out


def test_verify_never_creates_or_crashes_on_bad_input(capsys, tmp_path):
    missing = tmp_path / "no such folder" / "record.sqlite3"
    code, out = verify(capsys, str(missing))
    assert code == 2 and out.count("\n") == 1 and "does not exist" in out
    assert not missing.parent.exists()
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n", encoding="utf-8")
    code, out = verify(capsys, str(junk))
    assert code == 2 and out.count("\n") == 1 and "not a Chairside record" in out
    assert junk.read_text(encoding="utf-8") == "not a database\n"
    code, out = verify(capsys, str(junk), "99999999999999999999999")
    assert code == 2 and out.count("\n") == 1 and "out of range" in out
    code, out = verify(capsys, str(junk), "seven")
    assert code == 2 and "not a whole number" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
