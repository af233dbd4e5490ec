"""One SQLAlchemy engine per database URL, with the settings the clinical log depends on.

URL: the ``--db`` option, else ``CHAIRSIDE_DB``, else an SQLite file ``chairside.sqlite3`` in
``platformdirs.user_data_dir("chairside")``. PostgreSQL URLs use psycopg 3 (``postgresql+psycopg://...``).

SQLite PRAGMAs, set on every new connection in a ``connect`` event listener (they are per connection):

* ``journal_mode=WAL``: readers (review, export) never block the writer at the chair and vice versa.
* ``synchronous=FULL``: in WAL mode ``NORMAL`` can lose the last transactions on a power cut (they are in the
  WAL but not yet synced); the clinical log promises that an entry is on disk when ``add_entry`` returns, so
  every commit is fsynced. The price (one fsync per commit) is small at the pace clinical entries are made,
  and vitals are batched by the writer thread so they pay it about once a second.
* ``foreign_keys=ON``: SQLite does not enforce foreign keys unless asked, per connection.
* ``busy_timeout``: wait this long for another writer instead of failing at once; past it the service raises
  :class:`~console.record.errors.StorageUnavailable`.

Write transactions on SQLite start with ``BEGIN IMMEDIATE`` (engine option ``chairside_write``): a deferred
transaction that reads the chain head and then writes can fail with "database is locked" without waiting if
another writer committed in between; taking the write lock first makes writers queue on ``busy_timeout``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

ENV_URL = "CHAIRSIDE_DB"
DEFAULT_BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "chairside_write"


def default_url() -> str:
    """The SQLite file in the user data directory (the directory is created when missing)."""
    folder = Path(platformdirs.user_data_dir("chairside"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'chairside.sqlite3'}"


def resolve_url(url: str | None = None) -> str:
    """``url`` if given, else ``$CHAIRSIDE_DB``, else :func:`default_url`. A bare file path means SQLite."""
    url = url or os.environ.get(ENV_URL) or default_url()
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL, or ``None`` (PostgreSQL, in-memory SQLite)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def make_engine(url: str | None = None, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                existing_only: bool = False) -> Engine:
    """Create the engine for ``url`` (see :func:`resolve_url`) with the record's connection settings.

    ``existing_only`` (verify): an SQLite file is opened without creating it or its folder, read-only when
    it is not writable, and its journal mode is left as it is (a foreign file is never converted to WAL).
    """
    url = resolve_url(url)
    u = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    backend = u.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None and existing_only:
            mode = "rw" if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK) else "ro"
            u = make_url(f"sqlite:///file:{quote(path.as_posix())}?mode={mode}&uri=true")
        elif path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # the writer thread and the GUI thread share the engine; each checks out its own connection
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    elif backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(u, **kwargs)
    if backend == "sqlite":
        _install_sqlite_pragmas(engine, busy_timeout_ms, wal=not existing_only)
    return engine


def _install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int, wal: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN cannot be IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) with write transactions marked, so SQLite takes the write lock up front."""
    return engine.execution_options(**{WRITE_OPTION: True})
