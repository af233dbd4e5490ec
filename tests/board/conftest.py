"""Board tests run on SQLite and on the real PostgreSQL that .ci/start-postgres starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.record.conftest import _drop_pg_database, _new_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def board_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty record on each backend."""
    from console.record import open_database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
        open_database(url).close()
        yield url
        return
    url, name = _new_pg_database()
    open_database(url).close()
    yield url
    _drop_pg_database(name)


@pytest.fixture
def pg_board_url() -> Iterator[str]:
    from console.record import open_database

    url, name = _new_pg_database()
    open_database(url).close()
    yield url
    _drop_pg_database(name)
