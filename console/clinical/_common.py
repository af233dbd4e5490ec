"""Small helpers shared by the clinical modules: data-file errors, JSON loading and time normalisation."""

from __future__ import annotations

import datetime as _dt
import json
from importlib import resources
from pathlib import Path
from typing import Any


class ClinicalDataError(ValueError):
    """A scale, protocol or catalogue file is unreadable or inconsistent.

    The message names the file and the exact place, so a technician can fix the file without reading code.
    """


def load_json(path: str | Path) -> Any:
    """Parse a JSON file, turning every failure into a :class:`ClinicalDataError` naming file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClinicalDataError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClinicalDataError(f"{p}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClinicalDataError(f"{p}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def resource_dir(name: str) -> Path:
    """Folder of a built-in data set under the ``resources`` package (``scales``, ``protocols``)."""
    return Path(str(resources.files("resources"))) / name


def resource_file(name: str) -> Path:
    """A built-in data file at the top of the ``resources`` package."""
    return Path(str(resources.files("resources"))) / name


def to_epoch(at: Any) -> float | None:
    """POSIX seconds from a float/int, an aware ``datetime`` (naive ones are taken as UTC) or ``None``."""
    if at is None:
        return None
    if isinstance(at, bool):
        raise TypeError("a time cannot be a bool")
    if isinstance(at, (int, float)):
        return float(at)
    if isinstance(at, _dt.datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=_dt.timezone.utc)
        return at.timestamp()
    if isinstance(at, str):
        text = at.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return to_epoch(_dt.datetime.fromisoformat(text))
        except ValueError:
            raise ValueError(f"not a date-time: {at!r}") from None
    raise TypeError(f"not a time: {at!r}")


def field(obj: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from a dict or an object (service entries are objects, tests often pass dicts)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def require(cond: bool, where: str, message: str) -> None:
    """Raise :class:`ClinicalDataError` with ``where: message`` unless ``cond``."""
    if not cond:
        raise ClinicalDataError(f"{where}: {message}")


def is_int(value: Any) -> bool:
    """True for a real integer (``bool`` is not a score)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for an int or float that is not a bool and not NaN."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def iso_utc(at: Any) -> str:
    """UTC ISO text with microseconds and ``Z`` (what the record stores for times inside entry data)."""
    t = to_epoch(at)
    if t is None:
        raise ValueError("a time is required")
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
