"""Ed25519 signing keys and their password wrapping (the ``cryptography`` library; no home-made crypto).

Every user has one key pair. Its private half is stored *wrapped*: encrypted with AES-256-GCM under a key
derived from the user's password with argon2id (argon2-cffi's ``hash_secret_raw``), so the database holds
nothing that can sign without the password. The argon2 parameters are those of the password hasher
(:func:`console.record.passwords.hasher`), so the tests' fast mode (``CHAIRSIDE_FAST_HASH``) applies here
too, and the parameters used are stored with the wrapped key so it always unwraps.

A key is named by its *key id*: the first 32 hex digits of the SHA-256 of its raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from console.record import passwords

WRAP_FORMAT = "chairside-wrapped-ed25519-v1"


class KeyUnwrapError(Exception):
    """The wrapped key does not open with this password, or it was altered."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: bytes) -> str:
    """The key id of a raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public).hexdigest()[:32]


def load_public(public_b64: str) -> Ed25519PublicKey:
    """A public key from its base64 raw form; ``ValueError`` for anything else."""
    return Ed25519PublicKey.from_public_bytes(unb64(public_b64))


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key with its public half and id."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return public_raw(self.private.public_key())

    @property
    def public_b64(self) -> str:
        return b64(self.public)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)

    def sign(self, message: bytes) -> str:
        """The base64 Ed25519 signature of ``message``."""
        return b64(self.private.sign(message))

    @staticmethod
    def generate() -> KeyPair:
        return KeyPair(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (only for the site key file, which is mode 0600)."""
        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())

    @staticmethod
    def from_pem(data: bytes) -> KeyPair:
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError("the key file does not hold an Ed25519 private key")
        return KeyPair(key)


def verify_signature(public_b64: str, signature_b64: str, message: bytes) -> bool:
    """True when ``signature_b64`` is a valid Ed25519 signature of ``message`` by that key (never raises)."""
    try:
        load_public(public_b64).verify(unb64(signature_b64), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _kek(password: str, salt: bytes, t: int, m: int, p: int) -> bytes:
    return hash_secret_raw(password.encode("utf-8"), salt, time_cost=t, memory_cost=m, parallelism=p,
                           hash_len=32, type=Type.ID)


def wrap(pair: KeyPair, password: str, context: str) -> str:
    """The private key encrypted under the password (JSON text). ``context`` (e.g. the user id) is bound in
    as associated data, so a wrapped key copied to another user does not open."""
    h = passwords.hasher()
    salt, nonce = os.urandom(16), os.urandom(12)
    raw = pair.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
    ct = AESGCM(_kek(password, salt, h.time_cost, h.memory_cost, h.parallelism)).encrypt(
        nonce, raw, f"{pair.key_id}|{context}".encode())
    return json.dumps({"format": WRAP_FORMAT, "kdf": "argon2id", "t": h.time_cost, "m": h.memory_cost,
                       "p": h.parallelism, "salt": b64(salt), "nonce": b64(nonce), "ct": b64(ct),
                       "key_id": pair.key_id}, sort_keys=True)


def unwrap(wrapped: str, password: str, context: str) -> KeyPair:
    """The key pair inside ``wrapped``; :class:`KeyUnwrapError` when the password or the blob is wrong."""
    try:
        d = json.loads(wrapped)
        if d.get("format") != WRAP_FORMAT or d.get("kdf") != "argon2id":
            raise KeyUnwrapError("the stored signing key has an unknown format")
        kek = _kek(password, unb64(d["salt"]), int(d["t"]), int(d["m"]), int(d["p"]))
        raw = AESGCM(kek).decrypt(unb64(d["nonce"]), unb64(d["ct"]), f"{d['key_id']}|{context}".encode())
        pair = KeyPair(Ed25519PrivateKey.from_private_bytes(raw))
    except KeyUnwrapError:
        raise
    except (InvalidTag, ValueError, KeyError, TypeError) as err:
        raise KeyUnwrapError("the signing key does not open with this password (or it was altered)") from err
    if pair.key_id != d["key_id"]:
        raise KeyUnwrapError("the signing key does not match its recorded id")
    return pair


def rewrap(wrapped: str, old_password: str, new_password: str, context: str) -> str:
    """The same key wrapped under a new password (a user changing their own password keeps their key)."""
    return wrap(unwrap(wrapped, old_password, context), new_password, context)
