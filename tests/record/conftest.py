"""Fixtures of the record tests: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``CHAIRSIDE_TEST_PG_URL`` (``eval "$(.ci/start-postgres)"`` starts a throwaway one).
Without it the PostgreSQL variants skip with the reason, except under CI (``CI`` set), where they fail: a CI
run that silently skipped half the storage tests would hide exactly the bugs they exist for. Each test gets
its own fresh PostgreSQL database (created from the given URL, dropped afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from console.record import Database, UserContext, open_database

PG_ENV = "CHAIRSIDE_TEST_PG_URL"
PASSWORD = "correct horse 1"




def pg_admin_url() -> str:
    url = os.environ.get(PG_ENV, "")
    if not url:
        reason = (f"{PG_ENV} is not set: PostgreSQL tests need a server "
                  '(run eval "$(.ci/start-postgres)" first)')
        if os.environ.get("CI"):
            pytest.fail(reason + "; under CI they must run, not skip")
        pytest.skip(reason)
    return url


def _new_pg_database() -> tuple[str, str]:
    admin = pg_admin_url()
    name = f"chairside_t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(name: str) -> None:
    engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database on the parametrised backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'record.sqlite3'}"
        return
    url, name = _new_pg_database()
    yield url
    _drop_pg_database(name)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (for the tests that only make sense there)."""
    url, name = _new_pg_database()
    yield url
    _drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'record.sqlite3'}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


def make_user(db: Database, username: str, role: str, full_name: str | None = None) -> UserContext:
    """Create a user through the admin path and log in as them."""
    db.service(db.system_user("test-setup")).add_user(username, full_name or username.title(), role, PASSWORD)
    return db.authenticate(username, PASSWORD)


@pytest.fixture
def clinician(db: Database) -> UserContext:
    return make_user(db, "carla", "clinician", "Carla Clinician")


@pytest.fixture
def svc(db: Database, clinician: UserContext):
    return db.service(clinician)


@pytest.fixture
def session(svc):
    """A started session with a patient, as a clinician at chair 1 would open it."""
    patient = svc.create_patient("PT-001", name="Pat Example", weight_kg=72.5)
    return svc.start_session(patient.id, "iv-ketamine-0.5", "3", "chair 1", devices=["simulator"],
                             details={"dose_mg_per_kg": 0.5, "weight_kg": 72.5, "dose_mg": 36.25})


def drop_append_only_guard(conn) -> None:
    """Remove every append-only trigger of the record (entries, sessions, users, patients, audit trail,
    vitals, waves, events, raw captures), as someone with full SQL access could, so a test can tamper with
    any table and show that verify still catches it (and names the removed guards)."""
    from console.record import protection

    protection.drop(conn)
