"""Signing the record: user keys in the database, seals signed with them, seals and checkpoints witnessed.

* A user's key pair is made when an admin adds the user or sets their password (the old key is retired, so
  its signatures stay valid but it signs nothing more), and for accounts that have none (older databases,
  demo accounts) at their first signature, once their password has opened nothing else. Its public half is
  certified by the site key in the trust registry (:mod:`console.record.trust`).
* At sign-off the seal (:func:`console.record.chain.seal`: chain head, signer, meaning, time) is signed with
  the signer's private key, unwrapped with the password they re-enter, and the signature entry is written
  to the witness.
* A checkpoint (:meth:`console.record.database.Database.anchor_checkpoint`) signs a session's current head
  with the site key into the witness: at every ``checkpoint`` entry and when a session closes.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from console.record import keys
from console.record import models as m
from console.record.canonical import canonical_json
from console.record.errors import AuthError, RecordError
from console.record.records import UserContext
from console.record.timeutil import utcnow
from console.record.trust import TrustDir, TrustError

log = logging.getLogger(__name__)

SEAL_PURPOSE = "chairside-seal-v1"


class SigningUnavailable(RecordError):
    """A signature cannot be made (the key does not open, was retired, or the trust folder is unusable)."""


def record_id(s: OrmSession) -> str:
    """This record's id (``record_meta``); empty when it is missing (verification reports that)."""
    return s.scalar(select(m.RecordMeta.value).where(m.RecordMeta.name == "record_id")) or ""


def seal_message(record: str, session_id: int, seal: str, key_id: str) -> bytes:
    """The bytes a signer signs: the seal (chain head, signer, meaning, time) in this record and session."""
    return canonical_json({"purpose": SEAL_PURPOSE, "record": record, "session_id": session_id,
                           "seal": seal, "key_id": key_id}).encode()


def create_user_key(s: OrmSession, trust: TrustDir, user: m.User, password: str,
                    at: datetime | None = None) -> m.UserKey:
    """Make, wrap, store and certify a new key for ``user`` (inside the caller's transaction)."""
    pair = keys.KeyPair.generate()
    now = at or utcnow()
    row = m.UserKey(user_id=user.id, key_id=pair.key_id, public_key=pair.public_b64,
                    wrapped_private=keys.wrap(pair, password, str(user.id)), created_at=now, retired_at=None)
    s.add(row)
    s.flush()
    try:
        trust.certify_user_key(user.id, user.username, pair.public_b64, pair.key_id, now)
    except (TrustError, OSError) as err:
        raise SigningUnavailable(f"the signing key of {user.username} cannot be registered: {err}") from err
    return row


def retire_user_keys(s: OrmSession, trust: TrustDir, user_id: int, at: datetime | None = None) -> int:
    """Retire every active key of a user (in the database and the registry); the number retired."""
    now = at or utcnow()
    rows = list(s.scalars(select(m.UserKey).where(m.UserKey.user_id == user_id,
                                                  m.UserKey.retired_at.is_(None))))
    for r in rows:
        r.retired_at = now
        try:
            trust.retire_user_key(r.key_id, now)
        except (TrustError, OSError) as err:
            raise SigningUnavailable(f"the signing key {r.key_id[:12]} cannot be retired: {err}") from err
    return len(rows)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A user's opened key pair and whose it is."""

    user_id: int
    pair: keys.KeyPair


def open_signing_key(s: OrmSession, trust: TrustDir, user: UserContext, password: str) -> SigningKey | None:
    """The signer's key pair, opened with the password they just re-entered; ``None`` when they have no
    key yet (see :func:`make_signing_key`). Reads only (the registry may gain the key's certificate).

    The registry decides: a key it lists as retired signs nothing, and a key whose public half differs from
    the registry's is refused (someone replaced it in the database).
    """
    row = s.scalar(select(m.UserKey).where(m.UserKey.user_id == user.id, m.UserKey.retired_at.is_(None))
                   .order_by(m.UserKey.id.desc()).limit(1))
    if row is None:
        return None
    try:
        pair = keys.unwrap(row.wrapped_private, password, str(user.id))
    except keys.KeyUnwrapError as err:
        raise SigningUnavailable(f"the signing key of {user.username} does not open with this password: it "
                                 "was altered or replaced in the database; ask an administrator to reset "
                                 "the password (a new key is made)") from err
    try:
        cert = trust.user_cert(pair.key_id)
        if cert is None:
            # the key opened with the user's password, so it is theirs: register it (older databases)
            cert = trust.certify_user_key(user.id, user.username, pair.public_b64, pair.key_id)
    except (TrustError, OSError) as err:
        raise SigningUnavailable(f"the site trust folder cannot be used: {err}") from err
    if cert["public_key"] != pair.public_b64 or cert["user_id"] != user.id:
        raise SigningUnavailable(f"the signing key {pair.key_id[:12]} is registered to someone else")
    if cert.get("valid_until") is not None:
        raise SigningUnavailable(f"the signing key of {user.username} was retired at {cert['valid_until']}; "
                                 "ask an administrator to set a new password (a new key is made)")
    return SigningKey(user.id, pair)


def make_signing_key(s: OrmSession, trust: TrustDir, actor: UserContext, password: str) -> SigningKey:
    """Give a user without a key (older databases, demo accounts) one under the password they just proved,
    and open it (inside a write transaction)."""
    user = s.get(m.User, actor.id)
    if user is None:
        raise AuthError(f"the account {actor.username} no longer exists")
    opened = open_signing_key(s, trust, actor, password)  # another console may have just made one
    if opened is not None:
        return opened
    create_user_key(s, trust, user, password)
    made = open_signing_key(s, trust, actor, password)
    assert made is not None
    return made


def seal_fields(record: str, session_id: int, pair: keys.KeyPair, seal: str) -> dict[str, Any]:
    """What a signature entry's data adds to the seal: the key id and the Ed25519 signature."""
    message = seal_message(record, session_id, seal, pair.key_id)
    return {"key_id": pair.key_id, "signature": pair.sign(message)}


def witness_line(kind: str, record: str, session_id: int, seq: int, entry_hash: str,
                 **extra: Any) -> dict[str, Any]:
    """A witness line (the witness stamps its time and signs it when it writes it)."""
    return {"kind": kind, "record": record, "session_id": session_id, "seq": seq, "hash": entry_hash, **extra}


def seal_fingerprint(data: dict[str, Any]) -> str:
    """A short printable fingerprint of a signature entry's data (for paper copies): the first 16 hex
    digits of the SHA-256 of its Ed25519 signature, and the first 8 of its key id."""
    sig = str(data.get("signature") or "")
    if not sig:
        return f"{str(data.get('seal', ''))[:16]} (unkeyed)"
    try:
        digest = hashlib.sha256(base64.b64decode(sig)).hexdigest()[:16]
    except ValueError:
        digest = "damaged"
    return f"{digest} key {str(data.get('key_id', ''))[:8]}"
