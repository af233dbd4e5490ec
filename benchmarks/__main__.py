"""``python -m benchmarks [--quick]``: run every benchmark, print one table, write docs/benchmarks.md.

Every ``benchmarks/bench_*.py`` module exposing ``run(quick: bool) -> list[Row]`` (see :mod:`benchmarks.common`)
is run in its own child process, one after the other (the machine is shared: never in parallel). A module that
crashes or times out gets a failure row; a module without ``run`` is listed as skipped.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from benchmarks.common import Row, table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARKER = "@@CHAIRSIDE-BENCH-ROWS@@"


def discover() -> list[str]:
    """Names of the benchmark modules (``bench_monitor``, ...), sorted."""
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def has_run(name: str) -> bool:
    """True when the module defines a top-level ``run`` function (checked without importing it)."""
    tree = ast.parse((HERE / f"{name}.py").read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in tree.body)


def run_child(name: str, quick: bool, timeout: float) -> tuple[list[Row], float]:
    """Run one module in a child process; returns its rows (or one failure row) and the seconds it took."""
    cmd = [sys.executable, "-m", "benchmarks", "--child", name] + (["--quick"] if quick else [])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    start = time.monotonic()
    short = name.removeprefix("bench_")
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return [Row(short, "failed", float("nan"), note=f"timed out after {timeout:.0f} s")], timeout
    took = time.monotonic() - start
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return [Row.from_dict(d) for d in json.loads(line[len(MARKER):])], took
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return [Row(short, "failed", float("nan"), note=f"exit {proc.returncode}: {tail[:160]}")], took


def child(name: str, quick: bool) -> int:
    """Inside the child: import the module, run it, print the rows after the marker."""
    import importlib

    module = importlib.import_module(f"benchmarks.{name}")
    try:
        rows = module.run(quick)
    except Exception:  # noqa: BLE001 (any failure becomes a 'failed' row; the parent reports it)
        traceback.print_exc()
        return 1
    print(MARKER + json.dumps([r.as_dict() for r in rows]), flush=True)
    return 0


def markdown(rows: list[Row], skipped: list[str], quick: bool, took: dict[str, float]) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = os.cpu_count()
    lines = [
        "# Benchmarks",
        "",
        (f"Written by `python -m benchmarks{' --quick' if quick else ''}` on {now}: Python "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}, {cpu} CPU(s), Qt platform "
        f"`{os.environ.get('QT_QPA_PLATFORM') or ('xcb' if os.environ.get('DISPLAY') else 'offscreen')}`. "
        "The machine is shared, so figures vary between runs; each module's docstring says how it measures."),
        "",
        table(rows, markdown=True),
        "",
        "Run time per module: " + ", ".join(f"{n} {s:.0f} s" for n, s in took.items()) + ".",
    ]
    if skipped:
        lines += ["", "Skipped (no `run(quick)` function yet): " + ", ".join(f"`{s}.py`" for s in skipped) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (well under a minute per module)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these modules (e.g. monitor)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md",
                        help="Markdown file to write (default docs/benchmarks.md)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per module")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.quick)

    names = discover()
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"no such benchmark: {', '.join(sorted(unknown))}; have: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    rows: list[Row] = []
    skipped: list[str] = []
    took: dict[str, float] = {}
    for name in names:
        if not has_run(name):
            skipped.append(name)
            continue
        print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        got, seconds = run_child(name, args.quick, args.timeout)
        rows += got
        took[name.removeprefix("bench_")] = seconds
    print(table(rows))
    if skipped:
        print("skipped (no run(quick)): " + ", ".join(skipped))
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(markdown(rows, skipped, args.quick, took), encoding="utf-8")
        print(f"written to {args.output}")
    return 1 if any(r.metric == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
