"""Checkpoint entries: the bulk tables (vitals, numeric blocks, waves, monitor events, raw captures) under the
hash chain.

The bulk tables are written at hundreds of rows a minute, far too many to chain row by row. Instead a
``checkpoint`` entry is appended to the session's chain at least once a minute while the session is open
(``append_checkpoint(db, session_id)``, called by the chair runtime / vitals recorder timer) and at close and
sign-off (the service calls it). Its data carries, per bulk table that received rows since the previous
checkpoint, the id range, the row count and a SHA-256 over those rows of the session, plus the head of the
audit chain when it moved (format 2)::

    {"format": 2,
     "tables": {"vital_waves": {"after_id": 1200, "last_id": 1224, "rows": 24, "sha256": "..."}, ...},
     "audit": {"last_id": 4711, "hash": "..."}}

A table is left out when it received no rows since the checkpoint that last named it (an empty span carries
no information: it covers no id), so a table's spans are the checkpoints that name it, and each ``after_id``
is the ``last_id`` of the previous one (the first starts at 0); verify names a gap or an overlap between them.
``audit`` is left out when the audit head is the one the newest checkpoint naming it recorded (or there is no
audit row yet). A checkpoint leaving a table out still says something: its table ended at the ``last_id`` of
its newest span then, so a row of a closed session beyond that is reported as inserted, as before.

Format 1 (written until the entries grew past 2 % of a session's file) named every bulk table in every
checkpoint, with empty spans, and always carried ``audit`` (``null`` before the first audit row). Both are
read; a session may hold both (a console upgraded while the session was interrupted).

Row serialisation (both formats) of the rows one checkpoint covers, in ascending id order, as the database
driver returns them: ``repr`` of the list of tuples of every non-blob column (model order) in UTF-8, then for
each blob column ``repr`` of the list of its lengths and the bytes of all rows one after the other.
``repr`` of ``None``/``bool``/``int``/``float``/``str`` is deterministic and type-tagged (``1`` vs ``1.0`` vs ``'1'``;
floats as shortest round-trip text), so a changed value, a changed blob byte, a removed or an inserted row
changes the hash. (Booleans come back as ``1``/``0`` from SQLite and ``True``/``False`` from PostgreSQL: a
hash is checked on the database that wrote it.) A column added to a bulk table later needs a new format
number.

Checkpoints are written by Chairside itself, not by a person: the entry's ``username`` and ``role`` are
``system`` (the ``user_id`` is the session's starting user, because the column must name a user; no login
is involved). Rows of a closed or signed session written after its last checkpoint are reported by verify.
On PostgreSQL the bulk tables are locked in SHARE mode for the checkpoint's transaction: ids come from
sequences, so without waiting for writers still in flight a row with a lower id could commit after the
checkpoint that claimed to cover its range.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, LargeBinary, Table, select, text
from sqlalchemy.orm import Session as OrmSession

from console.record import models as m
from console.record.errors import NotFound
from console.record.guard import storage_guard
from console.record.records import SYSTEM_ACTOR, EntryRecord, Problem, SessionStatus, UserContext
from console.record.timeutil import iso

if TYPE_CHECKING:
    from console.record.database import Database

#: the format written; :data:`FORMATS` are the formats read
FORMAT = 2
FORMATS = (1, 2)
#: the bulk tables a checkpoint covers, with the words verify uses for their rows
BULK_TABLES: dict[str, tuple[Table, str]] = {
    "vital_numerics": (m.VitalNumeric.__table__, "numerics"),  # type: ignore[dict-item]
    "vital_numeric_blocks": (m.VitalNumericBlock.__table__, "numeric blocks"),  # type: ignore[dict-item]
    "vital_waves": (m.VitalWave.__table__, "wave chunks"),  # type: ignore[dict-item]
    "vital_events": (m.VitalEvent.__table__, "monitor alarm/link events"),  # type: ignore[dict-item]
    "raw_captures": (m.RawCapture.__table__, "raw capture chunks"),  # type: ignore[dict-item]
}
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def _columns(table: Table) -> tuple[list[str], int]:
    """The table's columns in model order with the blob columns moved last, and how many are not blobs."""
    plain = [c.name for c in table.c if not isinstance(c.type, LargeBinary)]
    blobs = [c.name for c in table.c if isinstance(c.type, LargeBinary)]
    return plain + blobs, len(plain)


def fetch_rows(conn: Connection | OrmSession, table: Table, session_id: int, after_id: int = 0,
               upto_id: int | None = None) -> tuple[list[tuple[Any, ...]], int]:
    """A session's rows of ``table`` with ``after_id < id [<= upto_id]`` in id order, as the database driver
    returns them (plain tuples: a verify of hours of waves must not pay for ORM rows), and the number of
    leading non-blob columns."""
    sa_conn = conn.connection() if isinstance(conn, OrmSession) else conn
    ph = "?" if sa_conn.dialect.paramstyle == "qmark" else "%s"
    cols, plain = _columns(table)
    q = sa_conn.dialect.identifier_preparer.quote  # "offset" is a reserved word on PostgreSQL
    sql = (f"SELECT {', '.join(q(c) for c in cols)} FROM {q(table.name)} WHERE session_id = {ph} AND id > {ph}"
           + ("" if upto_id is None else f" AND id <= {ph}") + " ORDER BY id")
    params: tuple[int, ...] = (session_id, after_id) if upto_id is None else (session_id, after_id, upto_id)
    cur = sa_conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params)
        rows: list[tuple[Any, ...]] = list(cur.fetchall())  # tuples from sqlite3 and psycopg alike
        return rows, plain
    finally:
        cur.close()


def digest(rows: Sequence[tuple[Any, ...]], plain: int) -> str:
    """SHA-256 of rows in canonical form (format 1; see the module docstring)."""
    h = hashlib.sha256()
    width = len(rows[0]) if rows else plain
    h.update(repr([r[:plain] for r in rows] if width > plain else list(rows)).encode("utf-8"))
    for k in range(plain, width):
        blobs = [b"" if r[k] is None else bytes(r[k]) for r in rows]
        h.update(repr([len(b) for b in blobs]).encode("ascii"))
        h.update(b"".join(blobs))
    return h.hexdigest()


def digest_rows(conn: Connection | OrmSession, table: Table, session_id: int, after_id: int,
                upto_id: int | None = None) -> tuple[int, int, str]:
    """(row count, last id, SHA-256) of a session's rows of ``table`` with ``after_id < id <= upto_id``."""
    rows, plain = fetch_rows(conn, table, session_id, after_id, upto_id)
    return len(rows), (rows[-1][0] if rows else after_id), digest(rows, plain)


def lock_bulk_tables(s: OrmSession) -> None:
    """PostgreSQL: wait for the bulk tables' writers in flight and hold new ones off until commit (see the
    module docstring). Call it before locking the session row (the vitals writer updates that row last)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("LOCK TABLE " + ", ".join(BULK_TABLES) + " IN SHARE MODE"))


@dataclass(slots=True)
class Coverage:
    """How far a session's checkpoints reach: per bulk table the ``last_id`` of the newest checkpoint that
    names it (a table never named is absent: its next span starts after id 0), and the audit head (id, hash)
    the newest checkpoint that recorded one holds."""

    last_ids: dict[str, int]
    audit: tuple[int, str] | None


def coverage(s: OrmSession, session_id: int) -> Coverage:
    """Where the session's next checkpoint starts (newest checkpoints first, read until every table and the
    audit head are found; a table never named makes it read all of them, a few hundred short rows)."""
    last_ids: dict[str, int] = {}
    audit: tuple[int, str] | None = None
    for data in s.scalars(select(m.Entry.data_json).where(m.Entry.session_id == session_id,
                                                         m.Entry.kind == "checkpoint")
                          .order_by(m.Entry.seq.desc())):
        try:
            d = json.loads(data)
            ends = {str(name): int(t["last_id"]) for name, t in d["tables"].items()}
            a = d.get("audit")
            head = (int(a["last_id"]), str(a["hash"])) if isinstance(a, dict) else None
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a damaged checkpoint is verify's finding; the next span starts from an intact one
        for name, last in ends.items():
            last_ids.setdefault(name, last)
        if audit is None:
            audit = head
        if audit is not None and all(n in last_ids for n in BULK_TABLES):
            break
    return Coverage(last_ids, audit)


def checkpoint_in(s: OrmSession, db: Database, row: m.Session, *, only_new_rows: bool = False
                  ) -> EntryRecord | None:
    """Append a checkpoint entry (format 2: only the tables with new rows, the audit head only when it moved)
    to the locked session ``row`` in the current transaction (with ``only_new_rows``: only when a bulk table
    received rows since the last one; else None)."""
    from console.record.canonical import canonical_json
    from console.record.service import append_entry

    cover = coverage(s, row.id)
    tables: dict[str, Any] = {}
    for name, (table, _) in BULK_TABLES.items():
        after = cover.last_ids.get(name, 0)
        n, last, sha = digest_rows(s, table, row.id, after)
        if n:  # a table with no new rows is left out: its empty span would cover no id
            tables[name] = {"after_id": after, "last_id": last, "rows": n, "sha256": sha}
    if only_new_rows and not tables:
        return None
    head = s.execute(select(m.AuditEvent.id, m.AuditEvent.hash).order_by(m.AuditEvent.id.desc())
                     .limit(1)).first()
    data: dict[str, Any] = {"format": FORMAT, "tables": tables}
    if head is not None and (int(head[0]), head[1]) != cover.audit:
        data["audit"] = {"last_id": int(head[0]), "hash": head[1]}
    actor = UserContext(row.started_by, SYSTEM_ACTOR, "Chairside (automatic checkpoint)", SYSTEM_ACTOR)
    return append_entry(s, db, actor, row, "checkpoint", canonical_json(data), at=db.now())


def append_checkpoint(db: Database, session_id: int, *, only_new_rows: bool = False) -> EntryRecord | None:
    """Put everything the session's bulk tables received since its last checkpoint under its chain.

    Call at least once a minute while the session is open (Qt-free; any thread). ``only_new_rows``: skip
    when nothing new arrived (Database does this when a vitals recorder closes). A signed session gets a
    checkpoint only for rows that arrived after its sign-off (a recorder still flushing): its seal already
    covers the rest. Returns the entry or None. Raises :class:`NotFound` or
    :class:`~console.record.errors.StorageUnavailable`.
    """
    with storage_guard(), OrmSession(db.write_engine, expire_on_commit=False) as s, s.begin():
        lock_bulk_tables(s)
        row = s.scalar(select(m.Session).where(m.Session.id == session_id).with_for_update())
        if row is None:
            raise NotFound(f"no session with id {session_id}")
        return checkpoint_in(s, db, row, only_new_rows=only_new_rows or row.status == SessionStatus.SIGNED)


# ---------------------------------------------------------------------- verification
@dataclass(slots=True)
class _Span:
    """One checkpoint's span of one table; ``prev`` is the session's checkpoint before it (whatever tables
    that one names: the rows of the span arrived after it, or it would have named them)."""

    entry: Any
    after_id: int
    last_id: int
    rows: int
    sha: str
    prev: Any | None


def _when(e: Any | None) -> str:
    if e is None:
        return "the session start"
    return f"checkpoint #{e.seq} ({iso(e.at)[11:19]})"


def _read(e: Any) -> tuple[dict[str, Any] | None, str]:
    """A checkpoint entry's data checked against the entry model (either format), or None and why not."""
    from console.clinical.entry_model import payload_problems

    try:
        d = json.loads(e.data_json)
    except ValueError:
        return None, "it is not JSON"
    if not isinstance(d, dict) or d.get("format") not in FORMATS:
        return None, f"unknown format {d.get('format') if isinstance(d, dict) else None!r}"
    why = payload_problems("checkpoint", d)
    return (None, why) if why else (d, "")


def verify_bulk(conn: Connection | OrmSession, session: Any, checkpoints: list[Any],
                audit_hashes: dict[int, str | None] | None,
                row_counts: dict[str, int] | None = None) -> list[Problem]:
    """Recompute the session's bulk rows against its checkpoint entries (oldest first, either format);
    ``audit_hashes`` maps audit row id to its stored hash (None: the audit trail could not be read, which is a
    finding already). Problems name the table and the two checkpoints the change lies between; a gap or an
    overlap between a table's spans is named; rows of a closed or signed session after the last span of their
    table are ``inserted``. ``row_counts`` (rows per table of this session, when the caller counted them for
    many sessions at once) lets a table with nothing recorded and nothing found be skipped without a query."""
    sid = session.id
    problems: list[Problem] = []
    parsed: list[tuple[Any, dict[str, Any]]] = []
    for e in checkpoints:
        d, why = _read(e)
        if d is None:
            problems.append(Problem(sid, "changed", f"the checkpoint's data cannot be read ({why})",
                                    e.id, e.seq))
            continue
        parsed.append((e, d))
        ah = d.get("audit")
        if audit_hashes is not None and isinstance(ah, dict):
            stored = audit_hashes.get(int(ah["last_id"]), "<gone>")
            if stored == "<gone>":
                problems.append(Problem(sid, "missing", f"audit row #{ah['last_id']}, the end of the audit "
                                        "trail when this checkpoint was written, is gone (the audit trail was "
                                        "cut or wiped)", e.id, e.seq))
            elif stored != ah.get("hash"):
                problems.append(Problem(sid, "changed", f"audit row #{ah['last_id']} differs from what this "
                                        "checkpoint recorded as the end of the audit trail", e.id, e.seq))
    closed = session.status != SessionStatus.IN_PROGRESS and (getattr(session, "header_version", 1) or 1) >= 2
    if closed and not parsed:
        problems.append(Problem(sid, "missing", "the session is closed but has no checkpoint entry: its "
                                "vitals, waves, events and raw captures are not under the chain"))
    last = parsed[-1][0] if parsed else None
    for name, (table, label) in BULK_TABLES.items():
        spans: list[_Span] = []
        prev_e: Any | None = None
        for e, d in parsed:
            t = d["tables"].get(name)
            if t is not None:
                spans.append(_Span(e, t["after_id"], t["last_id"], t["rows"], t["sha256"], prev_e))
            prev_e = e
        if not spans and not closed:
            continue
        if row_counts is not None and not row_counts.get(name) and all(sp.rows == 0 for sp in spans):
            continue
        problems.extend(_check_table(conn, sid, table, label, spans, closed, last))
    return problems


def _check_table(conn: Connection | OrmSession, sid: int, table: Table, label: str, spans: list[_Span],
                 closed: bool, last: Any | None) -> list[Problem]:
    """Check one table's spans (oldest first) against its rows; in a ``closed`` session rows after the last
    span are inserted (``last``: the session's last checkpoint, which says the table ended there)."""
    problems: list[Problem] = []
    rows, plain = fetch_rows(conn, table, sid)
    ids = [r[0] for r in rows]
    covered, covered_by = 0, None  # ids up to ``covered`` are under the spans so far
    for span in spans:
        if span.after_id != covered:
            problems.append(_seam(sid, label, ids, covered, covered_by, span))
        covered, covered_by = max(covered, span.last_id), span.entry
        part = rows[bisect.bisect_right(ids, span.after_id):bisect.bisect_right(ids, span.last_id)]
        n = len(part)
        if n == span.rows and digest(part, plain) == span.sha:
            continue
        what = "missing" if n < span.rows else "inserted" if n > span.rows else "changed"
        verb = {"missing": "removed", "inserted": "inserted", "changed": "changed"}[what]
        problems.append(Problem(
            sid, what, f"{label} rows were {verb} between {_when(span.prev)} and {_when(span.entry)} "
                       f"(ids {span.after_id + 1}..{span.last_id}: {span.rows} recorded, {n} found)",
            span.entry.id, span.entry.seq))
    tail = ids[bisect.bisect_right(ids, covered):]
    if tail and closed:
        when = f"after {_when(last)}, the session's last checkpoint," if last is not None else \
            "with no checkpoint at all"
        problems.append(Problem(sid, "inserted", f"{len(tail)} {label} rows (from id {tail[0]}) were written "
                                f"{when} although the session is closed", None, None))
    return problems


def _seam(sid: int, label: str, ids: list[int], covered: int, covered_by: Any | None, span: _Span) -> Problem:
    """The finding for a span that does not start where the table's previous span ended: a gap leaves ids
    under no checkpoint; an overlap covers ids twice (neither happens with Chairside's own writer)."""
    if span.after_id > covered:
        inside = bisect.bisect_right(ids, span.after_id) - bisect.bisect_right(ids, covered)
        before = (f"{_when(covered_by)} covers up to id {covered}" if covered_by is not None
                  else "no checkpoint before it covers any")
        return Problem(sid, "changed", f"{label} ids {covered + 1}..{span.after_id} are under no checkpoint "
                       f"({inside} rows of the session there): {before}, but {_when(span.entry)} starts "
                       f"after id {span.after_id} (a gap between the table's spans)",
                       span.entry.id, span.entry.seq)
    return Problem(sid, "changed", f"{label} ids {span.after_id + 1}..{covered} are covered twice: "
                   f"{_when(covered_by)} covers up to id {covered} but {_when(span.entry)} starts again "
                   f"after id {span.after_id} (its spans overlap)", span.entry.id, span.entry.seq)


__all__ = ["BULK_TABLES", "FORMAT", "FORMATS", "Coverage", "append_checkpoint", "checkpoint_in", "coverage",
           "digest", "digest_rows", "fetch_rows", "lock_bulk_tables", "verify_bulk"]
