"""The database's own guard: triggers that refuse UPDATE and DELETE on every record table.

The service never changes a record row; these triggers also stop a careless SQL session, a wrong migration or
a future bug from doing it. Someone with full SQL rights can drop them, which is why everything they guard is
also under the hash chain (entries, checkpoints over vitals/waves/events/raw captures, the chained audit
trail, the patient and people snapshot in the session header). :func:`check_guards` lets ``verify`` *report*
a guard that was removed, disabled or replaced; verify never re-creates one (a silent repair would hide that
somebody had the rights and used them).

What may still change, and why:

* ``sessions``: ``status`` only along the life cycle (in_progress → closed/signed, closed → signed, signed ↔
  amended), ``head_seq`` only growing and ``head_hash`` only together with it (or once, from the empty value
  written before the row had an id), ``header_hash`` only from that empty value, ``ended_at`` only once from
  empty; ``lock_owner`` and ``heartbeat_at`` freely (liveness, not record). No DELETE.
* ``users``: ``password_hash``, ``password_changed_at``, ``active`` and ``role`` (each change is audited by the
  service; a role change applies at the next write) and columns added later (keys, lockout counters). The
  identity (``id``, ``username``, ``full_name``, ``demo``, ``created_at``) never changes. No DELETE.
* ``entries`` (migration 0003), ``audit_log``, ``patients``, ``vital_numerics``, ``vital_waves``,
  ``vital_events``, ``raw_captures``, ``vital_numeric_blocks`` (migration 0008): nothing. ``device_profiles`` is configuration, not record: it changes
  freely and every change is audited with before/after.

These definitions are what migration 0006 created (entries' from 0003). Changing one needs a new migration
that drops and re-creates the trigger, and this module updated to match, because verify compares the live
definitions with these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

#: tables whose rows never change nor go away once written (entries has its own trigger since 0003)
FROZEN_TABLES: tuple[str, ...] = ("audit_log", "patients", "vital_numerics", "vital_waves", "vital_events",
                                  "raw_captures", "vital_numeric_blocks")
#: the tables each migration put under a guard (a migration installs only its own: later tables do not exist
#: yet when it runs)
GUARDED_SINCE: dict[str, tuple[str, ...]] = {
    "0006": ("users", "sessions", "audit_log", "patients", "vital_numerics", "vital_waves", "vital_events",
             "raw_captures"),
    "0008": ("vital_numeric_blocks",),
}
MESSAGE = "Chairside record rows are append-only: they cannot be changed or deleted"
ENTRIES_MESSAGE = "Chairside entries are append-only: a correction is an amendment entry"

_USERS_IDENTITY = ("id", "username", "full_name", "demo", "created_at")
_SESSIONS_FIXED = ("id", "patient_id", "protocol_id", "protocol_version", "chair", "devices_json",
                   "details_json", "demo", "started_at", "started_by", "header_version",
                   "header_snapshot_json")
#: allowed (old, new) status changes; anything else is refused
STATUS_STEPS: tuple[tuple[str, str], ...] = (("in_progress", "closed"), ("in_progress", "signed"),
                                             ("closed", "signed"), ("signed", "amended"),
                                             ("amended", "signed"))


@dataclass(frozen=True, slots=True)
class Guard:
    """One trigger: its name, table, what it refuses (for messages) and its SQL for one dialect."""

    name: str
    table: str
    refuses: str
    sql: str


def _differs(columns: tuple[str, ...], dialect: str) -> str:
    op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in columns)


def _sessions_condition(dialect: str) -> str:
    op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    steps = " OR ".join(f"(OLD.status = '{a}' AND NEW.status = '{b}')" for a, b in STATUS_STEPS)
    return (f"{_differs(_SESSIONS_FIXED, dialect)}"
            f" OR (OLD.header_hash {op} NEW.header_hash AND OLD.header_hash <> '')"
            " OR NEW.head_seq < OLD.head_seq"
            f" OR (OLD.head_hash {op} NEW.head_hash AND NEW.head_seq <= OLD.head_seq AND OLD.head_hash <> '')"
            f" OR (OLD.ended_at IS NOT NULL AND OLD.ended_at {op} NEW.ended_at)"
            f" OR (OLD.status {op} NEW.status AND NOT ({steps}))")


def guards(dialect: str) -> list[Guard]:
    """Every append-only trigger the record should have on ``dialect`` (``sqlite`` or ``postgresql``)."""
    out: list[Guard] = []
    if dialect == "postgresql":
        run = "FOR EACH ROW EXECUTE FUNCTION chairside_append_only()"
        out.append(Guard("entries_append_only", "entries", "changing or deleting entries",
                         "CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries "
                         "FOR EACH ROW EXECUTE FUNCTION chairside_entries_append_only()"))
        for t in FROZEN_TABLES:
            out.append(Guard(f"{t}_append_only", t, f"changing or deleting {t} rows",
                             f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} {run}"))
        for t, cond, what in (("users", _differs(_USERS_IDENTITY, dialect), "a user's identity"),
                              ("sessions", _sessions_condition(dialect), "a session's header, status or head")):
            out.append(Guard(f"{t}_no_update", t, f"changing {what}",
                             f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} FOR EACH ROW "
                             f"WHEN ({cond}) EXECUTE FUNCTION chairside_append_only()"))
            out.append(Guard(f"{t}_no_delete", t, f"deleting {t} rows",
                             f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} {run}"))
        return out
    for event in ("update", "delete"):
        out.append(Guard(f"entries_no_{event}", "entries", f"{event}s of entries",
                         f"CREATE TRIGGER entries_no_{event} BEFORE {event.upper()} ON entries "
                         f"BEGIN SELECT RAISE(ABORT, '{ENTRIES_MESSAGE}'); END"))
    for t in FROZEN_TABLES:
        for event in ("update", "delete"):
            out.append(Guard(f"{t}_no_{event}", t, f"{event}s of {t} rows",
                             f"CREATE TRIGGER {t}_no_{event} BEFORE {event.upper()} ON {t} "
                             f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"))
    for t, cond, what in (("users", _differs(_USERS_IDENTITY, dialect), "a user's identity"),
                          ("sessions", _sessions_condition(dialect), "a session's header, status or head")):
        out.append(Guard(f"{t}_no_update", t, f"changing {what}",
                         f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} FOR EACH ROW WHEN {cond} "
                         f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"))
        out.append(Guard(f"{t}_no_delete", t, f"deletes of {t} rows",
                         f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
                         f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"))
    return out


PG_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION chairside_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (table %)', TG_TABLE_NAME;
    END $$"""


def _selected(g: Guard, include_entries: bool, tables: tuple[str, ...] | None) -> bool:
    if g.table == "entries":
        return include_entries
    return tables is None or g.table in tables


def install(conn: Connection, *, include_entries: bool = False, tables: tuple[str, ...] | None = None) -> None:
    """Create the guards: all of them, or those on ``tables`` (a migration passes its own
    :data:`GUARDED_SINCE` set); ``include_entries`` also the entries' trigger of 0003."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text(PG_FUNCTION))
    for g in guards(dialect):
        if _selected(g, include_entries, tables):
            conn.exec_driver_sql(g.sql)


def drop(conn: Connection, *, include_entries: bool = True, tables: tuple[str, ...] | None = None) -> None:
    """Remove the guards (a downgrade, and tests that play an attacker with full SQL rights)."""
    dialect = conn.dialect.name
    for g in guards(dialect):
        if not _selected(g, include_entries, tables):
            continue
        if dialect == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {g.name} ON {g.table}")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {g.name}")


def _norm(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().rstrip(";").lower()


def check_guards(conn: Connection) -> list[tuple[Guard, str]]:
    """Each guard that is missing, disabled or not what Chairside created, with what is wrong with it."""
    dialect = conn.dialect.name
    found: list[tuple[Guard, str]] = []
    if dialect == "postgresql":
        rows = conn.execute(text(
            "SELECT t.tgname, c.relname, t.tgenabled, p.prosrc FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal AND n.nspname = current_schema()"))
        live = {r[0]: (r[1], str(r[2]), r[3] or "") for r in rows}
        for g in guards(dialect):
            got = live.get(g.name)
            if got is None:
                found.append((g, "is missing (dropped)"))
            elif got[0] != g.table:
                found.append((g, f"is on table {got[0]}, not {g.table}"))
            elif got[1] not in ("O", "A"):
                found.append((g, "is disabled"))
            elif "raise exception" not in got[2].lower():
                found.append((g, "runs a function that no longer refuses the change"))
        return found
    rows = conn.execute(text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))
    live_sql = {r[0]: (r[1], r[2] or "") for r in rows}
    for g in guards(dialect):
        have = live_sql.get(g.name)
        if have is None:
            found.append((g, "is missing (dropped)"))
        elif _norm(have[1]) != _norm(g.sql):
            found.append((g, "was replaced by a different definition"))
    return found
