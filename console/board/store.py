"""The ``chair_status`` table: one row per chair, overwritten by each publication, read by the board.

Times come from the database's clock (``updated_at`` and :func:`database_now`), so the age the board shows
does not depend on every workstation's clock being right. On PostgreSQL each publication also sends
``NOTIFY chairside_board, '<chair>'`` in the same transaction, so the board wakes when a chair changes
instead of polling every row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Table, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

from console.board.status import ChairStatus, StatusError
from console.record.models import ChairStatusRow

#: the PostgreSQL notification channel chairs publish on
CHANNEL = "chairside_board"


@dataclass(frozen=True, slots=True)
class StoredStatus:
    """A chair's row as the board reads it: the status (or why it cannot be read) and when it arrived."""

    chair: str
    status: ChairStatus | None
    error: str | None
    updated_at: float
    seq: int


def _table() -> Table:
    table = ChairStatusRow.__table__
    assert isinstance(table, Table)
    return table


def _db_clock(engine: Engine) -> ColumnElement[float]:
    if engine.dialect.name == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())::float8")
    # SQLite: julianday has sub-millisecond resolution; 2440587.5 is the Julian day of 1970-01-01
    return (func.julianday("now") - 2440587.5) * 86400.0


def database_now(engine: Engine) -> float:
    """The database's clock in POSIX seconds (the board's reference for ages)."""
    with engine.connect() as conn:
        return float(conn.execute(select(_db_clock(engine))).scalar_one())


def publish(engine: Engine, status: ChairStatus) -> None:
    """Write ``status`` as its chair's latest (and notify listeners on PostgreSQL); raises on storage errors."""
    now = _db_clock(engine)
    values = {"chair": status.chair, "seq": 1, "status_json": status.to_json(), "updated_at": now}
    table = _table()
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.chair],
        set_={"seq": table.c.seq + 1, "status_json": stmt.excluded.status_json,
              "updated_at": stmt.excluded.updated_at})
    with engine.begin() as conn:
        conn.execute(upsert)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_notify(:channel, :chair)"), {"channel": CHANNEL, "chair": status.chair})


def read_all(engine: Engine) -> tuple[float, list[StoredStatus]]:
    """The database's clock and every chair's latest row (a damaged row is reported, not raised)."""
    table = _table()
    with engine.connect() as conn:
        now = float(conn.execute(select(_db_clock(engine))).scalar_one())
        rows = conn.execute(select(table.c.chair, table.c.status_json, table.c.updated_at, table.c.seq)
                            .order_by(table.c.chair)).all()
    out: list[StoredStatus] = []
    for chair, status_json, updated_at, seq in rows:
        try:
            out.append(StoredStatus(chair, ChairStatus.from_json(status_json), None, float(updated_at), int(seq)))
        except StatusError as err:
            out.append(StoredStatus(chair, None, str(err), float(updated_at), int(seq)))
    return now, out


def forget_chair(engine: Engine, chair: str) -> bool:
    """Remove a decommissioned chair from the board (an admin action); True when it was there."""
    table = _table()
    with engine.begin() as conn:
        return bool(conn.execute(table.delete().where(table.c.chair == chair)).rowcount)
