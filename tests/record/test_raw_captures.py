"""console.record.raw_captures: a technician's raw-byte recording goes into the record and reads back exactly,
read by read with its host times, and replays with zero bad frames; only technicians and admins may start
one (audited), everyone may read it; a locked database delays the chunks but loses none; an old record
upgrades to the table. (Backend-independent logic: runs on SQLite.)"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from console.record import NotFound, PermissionDenied, Role, open_database
from console.record import models as m
from console.record.engine import make_engine
from console.record.raw_captures import (
    RawCaptureWriter,
    decode_chunk,
    encode_chunk,
    list_captures,
    raw_capture_replay,
    read_raw_capture,
    start_raw_capture,
)
from console.record.schema import _upgrade
from devices import registry
from devices.acquisition import DeviceLink
from devices.emulation import EmulationServer, TcpEndpoint
from devices.simulator import Simulator
from tests.record.conftest import make_user

pytestmark = pytest.mark.timeout(60)
T0 = 1_764_084_802.125


@pytest.fixture
def world(sqlite_url):
    """One user per role and a session opened by the clinician."""
    db = open_database(sqlite_url)
    users = {r.value: make_user(db, f"user_{r.value}", r.value) for r in Role}
    clin = db.service(users["clinician"])
    patient = clin.create_patient("PT-RAW")
    session = clin.start_session(patient.id, "iv-ketamine-0.5", "3", "chair 1", devices=["intellivue"])
    yield db, users, session
    db.close()


def chunk_rows(db) -> list[m.RawCapture]:
    from sqlalchemy.orm import Session

    with Session(db.engine) as s:
        return list(s.scalars(select(m.RawCapture).order_by(m.RawCapture.t0, m.RawCapture.id)))


def test_chunk_encoding_round_trips_every_read_and_time() -> None:
    reads = [(T0, b"\xc0\x01"), (T0 + 0.0123456789, b""), (T0 + 0.5, bytes(range(256)) * 3)]
    data, index = encode_chunk(reads)
    assert decode_chunk(1, 3, 2 + 768, index, data) == reads
    with pytest.raises(ValueError, match="damaged"):
        decode_chunk(1, 3, 2 + 768, index, data[:-3])
    with pytest.raises(ValueError, match="expected"):
        decode_chunk(1, 4, 2 + 768, index, data)
    with pytest.raises(ValueError, match="codec"):
        decode_chunk(9, 3, 2 + 768, index, data)


def record_live_intellivue(db, service, session_id, seconds: float = 2.5):
    """Record a real IntelliVue emulator link over socket:// loopback for a few seconds of host time; returns
    the writer's final status, the link, and every (direction, time, bytes) the link's own tap saw."""
    server = EmulationServer(registry.get("intellivue").make_emulator(Simulator("stable", seed=0)),
                             TcpEndpoint(), name="intellivue").start()
    seen: list[tuple[str, float, bytes]] = []
    seen_lock = threading.Lock()

    def witness(direction: str, now: float, data: bytes) -> None:
        with seen_lock:
            seen.append((direction, now, bytes(data)))

    link = DeviceLink(registry.get("intellivue").driver(source="bed 1"), server.url, name="bed 1",
                      tap=witness)
    writer = start_raw_capture(service, device=link.name, protocol="intellivue", session_id=session_id,
                               link=link, flush_interval=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=link.run, args=(stop,), daemon=True)
    thread.start()
    try:
        pause = threading.Event()
        for _ in range(400):  # until a few seconds of waves have been read (several one-second chunks)
            with seen_lock:
                ins = [s for s in seen if s[0] == "in"]
            if len(ins) > 20 and ins[-1][1] - ins[0][1] > seconds:
                break
            pause.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
        server.stop()
    status = writer.close()
    assert link.tap is witness  # the writer let go of the link
    with seen_lock:
        return status, link, list(seen)


def test_live_intellivue_link_recorded_into_a_session_reads_back_and_replays(world) -> None:
    db, users, session = world
    status, link, seen = record_live_intellivue(db, db.service(users["technician"]), session.id)

    expected_in = [(t, d) for direction, t, d in seen if direction == "in"]
    expected_out = [(t, d) for direction, t, d in seen if direction == "out"]
    assert read_raw_capture(db, session_id=session.id) == expected_in
    assert read_raw_capture(db, session_id=session.id, direction="out") == expected_out
    total = sum(len(d) for _, d in expected_in + expected_out)
    assert status.bytes_written == total and status.pending_bytes == 0 and status.dropped_bytes == 0

    rows = chunk_rows(db)
    assert {(r.session_id, r.device, r.protocol) for r in rows} == {(session.id, "bed 1", "intellivue")}
    for r in rows:  # chunks of at most about a second and 64 KiB
        assert r.t1 - r.t0 < 1.0 and r.n_bytes <= 64 * 1024
    assert len([r for r in rows if r.direction == "in"]) >= 3
    [info] = list_captures(db, session.id)
    assert (info.device, info.bytes_in + info.bytes_out, info.start) == ("bed 1", total, rows[0].t0)

    # the replay plays exactly the monitor's bytes at their original offsets, and they decode cleanly
    replay = raw_capture_replay(db, session_id=session.id)
    driver = registry.get("intellivue").driver(source="replay")
    start = 5000.0
    played = b""
    for t, chunk in expected_in:
        out = replay.outgoing(start + (t - expected_in[0][0]))
        played += out
        driver.feed(out, t)
    assert replay.finished and played == b"".join(d for _, d in expected_in)
    assert driver.stats.frames_ok > 10 and driver.stats.frames_bad == 0

    trail = [(a.action, a.username, a.after["device"], a.after["session"]) for a in db.audit_trail()
             if a.action.startswith("raw_recording")]
    assert trail == [("raw_recording_start", "user_technician", "bed 1", session.id),
                     ("raw_recording_stop", "user_technician", "bed 1", session.id)]
    stop_row = db.audit_trail("raw_recording_stop")[0]
    assert stop_row.detail == "raw recording stopped" and stop_row.after["bytes_written"] == total


@pytest.mark.parametrize("role", ["clinician", "auditor"])
def test_clinicians_and_auditors_may_not_record_but_may_read(world, role) -> None:
    db, users, session = world
    writer = start_raw_capture(db.service(users["admin"]), device="bed 2", session_id=session.id)
    writer.tap("in", T0, b"abc")
    writer.close()
    with pytest.raises(PermissionDenied) as exc:
        start_raw_capture(db.service(users[role]), device="bed 2", session_id=session.id)
    assert str(exc.value) == (f"A user with the role {role} cannot record the raw bytes of a device; "
                              "only admins or technicians can.")
    assert [a.username for a in db.audit_trail("raw_recording_start")] == ["user_admin"]
    assert len(chunk_rows(db)) == 1
    assert read_raw_capture(db, session_id=session.id) == [(T0, b"abc")]  # reading needs no permission


def test_unknown_session_is_refused_before_anything_is_written(world) -> None:
    db, users, _ = world
    with pytest.raises(NotFound, match="no session with id 999"):
        start_raw_capture(db.service(users["technician"]), device="bed 1", session_id=999)
    assert db.audit_trail("raw_recording_start") == []


def test_recording_with_no_session_open(world) -> None:
    db, users, session = world
    writer = start_raw_capture(db.service(users["technician"]), device="spare", protocol="masimo")
    line = b"11/25/26 15:33:22 SN=1 SPO2=098% BPM=072\r\n"
    writer.tap("in", T0, line[:10])
    writer.tap("in", T0 + 0.01, line[10:])
    writer.tap("out", T0 + 0.02, b"?")
    writer.close()
    [info] = list_captures(db, sessionless=True)
    assert (info.session_id, info.device, info.protocol, info.bytes_in, info.bytes_out) == (
        None, "spare", "masimo", len(line), 1)
    assert list_captures(db, session.id) == []
    assert read_raw_capture(db, capture=info.capture) == [(T0, line[:10]), (T0 + 0.01, line[10:])]
    replay = raw_capture_replay(db, capture=info.capture)
    assert replay.outgoing(10.0) == line[:10] and replay.outgoing(10.01) == line[10:] and replay.finished
    assert db.audit_trail("raw_recording_start")[0].target == "device spare (no session)"


def test_chunks_are_cut_by_time_and_by_size(world) -> None:
    db, users, session = world
    # no timed flush during the test: only the cut rules decide the chunks
    writer = start_raw_capture(db.service(users["technician"]), device="bed 1", session_id=session.id,
                               flush_interval=60.0)
    big = bytes(range(256)) * 100  # 25.6 kB
    for i in range(5):
        writer.tap("in", T0 + i * 0.01, big)  # 128 kB within 50 ms: cut at 64 KiB
    writer.tap("in", T0 + 1.5, b"later")  # more than a second after the chunk start: a new chunk
    writer.close()
    rows = [(r.n_reads, r.n_bytes) for r in chunk_rows(db)]
    assert rows == [(2, 2 * len(big)), (2, 2 * len(big)), (1, len(big)), (1, 5)]
    assert read_raw_capture(db, session_id=session.id) == [(T0 + i * 0.01, big) for i in range(5)] + [
        (T0 + 1.5, b"later")]


def test_a_locked_database_delays_the_chunks_but_loses_none(sqlite_url, tmp_path: Path) -> None:
    db = open_database(sqlite_url, busy_timeout_ms=50)
    try:
        tech = make_user(db, "tess", "technician")
        writer = start_raw_capture(db.service(tech), device="bed 1", flush_interval=0.05, max_retry_pause=0.1)
        blocker = sqlite3.connect(str(tmp_path / "record.sqlite3"), timeout=0.1)
        blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            for i in range(30):
                writer.tap("in", T0 + i * 0.1, bytes([i]) * 10)
            assert not writer.flush(timeout=2.0)  # cannot be written now
            status = writer.status()
            assert status.pending_bytes == 300 and status.bytes_written == 0
            assert "kept in memory and retried" in status.message and "busy" in status.message
        finally:
            blocker.rollback()
            blocker.close()
        assert writer.flush(timeout=10.0)
        status = writer.close()
        assert (status.bytes_written, status.pending_bytes, status.dropped_bytes) == (300, 0, 0)
        assert status.last_error == ""
        reads = read_raw_capture(db, capture=writer.capture)
        assert reads == [(T0 + i * 0.1, bytes([i]) * 10) for i in range(30)]
    finally:
        db.close()


def test_memory_bound_drops_new_bytes_and_says_so(world) -> None:
    db, users, _ = world
    writer = RawCaptureWriter(db, device="bed 1", max_pending_bytes=100, flush_interval=60.0)
    try:
        writer.tap("in", T0, b"x" * 80)
        writer.tap("in", T0 + 0.1, b"y" * 30)  # would exceed the bound while nothing was written yet
        status = writer.status()
        assert status.dropped_bytes == 30
        assert ("30 bytes dropped because they no longer fit in memory (the recording has holes)"
                in status.message)
    finally:
        writer.close()
    assert read_raw_capture(db, capture=writer.capture) == [(T0, b"x" * 80)]


def test_size_limit_stops_the_recording_not_the_caller(world) -> None:
    db, users, session = world
    writer = start_raw_capture(db.service(users["technician"]), device="bed 1", session_id=session.id,
                               max_bytes=1024 * 1024)
    writer.tap("in", T0, b"a" * (1024 * 1024 - 10))
    writer.tap("in", T0 + 0.1, b"b" * 20)
    assert not writer.recording
    status = writer.close()
    assert "size limit of 1 MB" in status.message and status.bytes_written == 1024 * 1024 - 10


def test_several_devices_need_a_choice(world) -> None:
    db, users, session = world
    tech = db.service(users["technician"])
    for name in ("bed 1", "bed 2"):
        w = start_raw_capture(tech, device=name, session_id=session.id)
        w.tap("in", T0, name.encode())
        w.close()
    with pytest.raises(ValueError, match=r"2 devices \(bed 1, bed 2\): choose one"):
        read_raw_capture(db, session_id=session.id)
    assert read_raw_capture(db, session_id=session.id, device="bed 2") == [(T0, b"bed 2")]
    with pytest.raises(NotFound, match="no raw recording of 'bed 9'"):
        read_raw_capture(db, session_id=session.id, device="bed 9")


def test_a_damaged_chunk_is_skipped_and_reported(world) -> None:
    db, users, session = world
    w = start_raw_capture(db.service(users["technician"]), device="bed 1", session_id=session.id)
    w.tap("in", T0, b"first")
    w.tap("in", T0 + 2.0, b"second")
    w.close()
    with db.write_engine.begin() as conn:
        first_id = conn.scalar(select(func.min(m.RawCapture.id)))
        conn.execute(text("UPDATE raw_captures SET data = :d WHERE id = :i"), {"d": b"junk", "i": first_id})
    problems: list[str] = []
    assert read_raw_capture(db, session_id=session.id, problems=problems) == [(T0 + 2.0, b"second")]
    assert problems and problems[0].startswith(f"chunk {first_id} skipped: damaged")


def test_database_close_closes_an_open_recording(sqlite_url) -> None:
    db = open_database(sqlite_url)
    tech = make_user(db, "tess", "technician")
    writer = start_raw_capture(db.service(tech), device="bed 1")
    writer.tap("in", T0, b"kept")
    db.close()
    assert not writer.alive
    again = open_database(sqlite_url)
    try:
        assert read_raw_capture(again, capture=writer.capture) == [(T0, b"kept")]
        assert [a.action for a in again.audit_trail() if a.action.startswith("raw")] == [
            "raw_recording_start", "raw_recording_stop"]
    finally:
        again.close()


def test_a_0003_database_upgrades_to_hold_raw_captures(sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            _upgrade(conn, "0003")
    finally:
        engine.dispose()
    db = open_database(sqlite_url)
    try:
        schema = db.schema
        assert (schema.action, schema.from_revision, schema.to_revision) == ("upgraded", "0003", "0008")
        tech = make_user(db, "tess", "technician")
        w = start_raw_capture(db.service(tech), device="bed 1")
        w.tap("in", T0, b"after upgrade")
        w.close()
        assert read_raw_capture(db, capture=w.capture) == [(T0, b"after upgrade")]
    finally:
        db.close()


# --- chairside replay --db ---------------------------------------------------------------------------------


@pytest.mark.e2e
def test_chairside_replay_plays_a_session_recording_with_zero_bad_frames(sqlite_url) -> None:
    import subprocess
    import sys

    import serial

    from tests.conftest import PROJECT_ROOT

    db = open_database(sqlite_url)
    try:
        clin = db.service(make_user(db, "carla", "clinician"))
        session = clin.start_session(clin.create_patient("PT-R").id, "iv", "1", "chair 1")
        _, _, seen = record_live_intellivue(db, db.service(make_user(db, "tess", "technician")), session.id,
                                            seconds=1.5)
    finally:
        db.close()
    recorded = b"".join(d for direction, _, d in seen if direction == "in")
    proc = subprocess.Popen([sys.executable, "-m", "console", "replay", "--db", sqlite_url, "--session",
                             str(session.id), "--protocol", "intellivue", "--listen", "socket://127.0.0.1:0",
                             "--speed", "4"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True, env=dict(__import__("os").environ, PYTHONUNBUFFERED="1"))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"Replaying session {session.id} (")
        url = line.strip().rsplit(" on ", 1)[1]
        played = b""
        with serial.serial_for_url(url, timeout=0.2) as port:
            while len(played) < len(recorded):
                chunk = port.read(4096)
                if not chunk and proc.poll() is not None:
                    break
                played += chunk
        out, err = proc.communicate(timeout=20)  # ends by itself once the recording is played
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert played == recorded
    driver = registry.get("intellivue").driver(source="replay")
    driver.feed(played, T0)
    assert driver.stats.frames_ok > 10 and driver.stats.frames_bad == 0


def test_chairside_replay_usage_errors(world, capsys) -> None:
    from console.cli import main

    db, users, session = world
    url = db.url
    base = ["replay", "--protocol", "intellivue", "--listen", "socket://127.0.0.1:0"]
    assert main(base) == 2
    assert "give a capture FILE, or --session N" in capsys.readouterr().err
    assert main([*base, "--db", url, "--session", str(session.id)]) == 2
    assert f"session {session.id} has no raw recording" in capsys.readouterr().err
    tech = db.service(users["technician"])
    for name in ("bed 1", "bed 2"):
        w = start_raw_capture(tech, device=name, session_id=session.id)
        w.tap("in", T0, b"x")
        w.close()
    assert main([*base, "--db", url, "--session", str(session.id)]) == 2
    assert "choose one (--device)" in capsys.readouterr().err
    assert main([*base, "somefile.log", "--db", url]) == 2
    assert "--db and --device go with --session" in capsys.readouterr().err


def test_the_role_is_checked_against_the_database(world) -> None:
    """A clinician's context claiming to be a technician gets nowhere: the role is read from the database."""
    from dataclasses import replace

    db, users, session = world
    forged = replace(users["clinician"], role="technician")
    with pytest.raises(PermissionDenied, match="role clinician cannot record the raw bytes"):
        start_raw_capture(db.service(forged), device="bed 1", session_id=session.id)
    assert db.audit_trail("raw_recording_start") == []
