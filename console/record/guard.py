"""Turn low-level database failures into :class:`StorageUnavailable` with a message a person can act on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

from console.record.errors import StorageUnavailable


def plain_message(err: BaseException) -> str:
    """Plain words for a storage failure (the technical text follows in brackets for the technician)."""
    raw = str(getattr(err, "orig", None) or err).strip().splitlines()[0] if str(err).strip() else repr(err)
    low = raw.lower()
    if "locked" in low or "busy" in low:
        what = "The record database is busy: another program holds it locked."
    elif "full" in low or "no space" in low:
        what = "The disk holding the record database is full."
    elif "readonly" in low or "read-only" in low or "read only" in low:
        what = "The record database cannot be written (read-only file or folder)."
    elif "unable to open" in low or "no such file" in low:
        what = "The record database file cannot be opened (missing folder or no permission)."
    elif ("connect" in low or "server" in low or "terminat" in low or "closed" in low
          or "timeout" in low or "does not allow connections" in low):
        what = "The record database server cannot be reached."
    else:
        what = "The record database cannot be used right now."
    return f"{what} Nothing was lost: unsaved entries are kept and retried. ({raw})"


@contextlib.contextmanager
def storage_guard() -> Iterator[None]:
    """Re-raise operational database errors (not constraint violations) as :class:`StorageUnavailable`."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as err:
        raise StorageUnavailable(plain_message(err)) from err
    except sa_exc.DBAPIError as err:
        if err.connection_invalidated:
            raise StorageUnavailable(plain_message(err)) from err
        raise
    except sa_exc.TimeoutError as err:  # connection pool exhausted
        raise StorageUnavailable(plain_message(err)) from err
    except OSError as err:
        raise StorageUnavailable(plain_message(err)) from err
