"""Plain messages for what the record service can refuse, so the panel never shows a traceback.

The service (``console.record``) raises ``PermissionDenied`` for a role without the right, ``StorageUnavailable``
when the database cannot be written, ``AuthError`` for a wrong password and ``InvalidEntry`` (a ``ValueError``)
for data it cannot store. Anything else is unexpected, but still only a message: the form keeps its content.
"""

from __future__ import annotations

try:  # the record package is written alongside; keep the panel importable without it
    from console.record.errors import AuthError, PermissionDenied, RecordError, StorageUnavailable
except ImportError:  # pragma: no cover - only before console.record exists
    class RecordError(Exception):  # type: ignore[no-redef]
        """Stand-in base class."""

    class StorageUnavailable(RecordError):  # type: ignore[no-redef]
        """Stand-in: the database cannot be written."""

    class PermissionDenied(RecordError):  # type: ignore[no-redef]
        """Stand-in: the role does not allow the action."""

    class AuthError(RecordError):  # type: ignore[no-redef]
        """Stand-in: wrong user name or password."""

PERMISSION, STORAGE, AUTH, INVALID, ERROR = "permission", "storage", "auth", "invalid", "error"


def classify(exc: BaseException) -> str:
    """Which kind of refusal ``exc`` is (matched by class, or by class name for a look-alike service)."""
    names = {c.__name__ for c in type(exc).__mro__}
    if isinstance(exc, PermissionDenied) or "PermissionDenied" in names:
        return PERMISSION
    if isinstance(exc, StorageUnavailable) or "StorageUnavailable" in names:
        return STORAGE
    if isinstance(exc, AuthError) or "AuthError" in names:
        return AUTH
    if isinstance(exc, (ValueError, RecordError)):
        return INVALID
    return ERROR


def failure_message(exc: BaseException, what: str = "the entry") -> str:
    """One or two sentences for the clinician: what happened, and that nothing typed was lost."""
    kind = classify(exc)
    detail = str(exc).strip() or type(exc).__name__
    if kind == PERMISSION:
        return f"Not allowed: {detail}"
    if kind == STORAGE:
        return f"{what[0].upper()}{what[1:]} was NOT saved. {detail} What you entered is still in the form: " \
               "press Save again when storage is back."
    if kind == AUTH:
        return detail
    if kind == INVALID:
        return f"Cannot save {what}: {detail}"
    return f"{what[0].upper()}{what[1:]} was NOT saved (unexpected {type(exc).__name__}: {detail}). " \
           "What you entered is still in the form."
