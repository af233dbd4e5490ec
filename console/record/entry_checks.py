"""The entry model applied at the service: what ``add_entry``, ``check_entry`` and ``amend`` refuse.

The payload models live in :mod:`console.clinical.entry_model` (Qt-free, shared with the readers); this module
turns their verdicts into the record's :class:`~console.record.errors.InvalidEntry` with a one-line message.
"""

from __future__ import annotations

import json
from typing import Any

from console.clinical import entry_model
from console.record import models as m
from console.record.errors import InvalidEntry


def validate_new(kind: str, data: Any) -> None:
    """The entry model's verdict on a new entry (kind reserved or unknown, payload fields): InvalidEntry."""
    if kind in entry_model.SYSTEM_KINDS:
        raise InvalidEntry(f"reserved entry kind {kind!r}: the record writes it itself "
                           f"(use {entry_model.SYSTEM_KINDS[entry_model.EntryKind(kind)]}), not add_entry")
    if kind not in entry_model.USER_KINDS:
        raise InvalidEntry(f"unknown entry kind {kind!r}; the kinds are: {', '.join(sorted(entry_model.USER_KINDS))}")
    try:
        entry_model.validate_payload(kind, data)
    except entry_model.EntryPayloadError as err:
        raise InvalidEntry(str(err)) from None


def validate_correction(original: m.Entry, data: dict[str, Any]) -> None:
    """An amendment corrects an original entry with a complete, valid payload of that entry's kind."""
    if original.kind == entry_model.EntryKind.AMENDMENT:
        raise InvalidEntry(f"entry #{original.seq} is itself an amendment: correct the original entry "
                           f"(#{_original_seq(original)}) again instead; every correction stays in its chain")
    if original.kind in entry_model.NOT_AMENDABLE:
        raise InvalidEntry(f"a {original.kind} entry cannot be amended")
    try:
        entry_model.validate_payload(original.kind, data, amendment=True)
    except entry_model.EntryPayloadError as err:
        raise InvalidEntry(f"the correction is not a complete {original.kind} entry: {err}") from None


def _original_seq(amendment: m.Entry) -> Any:
    try:
        return json.loads(amendment.data_json).get("original_seq", "?")
    except (ValueError, AttributeError):
        return "?"
