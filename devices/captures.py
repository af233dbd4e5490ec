"""Readers for the raw capture formats in ``../shared/captures`` (and captures users send in).

* ``*.raw``: bytes exactly as read from the port; read them with ``Path.read_bytes``.
* docbox logs: repeated records of an ASCII timestamp ``YYYY/MM/DDTHH:MM:SS,mmm`` followed by exactly one raw
  frame ``C0 … C1`` (as written by the DocBox IntelliVue logger).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

_DOCBOX_STAMP = re.compile(rb"(\d{4})/(\d{2})/(\d{2})T(\d{2}):(\d{2}):(\d{2}),(\d{3})")


def parse_docbox(data: bytes, tz: dt.tzinfo = dt.UTC) -> list[tuple[float, bytes]]:
    """Split docbox log bytes into ``(POSIX time, frame bytes)`` records.

    Each record's frame runs from the first ``C0`` after its timestamp to the last ``C1`` before the next
    timestamp (frames are escaped, so neither delimiter occurs inside). Bytes that are not part of a
    record are skipped; a record with no complete frame yields nothing. The log carries no zone: ``tz``
    says which one its clock ran in (UTC by default).
    """
    records: list[tuple[float, bytes]] = []
    stamps = list(_DOCBOX_STAMP.finditer(data))
    for i, match in enumerate(stamps):
        end = stamps[i + 1].start() if i + 1 < len(stamps) else len(data)
        start = data.find(b"\xc0", match.end(), end)
        stop = data.rfind(b"\xc1", match.end(), end)
        if start < 0 or stop < start:
            continue
        try:
            year, month, day, hour, minute, second, millis = (int(g) for g in match.groups())
            when = dt.datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=tz)
        except ValueError:
            continue  # an impossible date: not a timestamp after all
        records.append((when.timestamp(), bytes(data[start:stop + 1])))
    return records


def read_docbox(path: str | Path, tz: dt.tzinfo = dt.UTC) -> list[tuple[float, bytes]]:
    """Read a docbox log file into ``(POSIX time, frame bytes)`` records (see :func:`parse_docbox`)."""
    return parse_docbox(Path(path).read_bytes(), tz)
