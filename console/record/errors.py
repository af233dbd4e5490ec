"""Errors of the session record, each with a plain message a clinician or technician can act on."""

from __future__ import annotations


class RecordError(Exception):
    """Base class of every error the record raises on purpose (never a bare database error)."""


class StorageUnavailable(RecordError):
    """The database cannot be written or read right now (locked, disk full, server gone).

    Nothing was saved by the call that raised it; :class:`~console.record.outbox.EntryOutbox` keeps entries
    and retries so none is lost.
    """


class SchemaTooNew(RecordError):
    """The database was written by a newer Chairside (unknown schema revision): refused, not damaged."""


class NotAChairsideDatabase(RecordError):
    """The database holds tables but no Chairside schema revision: it is someone else's database."""


class PermissionDenied(RecordError):
    """The logged-in user's role does not allow this action."""


class AuthError(RecordError):
    """Wrong user name or password, or a disabled account (the message never says which)."""


class InvalidEntry(RecordError, ValueError):
    """An entry, patient or setting that cannot be recorded as given (the message says what is wrong)."""


class NotFound(RecordError, LookupError):
    """No such session, entry, patient, user or device profile."""


class SessionStateError(RecordError):
    """The session's state does not allow this (sealed, already closed, held by another console)."""
