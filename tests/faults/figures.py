"""Measure the fault suite's figures and write them to docs/faults.md.

Run from the project root: ``/work/venv/bin/python -m tests.faults.figures [--trials 20] [--no-write]``
(with ``CHAIRSIDE_TEST_PG_URL`` set, the kill trials also run on PostgreSQL, and the stopped-server test runs
when the server is the ``.ci/start-postgres`` cluster). It runs:

* the SIGKILL trials of :mod:`tests.faults.killing` (trials, faults survived, entries confirmed and lost);
* the corrupt-stream trials of ``test_corrupt_streams.py`` per driver and corruption (how many recovered
  within one frame);
* one vanished-port cycle per protocol and transport (seconds from the port's return to the reconnection);
* the storage, tampering and port-loss tests through pytest, for their pass/xfail/skip counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CHAIRSIDE_FAST_HASH", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMMAND = "/work/venv/bin/python -m tests.faults.figures"


def kill_section(trials: int) -> list[str]:
    from tests.faults.killing import run_kill_trials

    def progress(n: int, result) -> None:
        print(f"  kill trial {n}: {'ok' if result.survived else result.problems}", file=sys.stderr)

    runs = []
    with tempfile.TemporaryDirectory(prefix="chairside-faults-") as tmp:
        runs.append(run_kill_trials(f"sqlite:///{Path(tmp) / 'kill.sqlite3'}", trials, progress=progress))
    if os.environ.get("CHAIRSIDE_TEST_PG_URL"):
        from tests.record.conftest import _drop_pg_database, _new_pg_database

        url, name = _new_pg_database()
        try:
            runs.append(run_kill_trials(url, max(5, trials // 4), backend="postgresql", progress=progress))
        finally:
            _drop_pg_database(name)
    lines = ["| backend | trials | faults survived | entries confirmed (written + kept) | entries lost | "
             "kill delay after session start | trials with vitals on disk |",
             "|---|---|---|---|---|---|---|"]
    for f in runs:
        delays = [t.delay for t in f.trials]
        lines.append(f"| {f.backend} | {len(f.trials)} | {f.survived} | {f.confirmed} "
                     f"({sum(t.confirmed for t in f.trials)} + {sum(t.kept for t in f.trials)}) | {f.lost} | "
                     f"{min(delays):.2f}-{max(delays):.2f} s (seed {f.seed}) | "
                     f"{sum(t.vitals_rows > 0 for t in f.trials)} |")
    problems = [p for f in runs for p in f.problems]
    if problems:
        lines += ["", "Problems found:", ""] + [f"- {p}" for p in problems]
    if not os.environ.get("CHAIRSIDE_TEST_PG_URL"):
        lines += ["", "PostgreSQL: not run (CHAIRSIDE_TEST_PG_URL not set)."]
    return lines


def corrupt_section() -> list[str]:
    from tests.faults import test_corrupt_streams as cs

    lines = ["| driver | corruption | trials | next frame decoded | later frames all decoded |",
             "|---|---|---|---|---|"]
    for protocol in cs.PROTOCOLS:
        chunks = cs.record_stream(protocol)
        clean, _ = cs.replay(protocol, chunks)
        with_frames = [i for i, n in enumerate(clean) if n > 0]
        for corruption, make in cs.CORRUPTIONS.items():
            rng = random.Random(f"{protocol}-{corruption}")
            next_ok = later_ok = 0
            for _ in range(cs.TRIALS):
                at = rng.choice(with_frames[2:-1])
                following = next(i for i in with_frames if i > at)
                decoded, _ = cs.replay(protocol, chunks, at, make(rng))
                next_ok += decoded[following] == clean[following]
                later_ok += decoded[following + 1:] == clean[following + 1:]
            lines.append(f"| {protocol} | {corruption} | {cs.TRIALS} | {next_ok} | {later_ok} |")
    return lines


def reconnect_section(tmp: Path) -> list[str]:
    from devices.model import LinkEvent, LinkState, WaveBlock
    from tests.devices.test_e2e_links import PROTOCOLS, TRANSPORTS, Rig, has_spo2, states

    lines = ["| driver | transport | reconnected after the port returned | first wave blocks marked gap |",
             "|---|---|---|---|"]
    for protocol in PROTOCOLS:
        for transport in TRANSPORTS:
            with Rig(protocol, transport, tmp) as rig:
                rig.wait_for(has_spo2(2))
                rig.server.vanish()
                gone = rig.mark()
                rig.wait_for(lambda s: LinkState.LOST in states(s[gone:]))
                time.sleep(1.0)
                rig.server.restore()
                returned = time.time()
                back = rig.mark()
                rig.wait_for(has_spo2(2, back))
            after = rig.since(back)
            connected = [e for e in after if isinstance(e, LinkEvent) and e.state is LinkState.CONNECTED]
            took = f"{connected[0].host_time - returned:.2f} s" if connected else "never"
            first: dict[int, bool] = {}
            for s in after:
                if isinstance(s, WaveBlock):
                    first.setdefault(s.mdc, s.gap)
            gaps = ("no waves" if not first else f"{sum(first.values())}/{len(first)} channels")
            lines.append(f"| {protocol} | {transport} | {took} | {gaps} |")
    return lines


def pytest_section() -> list[str]:
    modules = ["tests/faults/test_storage.py", "tests/faults/test_tamper.py",
               "tests/faults/test_port_loss.py", "tests/faults/test_corrupt_streams.py"]
    lines = ["| module | result |", "|---|---|"]
    for module in modules:
        done = subprocess.run([sys.executable, "-m", "pytest", module, "-q", "-p", "no:cacheprovider"],
                              cwd=PROJECT_ROOT, capture_output=True, text=True)
        summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1].strip("= ")
        lines.append(f"| `{module}` | {summary} |")
    return lines


TEMPLATE = """\
# Fault injection

{header}

The fault suite is ordinary pytest tests marked `faults`: run them alone with `QT_QPA_PLATFORM=offscreen
/work/venv/bin/python -m pytest -m faults` (after `eval "$(.ci/start-postgres)"` for the PostgreSQL
variants). Besides `tests/faults/`, the marker also selects `tests/record/test_crash.py` and
`tests/record/test_outbox.py`. This page is rewritten by the command above.

## Console killed (SIGKILL) at random moments

A child process records a session as the console does: clinical entries through `EntryOutbox.add_entry` (the
UI's path) and a `VitalsRecorder` storing the simulator's numerics and waves. It prints each entry's id once
the call returned (written), or its client id once the outbox kept it: that is when the UI tells the
clinician the entry is safe. In every other SQLite trial another program takes the database's lock now and
then and the console waits only 20 ms for it, so some entries go through the outbox journal. The child is
killed with SIGKILL at a seeded random moment; then the database is opened as the next console would. A
trial survives when every printed entry is in the record in order (kept ones once the session is resumed and
the journal replayed), `verify` finds the chain intact, `PRAGMA integrity_check` says ok (SQLite) and the
session shows as interrupted and resumes. (`tests/faults/test_kill.py`, `tests/faults/killing.py`,
`tests/faults/session_child.py`)

{kill}

## Corrupt bytes through every driver

A clean stream is recorded from each protocol's emulator answering its driver; it is replayed into fresh
drivers with one chunk corrupted: random garbage (1-300 bytes) before it, the chunk cut short, or one bit
flipped. No driver may raise, and the next chunk carrying frames must decode exactly as in the clean replay
(resynchronised within one frame). Also tested: 64 KiB of noise, then the real stream.
(`tests/faults/test_corrupt_streams.py`)

{corrupt}

A Masimo ASCII 1 line cut short runs into the next line (the format has no start marker); the suite found that
this lost the next, complete line too, and `parse_line` now tries every clock in the line.

## Serial port vanishes and returns

The emulator's pty is closed / its TCP listener stopped for a second, then restored, while `DeviceLink`
reads it in a thread and an `AlarmEngine` gets every batch: the technical "disconnected" alarm must be
raised while the port is away and end when the link is back, the link must reconnect within 5 s of the
port's return, and the first wave block of each channel after it must carry `gap=True`.
(`tests/faults/test_port_loss.py`)

{reconnect}

## Storage unavailable

(`tests/faults/test_storage.py`)

- SQLite locked by another process (a child holding `BEGIN EXCLUSIVE`): `add_entry` fails with "The record
  database is busy: another program holds it locked. Nothing was lost..."; the outbox keeps the entries (and
  journals them), the vitals recorder holds its rows; after the lock is released everything is written once,
  in order, and the chain verifies.
- A real full filesystem (a 3 MiB tmpfs mounted by the test; root only, skipped with the reason otherwise):
  "The disk holding the record database is full. Nothing was lost..."; the recorder keeps its rows and
  writes them when space is freed; the outbox keeps the entries and writes them once space is back (the
  suite found that its journal, on the same full disk, made `add_entry` raise a bare `OSError` and lose the
  entry; it now keeps the entry in memory first and says that only memory holds it).
- PostgreSQL server stopped mid-session (`pg_ctl stop -m fast` on the `.ci/start-postgres` cluster, then
  started again with its own options from `postmaster.opts`): "The record database server cannot be
  reached..."; entries kept and vitals held, all written after the restart. Skipped with the reason without
  `CHAIRSIDE_TEST_PG_URL` and `CHAIRSIDE_TEST_PG_DATA`.

## Tampering

One session holds an entry of every kind the record knows (`ENTRY_KINDS`: clinical entries, an interruption
and resumption, an amendment, a signature). For each kind a copy of the database is edited with plain SQL
(after dropping the append-only triggers, as a determined editor would): the entry's data changed, the entry
deleted, or the entry swapped with its neighbour. `verify` must report `changed` at that entry, `missing` at
the entry after the hole (or "deleted from the end"), or `reordered`. (`tests/faults/test_tamper.py`)

## Test results in this run

{tests}
"""


def render(header: str, kill: list[str], corrupt: list[str], reconnect: list[str], tests: list[str]) -> str:
    """docs/faults.md: what each fault is, how it is injected, what must hold, and the measured figures."""
    return TEMPLATE.format(header=header, kill="\n".join(kill), corrupt="\n".join(corrupt),
                           reconnect="\n".join(reconnect), tests="\n".join(tests))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="SIGKILL trials on SQLite (default 20)")
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "faults.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    start = time.monotonic()
    print("kill trials ...", file=sys.stderr)
    kill = kill_section(args.trials)
    print("corrupt streams ...", file=sys.stderr)
    corrupt = corrupt_section()
    print("vanishing ports ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="chairside-links-") as tmp:
        reconnect = reconnect_section(Path(tmp))
    print("storage, tampering, port-loss and stream tests ...", file=sys.stderr)
    tests = pytest_section()
    took = time.monotonic() - start

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"Written by `{COMMAND}{'' if args.trials == 20 else f' --trials {args.trials}'}` on {now} "
              f"(Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
              f"{os.cpu_count()} CPU(s); {took:.0f} s).")
    text = render(header, kill, corrupt, reconnect, tests)
    print(text)
    if not args.no_write:
        args.output.write_text(text, encoding="utf-8")
        print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
