"""Opening a database: fresh → head, older → upgraded (SQLite: backup first), newer/foreign → refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from console.record import NotAChairsideDatabase, SchemaTooNew, open_database
from console.record.engine import make_engine
from console.record.models import Base
from console.record.schema import _upgrade, head_revision


def test_fresh_database_is_created_at_head(db_url):
    db = open_database(db_url)
    try:
        assert db.schema.action == "created" and db.schema.to_revision == head_revision() == "0008"
        names = set(inspect(db.engine).get_table_names())
        assert {"users", "audit_log", "patients", "sessions", "entries", "device_profiles", "vital_numerics",
                "vital_waves", "vital_events", "alembic_version"} <= names
    finally:
        db.close()
    again = open_database(db_url)
    try:
        assert again.schema.action == "current" and again.schema.backup is None
    finally:
        again.close()


def test_migrated_schema_matches_the_models(db_url):
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            _upgrade(conn)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
        assert diffs == []
    finally:
        engine.dispose()


def _make_old_database(url: str) -> None:
    """A database as the first release left it (revision 0001), holding one user."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _upgrade(conn, "0001")
            now = datetime.now(UTC)
            conn.execute(text("INSERT INTO users (username, full_name, role, password_hash, active, demo, "
                              "created_at, password_changed_at) VALUES ('old', 'Old User', 'admin', 'x', "
                              ":t, :f, :now, :now)"), {"now": now.replace(tzinfo=None) if conn.dialect.name
                                                      == "sqlite" else now, "t": True, "f": False})
    finally:
        engine.dispose()


def test_older_database_is_upgraded_keeping_its_data(db_url, backend):
    _make_old_database(db_url)
    db = open_database(db_url)
    try:
        schema = db.schema
        assert (schema.action, schema.from_revision, schema.to_revision) == ("upgraded", "0001", head_revision())
        assert "vital_waves" in inspect(db.engine).get_table_names()
        assert [u.username for u in db.service(db.system_user()).users()] == ["old"]
        if backend == "sqlite":
            backup = db.schema.backup
            assert backup is not None and backup.exists()
            assert ".pre-0001-" in backup.name and backup.name.endswith(".bak")
            with sqlite3.connect(backup) as old:  # the copy is the untouched old database
                assert old.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
                assert old.execute("SELECT username FROM users").fetchall() == [("old",)]
                assert old.execute("SELECT count(*) FROM sqlite_master WHERE name = 'vital_waves'"
                                   ).fetchone() == (0,)
        else:
            assert db.schema.backup is None
    finally:
        db.close()


def test_newer_database_is_refused_unchanged(db_url):
    open_database(db_url).close()
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
        with pytest.raises(SchemaTooNew, match="newer Chairside") as exc:
            open_database(db_url)
        assert "0099_from_the_future" in str(exc.value) and "not changed" in str(exc.value)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0099_from_the_future"
    finally:
        engine.dispose()


def test_foreign_database_is_refused(db_url):
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()
    with pytest.raises(NotAChairsideDatabase, match="invoices"):
        open_database(db_url)


def test_sqlite_connection_settings(sqlite_url):
    db = open_database(sqlite_url)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        db.close()


def test_naive_datetimes_are_refused_by_the_column_type(sqlite_url):
    from console.record.timeutil import UTCDateTime

    t = UTCDateTime()
    dialect = create_engine("sqlite://").dialect
    with pytest.raises(ValueError, match="naive"):
        t.process_bind_param(datetime(2026, 1, 1), dialect)
    aware = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert t.process_result_value(t.process_bind_param(aware, dialect), dialect) == aware


def test_default_url_is_in_the_user_data_dir(monkeypatch, tmp_path):
    from console.record.engine import resolve_url

    monkeypatch.delenv("CHAIRSIDE_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'chairside' / 'chairside.sqlite3'}"
    monkeypatch.setenv("CHAIRSIDE_DB", "sqlite:///elsewhere.db")
    assert resolve_url(None) == "sqlite:///elsewhere.db"
    assert resolve_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_unreachable_server_is_storage_unavailable():
    from console.record import StorageUnavailable

    with pytest.raises(StorageUnavailable, match="cannot be reached"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none")
