"""Password hashing with argon2id (argon2-cffi).

Production parameters are argon2-cffi's defaults (RFC 9106 low-memory profile). Tests and scripts that create
many users can switch to cheap parameters with :func:`use_fast_hashing` or the environment variable
``CHAIRSIDE_FAST_HASH=1`` (read when the hasher is first used): never in a clinic. Hashes made with other
parameters still verify, and are upgraded to the current parameters at the next successful login.
"""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_lock = threading.Lock()
_hasher: PasswordHasher | None = None

MIN_LENGTH = 8


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


def check_new_password(password: str) -> None:
    """Raise ``ValueError`` with a plain reason when a new password is too weak to accept."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must have at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise ValueError("the password must not start or end with spaces")
