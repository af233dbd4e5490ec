"""Central board at clinic scale: 16 chairs publishing once a second to one PostgreSQL.

Run from the project root: ``python -m benchmarks --only board`` (needs ``CHAIRSIDE_TEST_PG_URL``, e.g. from
``eval "$(bash .ci/start-postgres)"``; without it the rows say so).

* The 16 chairs are :class:`StatusPublisher` threads in a child process (one second apart, the real interval),
  each status stamped with its wall-clock publish time.
* The board side is this process: a :class:`BoardListener` on ``LISTEN chairside_board`` and, on each wake-up,
  one read of every chair, exactly as the board's reader thread does. Chair-to-board latency is the time from
  a chair's publish stamp to the end of the read that first shows it (same machine, same clock).
* Board CPU is this process's CPU time over the run; PostgreSQL CPU is the CPU time of the cluster's processes
  (postmaster and children, found from ``CHAIRSIDE_TEST_PG_DATA``); bytes per chair-hour are the WAL bytes
  PostgreSQL wrote for the status rows (``pg_current_wal_lsn`` before and after), scaled to one chair and hour.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Row, percentile, row

BENCH = "board"
CHAIRS = 16


def _publishers(url: str, chairs: int, seconds: float) -> None:
    """Child process: ``chairs`` publishers for ``seconds`` (each status carries its publish time)."""
    from console.board import AlarmStatus, ChairStatus, NumericStatus, Phase
    from console.board.publisher import StatusPublisher
    from console.record.engine import make_engine
    from devices import mdc

    engine = make_engine(url)

    def snapshot_for(chair: str):  # type: ignore[no-untyped-def]
        def snap() -> ChairStatus:
            return ChairStatus(chair=chair, phase=Phase.INFUSING, phase_detail="minute 12 of 40",
                               patient=f"PT-{chair}", protocol="iv-ketamine-0.5", session_id=int(chair),
                               numerics={mdc.HEART_RATE: NumericStatus(80.0, "/min", 0.5),
                                         mdc.SPO2: NumericStatus(97.0, "%", 0.5),
                                         mdc.NIBP_SYS: NumericStatus(150.0, "mmHg", 60.0),
                                         mdc.NIBP_DIA: NumericStatus(90.0, "mmHg", 60.0),
                                         mdc.RESP_RATE: NumericStatus(14.0, "/min", 1.0)},
                               alarms=(AlarmStatus("medium", mdc.HEART_RATE, "HR 124 > 120 /min"),),
                               next_check="MOAA/S at 15 min", devices={"monitor": "connected"},
                               published_at=time.time())
        return snap

    pubs = []
    for i in range(chairs):
        pubs.append(StatusPublisher(engine, snapshot_for(str(i + 1))).start())
        time.sleep(1.0 / chairs)  # spread the chairs over the second, as independent chairs are
    time.sleep(seconds)
    for p in pubs:
        p.close()
    engine.dispose()


def _pg_cpu(data_dir: str | None) -> float:
    """CPU seconds so far of the PostgreSQL cluster in ``data_dir`` (postmaster and its children)."""
    import psutil

    if not data_dir:
        return float("nan")
    try:
        pid_file = next(p for p in (Path(data_dir) / "postmaster.pid", Path(data_dir) / "data" / "postmaster.pid")
                        if p.is_file())  # .ci/start-postgres keeps the cluster in DIR/data
        pid = int(pid_file.read_text().splitlines()[0])
        master = psutil.Process(pid)
        total = 0.0
        for proc in [master, *master.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                continue
        return total
    except (OSError, ValueError, StopIteration, psutil.Error):
        return float("nan")


def _window_cpu(seconds: float) -> float:
    """% of one core the board window costs with 16 tiles, a third of them flashing (offscreen Qt)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from console.board import AlarmStatus, ChairStatus, NumericStatus, Phase
    from console.board.board import board_snapshot
    from console.board.reader import BoardView
    from console.board.store import StoredStatus
    from console.board_window import CentralBoardWindow
    from devices import mdc
    from widgets.alarm_audio import AlarmAudio

    class Silent:  # the board's sound is not what is measured
        available, description = True, "bench"

        def play(self, pcm: bytes, rate: int) -> bool:
            return True

        def stop(self) -> None: ...

        def close(self) -> None: ...

    rows = []
    for i in range(CHAIRS):
        alarms = (AlarmStatus("high" if i % 2 else "medium", mdc.NIBP_SYS, "NBP sys 186 ≥ 180 mmHg"),) \
            if i % 3 == 0 else ()
        status = ChairStatus(chair=str(i + 1), phase=Phase.INFUSING, patient=f"PT-{i}", alarms=alarms,
                             numerics={mdc.HEART_RATE: NumericStatus(80.0, "/min", 0.5)})
        rows.append(StoredStatus(str(i + 1), status, None, 1000.0, 1))

    class Reader:
        def snapshot(self) -> BoardView:
            return BoardView(board_snapshot(1000.5, rows), 0.0, None, True)

    app = QApplication.instance() or QApplication([])
    window = CentralBoardWindow(Reader(), audio=AlarmAudio(output=Silent()))  # type: ignore[arg-type]
    window.resize(1920, 1080)
    window.show()

    def spin(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    spin(1000)
    cpu0, t0 = time.process_time(), time.monotonic()
    spin(int(seconds * 1000))
    used = 100 * (time.process_time() - cpu0) / (time.monotonic() - t0)
    window.shutdown()
    window.close()
    del app
    return used


def run(quick: bool) -> list[Row]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from console.board.listener import BoardListener
    from console.board.store import read_all
    from console.record import open_database

    admin = os.environ.get("CHAIRSIDE_TEST_PG_URL")
    if not admin:
        return [Row(BENCH, "skipped", float("nan"), note="CHAIRSIDE_TEST_PG_URL not set (.ci/start-postgres)")]
    seconds = 15.0 if quick else 60.0
    name = f"chairside_bench_{uuid.uuid4().hex[:8]}"
    root = create_engine(admin, isolation_level="AUTOCOMMIT")
    with root.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        db = open_database(url)
        listener = BoardListener(url).start()
        deadline = time.monotonic() + 10
        while not listener.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        with db.engine.connect() as conn:
            wal0 = int(conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one())
        pg0 = _pg_cpu(os.environ.get("CHAIRSIDE_TEST_PG_DATA"))
        cpu0, wall0 = time.process_time(), time.monotonic()
        code = f"from benchmarks.bench_board import _publishers; _publishers({url!r}, {CHAIRS}, {seconds})"
        child = subprocess.Popen([sys.executable, "-c", code],
                                 env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
        seen: dict[str, int] = {}
        latencies: list[float] = []
        reads = 0
        while child.poll() is None:
            listener.wait_for_change(1.0)
            _, rows = read_all(db.engine)
            done = time.time()
            reads += 1
            for r in rows:
                if r.status is not None and r.seq != seen.get(r.chair):
                    seen[r.chair] = r.seq
                    latencies.append(done - r.status.published_at)
        child.wait()
        board_cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        pg_cpu = _pg_cpu(os.environ.get("CHAIRSIDE_TEST_PG_DATA")) - pg0
        with db.engine.connect() as conn:
            wal1 = int(conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one())
            publications = int(conn.execute(text("SELECT coalesce(sum(seq), 0) FROM chair_status")).scalar_one())
        listener.close()
        db.close()
    finally:
        with root.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        root.dispose()
    chair_hours = CHAIRS * wall / 3600.0
    note = f"{CHAIRS} chairs, {wall:.0f} s, {publications} publications, {reads} board reads"
    window = _window_cpu(5.0 if quick else 20.0)
    return [
        row(BENCH, "chair-to-board latency p50", percentile(latencies, 50) * 1000, "ms", note=note),
        row(BENCH, "chair-to-board latency p99", percentile(latencies, 99) * 1000, "ms", at_most=2000),
        row(BENCH, "board CPU (reader + listener)", 100 * board_cpu / wall, "% of one core", at_most=20),
        row(BENCH, "PostgreSQL CPU", 100 * pg_cpu / wall, "% of one core"),
        row(BENCH, "board window CPU (16 tiles, 1/3 flashing)", window, "% of one core", at_most=20,
            note="offscreen; reader and window together stay under the target"),
        row(BENCH, "WAL bytes per chair-hour", (wal1 - wal0) / chair_hours / 1e6, "MB",
            note="cluster-wide WAL: run on an otherwise idle server"),
    ]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))
