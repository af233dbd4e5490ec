"""The demo never touches a real record: which databases a demo (``--demo``, ``simulate-session``) may use.

A database *holds only demo data* when it has no user, patient or session that is not flagged ``demo``
(an empty or brand-new database qualifies). Such a database:

* is the only kind ``chairside --demo`` and ``chairside simulate-session`` may write to;
* asks for no log-in (the demo clinician is used, and everything read from it is marked DEMO), so demos,
  training and tests stay one command.

A database with any real (non-demo) user, patient or session is a real record: the demo and simulation
accounts are refused there (:meth:`Database.demo_login` raises :class:`DemoRefused`), and log-in needs a
real user's password.

:func:`resolve_demo_database` answers *before* the database is opened, reading it without writing (SQLite
is opened read-only), so a refused real record is left byte-for-byte as it was: no schema upgrade, no
backup copy, no audit row.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from console.record.engine import make_engine, resolve_url, sqlite_path
from console.record.errors import RecordError, StorageUnavailable

if TYPE_CHECKING:
    from console.record.database import Database

DEMO_FILE_NAME = "chairside-demo.sqlite3"
#: the tables whose rows say whether a database holds real data, each with its ``demo`` flag column
_FLAGGED_TABLES = ("users", "patients", "sessions")


class DemoRefused(RecordError):
    """A demo or simulation was pointed at a database that holds real (non-demo) records."""


def default_demo_url() -> str:
    """The demo database: its own SQLite file in the user data folder, never the real record's."""
    folder = Path(platformdirs.user_data_dir("chairside"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / DEMO_FILE_NAME}"


def holds_only_demo_data(conn: Connection) -> bool:
    """True when no user, patient or session in the database behind ``conn`` is real (non-demo)."""
    tables = set(inspect(conn).get_table_names())
    for table in _FLAGGED_TABLES:
        if table not in tables:
            continue  # not created yet: holds nothing real
        # table names are constants above, never user input
        real = conn.execute(text(f"SELECT 1 FROM {table} WHERE demo = :f LIMIT 1"), {"f": False}).first()
        if real is not None:
            return False
    return True


def is_demo_only(db: Database) -> bool:
    """Whether the open database ``db`` holds only demo data (see the module docstring)."""
    from console.record.guard import storage_guard

    with storage_guard(), db.engine.connect() as conn:
        return holds_only_demo_data(conn)


def _read_only_engine(url: str) -> tuple[Engine, bool]:
    """An engine that cannot change the database at ``url``, and whether the database exists at all."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            return create_engine("sqlite://"), False
        if path.is_dir():
            raise StorageUnavailable(f"{path} is a folder, not a database file")
        uri = f"{path.resolve().as_uri()}?mode=ro"
        return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True)), True
    try:
        return make_engine(url), True  # PostgreSQL: a SELECT changes nothing
    except Exception as err:  # bad URL, missing driver
        raise StorageUnavailable(f"cannot use the database URL {url!r}: {err}") from err


def resolve_demo_database(url: str | None) -> str:
    """The database a demo or simulation may use: ``url`` when it holds only demo data (or does not exist
    yet), else :class:`DemoRefused`; with no ``url``, the separate demo database (``$CHAIRSIDE_DB`` is
    deliberately ignored: it names the real record).

    Nothing is written to the database at ``url`` by this check.
    """
    if not url:
        return default_demo_url()
    resolved = resolve_url(url)
    engine, exists = _read_only_engine(resolved)
    shown = engine.url.render_as_string(hide_password=True) if sqlite_path(resolved) is None else \
        str(sqlite_path(resolved))
    if not exists:
        engine.dispose()
        return resolved
    try:
        with engine.connect() as conn:
            demo_only = holds_only_demo_data(conn)
    except RecordError:
        raise
    except Exception as err:  # not a database, unreadable, server gone
        detail = (str(getattr(err, "orig", None) or err).strip().splitlines() or [type(err).__name__])[0]
        raise StorageUnavailable(f"cannot read {shown} as a Chairside record ({detail})") from err
    finally:
        engine.dispose()
    if not demo_only:
        raise DemoRefused(f"{shown} holds real (non-demo) records; a demo or simulation never writes to one. "
                          f"Leave out --db to use the separate demo database.")
    return resolved
