"""Password hashing with argon2id (argon2-cffi), and the policy a new password must meet.

Production parameters are argon2-cffi's defaults (RFC 9106 low-memory profile). Tests and scripts that create
many users can switch to cheap parameters with :func:`use_fast_hashing` or the environment variable
``CHAIRSIDE_FAST_HASH=1`` (read when the hasher is first used): never in a clinic. Hashes made with other
parameters still verify, and are upgraded to the current parameters at the next successful login.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # ships common-password frequency lists

_lock = threading.Lock()
_hasher: PasswordHasher | None = None

#: Minimum length of a new password. 12 rather than 8: a clinician types it at the chair several times a
#: session, so it must stay typeable, but a three-word passphrase ("amber chair window") clears 12 easily,
#: while 8 characters falls to an offline search of a stolen backup's argon2 hashes far sooner. Online
#: guessing is bounded separately by throttling and lockout (console.record.lockout).
MIN_LENGTH = 12
#: zxcvbn score a new password must reach (0-4); 3 means it takes at least 10^8 guesses by zxcvbn's estimate,
#: which refuses the common-password lists it ships ("password", "12345678", keyboard walks, names, years).
MIN_SCORE = 3


def use_fast_hashing(enabled: bool = True) -> None:
    """Switch to cheap argon2 parameters (tests only) or back to the defaults."""
    global _hasher
    with _lock:
        _hasher = (PasswordHasher(time_cost=1, memory_cost=8, parallelism=1) if enabled
                   else PasswordHasher())


def hasher() -> PasswordHasher:
    global _hasher
    with _lock:
        if _hasher is None:
            fast = os.environ.get("CHAIRSIDE_FAST_HASH", "") not in ("", "0")
            _hasher = (PasswordHasher(time_cost=1, memory_cost=8, parallelism=1) if fast
                       else PasswordHasher())
        return _hasher


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; false for a mismatch or an unusable stored hash (never raises)."""
    try:
        return hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


def check_new_password(password: str, user_inputs: Sequence[str] = ()) -> None:
    """Raise ``ValueError`` with a plain reason when a new password is too weak to accept.

    ``user_inputs`` (the user name, full name) count as known words: a password built from them is weak.
    """
    if password.strip() != password:
        raise ValueError("the password must not start or end with spaces")
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must have at least {MIN_LENGTH} characters")
    # zxcvbn is slow on very long inputs; past 100 characters the length alone makes it strong enough
    result = zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])
    if result["score"] < MIN_SCORE:
        warning = (result.get("feedback") or {}).get("warning") or "it is too easy to guess"
        raise ValueError(f"the password is too easy to guess ({warning.rstrip('.').lower()}); "
                         "choose a longer phrase of unrelated words")
