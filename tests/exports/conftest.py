"""Fixtures of the export tests: a database with one recorded session (see :mod:`.session_factory`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.record import Database, open_database
from tests.exports.session_factory import Built, build_session




@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'record.sqlite3'}")
    yield database
    database.close()


@pytest.fixture
def built(db: Database) -> Built:
    """A signed, amended 6-minute IV ketamine session with waves."""
    return build_session(db)
