"""UTC time handling for the record: every stored time is timezone-aware UTC.

Naive datetimes are refused everywhere (a naive time is ambiguous: local? UTC? the record cannot know), both
by :class:`UTCDateTime` at the database boundary and by :func:`to_utc` for values callers hand in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (microsecond resolution, as both databases store)."""
    return datetime.now(UTC)


def to_utc(value: datetime | float | int, what: str = "time") -> datetime:
    """An aware UTC datetime from an aware datetime or POSIX seconds; naive datetimes raise ``ValueError``."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what} {value.isoformat()} has no time zone; give an aware datetime (UTC)")
        return value.astimezone(UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    raise TypeError(f"{what} must be a datetime or POSIX seconds, not {type(value).__name__}")


def iso(value: datetime) -> str:
    """The canonical text of a time in the record: UTC, microseconds, ``+00:00`` (fixed width, sortable)."""
    return to_utc(value).isoformat(timespec="microseconds")


def to_posix(value: datetime | float | int | None) -> float | None:
    """POSIX seconds from an aware datetime or a number (``None`` passes through)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_utc(value).timestamp()
    return float(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime(timezone=True)`` column that only accepts aware datetimes and always returns UTC.

    SQLite has no time zone type and hands back naive values; PostgreSQL hands back the session's zone. Both
    are normalised to UTC here so comparisons and hashes never depend on the server's settings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing naive datetime {value.isoformat()}: the record stores UTC times")
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite stores text; a naive UTC value keeps the stored text fixed-width and sortable.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
