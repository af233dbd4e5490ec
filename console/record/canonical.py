"""Canonical JSON and hashes for the tamper-evident chain.

The same entry must always serialise to the same bytes, on any machine and database, or the chain could not
be recomputed. Rules: keys sorted, no whitespace, UTF-8, times as UTC ISO text with microseconds, integers as
integers, floats as Python's shortest round-trip text (``repr``), which is deterministic, and NaN/Infinity
refused (JSON has no such numbers). The canonical text is what the database stores, so verification hashes
exactly the stored bytes and never re-serialises a float.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from console.record.timeutil import iso

#: prev_hash of nothing (used only in documentation and tests; a chain starts from its session header hash)
ZERO_HASH = "0" * 64


def normalise(value: Any, path: str = "data") -> Any:
    """A JSON-ready copy of ``value`` with times as UTC text; ``ValueError`` for what JSON cannot hold."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return normalise(value.value, path)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} is {value!r}: only finite numbers can be recorded")
        return float(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{path} is {value}: only finite numbers can be recorded")
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path} has a non-text key {k!r}")
            out[k] = normalise(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [normalise(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return normalise(value.item(), path)
    raise ValueError(f"{path} holds a {type(value).__name__}, which cannot be recorded as JSON")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see the module docstring)."""
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 of the canonical JSON of ``fields`` plus the previous hash (the link of the chain)."""
    return sha256_hex(canonical_json({"fields": fields, "prev_hash": prev_hash}))
