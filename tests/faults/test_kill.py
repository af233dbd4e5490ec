"""A recording console killed with SIGKILL at random moments, over and over: nothing it confirmed is lost.

See :mod:`tests.faults.killing` for one trial. ``python -m tests.faults.figures`` runs the same trials and
writes the figures to docs/faults.md. (``tests/record/test_crash.py`` kills once after a fixed number of
entries; these trials kill at seeded random moments, with entries going through the outbox as in the UI.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.killing import run_kill_trials

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.timeout(240)]

SQLITE_TRIALS = 20
POSTGRES_TRIALS = 5


def test_sigkill_at_random_moments_loses_nothing_confirmed(tmp_path: Path) -> None:
    figures = run_kill_trials(f"sqlite:///{tmp_path / 'kill.sqlite3'}", trials=SQLITE_TRIALS)
    assert figures.problems == []
    assert figures.survived == SQLITE_TRIALS and figures.lost == 0
    # the trials did record: entries confirmed before the kills, vitals on disk
    assert figures.confirmed >= SQLITE_TRIALS
    assert sum(t.vitals_rows > 0 for t in figures.trials) >= SQLITE_TRIALS // 2


@pytest.fixture
def pg_database() -> Iterator[str]:
    from tests.record.conftest import _drop_pg_database, _new_pg_database

    url, name = _new_pg_database()  # skips with the reason when CHAIRSIDE_TEST_PG_URL is not set
    yield url
    _drop_pg_database(name)


@pytest.mark.postgres
def test_sigkill_on_postgresql_loses_nothing_confirmed(pg_database: str) -> None:
    figures = run_kill_trials(pg_database, trials=POSTGRES_TRIALS, backend="postgresql")
    assert figures.problems == []
    assert figures.survived == POSTGRES_TRIALS and figures.lost == 0
