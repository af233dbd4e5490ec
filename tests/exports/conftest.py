"""Fixtures of the export tests: a database with one recorded session (see :mod:`.session_factory`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.record import Database, open_database, passwords
from tests.exports.session_factory import Built, build_session


@pytest.fixture(autouse=True, scope="session")
def _fast_hashing() -> Iterator[None]:
    """Cheap argon2 parameters (the export tests sign sessions)."""
    passwords.use_fast_hashing(True)
    os.environ["CHAIRSIDE_FAST_HASH"] = "1"
    yield
    passwords.use_fast_hashing(False)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'record.sqlite3'}")
    yield database
    database.close()


@pytest.fixture
def built(db: Database) -> Built:
    """A signed, amended 6-minute IV ketamine session with waves."""
    return build_session(db)
