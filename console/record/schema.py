"""Open-time schema handling: create a fresh database at head, upgrade an older one, refuse a newer one.

SQLite files are copied before an upgrade (``<name>.pre-<old revision>-<UTC time>.bak`` next to the file),
so a failed or unwanted upgrade never costs the clinic its record. PostgreSQL databases are upgraded inside
a transaction (PostgreSQL has transactional DDL) under an advisory lock, so two consoles starting at once do
not both migrate; back them up with the clinic's usual ``pg_dump`` routine.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from console.record.engine import sqlite_path, writer
from console.record.errors import NotAChairsideDatabase, SchemaTooNew
from console.record.timeutil import utcnow

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: an arbitrary constant: the PostgreSQL advisory lock id that serialises migrations
PG_MIGRATION_LOCK = 0x43484149


def alembic_config() -> Config:
    """An in-memory Alembic configuration pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@dataclass(frozen=True, slots=True)
class SchemaResult:
    """What :func:`ensure_schema` did: ``action`` is ``"created"``, ``"upgraded"`` or ``"current"``."""

    action: str
    from_revision: str | None
    to_revision: str
    backup: Path | None = None


def _check(rev: str | None, connection: Connection) -> None:
    if rev is not None and rev not in known_revisions():
        raise SchemaTooNew(
            f"this database has schema revision {rev!r}, which this version of Chairside does not know "
            f"(it knows up to {head_revision()!r}): it was written by a newer Chairside. "
            "Install that version or newer; the database was not changed.")
    if rev is None:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        if tables:
            raise NotAChairsideDatabase(
                "this database already holds tables (" + ", ".join(sorted(tables)[:5]) + ") but no Chairside "
                "schema revision: it is not a Chairside record. Give another --db; nothing was changed.")


def _upgrade(connection: Connection, target: str = "head") -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, target)


def backup_sqlite(path: Path, revision: str | None) -> Path:
    """A consistent copy of an SQLite database (the online backup API includes what is still in the WAL)."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.pre-{revision or 'base'}-{stamp}.bak")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.pre-{revision or 'base'}-{stamp}-{n}.bak")
    src = sqlite3.connect(str(path))
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return target


def ensure_schema(engine: Engine, target: str = "head") -> SchemaResult:
    """Bring the database to ``target`` (normally head); see the module docstring. Raises
    :class:`SchemaTooNew` or :class:`NotAChairsideDatabase` without changing anything."""
    head = head_revision() if target == "head" else target
    if engine.dialect.name == "postgresql":
        with writer(engine).connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK})
            try:
                rev = current_revision(conn)
                _check(rev, conn)
                conn.commit()
                if rev == head:
                    return SchemaResult("current", rev, head)
                with conn.begin():
                    _upgrade(conn, target)
                return SchemaResult("created" if rev is None else "upgraded", rev, head)
            finally:
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK})
                conn.commit()
    with engine.connect() as conn:
        rev = current_revision(conn)
        _check(rev, conn)
        conn.rollback()
    if rev == head:
        return SchemaResult("current", rev, head)
    backup = None
    path = sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if rev is not None and path is not None and path.exists():
        backup = backup_sqlite(path, rev)
    with writer(engine).begin() as conn:
        rev_locked = current_revision(conn)  # another console may have migrated while we waited for the lock
        _check(rev_locked, conn)
        if rev_locked != head:
            _upgrade(conn, target)
    return SchemaResult("created" if rev is None else "upgraded", rev, head, backup)
