"""The site trust directory: what anchors the record outside the database.

A database administrator, or anyone holding a copy of the record, can rewrite every row and recompute every
hash. What they cannot do is sign with a key they do not hold or unwrite a line already written elsewhere.
So the trust lives here, in a folder outside the database (default: ``trust`` in the user data folder;
``$CHAIRSIDE_TRUST_DIR``; or ``open_database(..., trust_dir=...)``):

``site_key.pem``
    The site's Ed25519 private key (mode 0600). It certifies user keys and signs witness lines and
    unattended checkpoints. Only the workstation needs it; an auditor never does.
``registry.json``
    The public keys. ``site_keys``: the site keys in order, each after the first endorsed (signed) by the one
    before; key *i* is valid from its ``valid_from`` until key *i+1*'s. ``user_keys``: one certificate per
    user key (user id and name, public key, ``valid_from``, ``valid_until`` once retired), signed by a site
    key. Verification trusts only this file, never the copy of public keys in the database.
``witness.jsonl``
    Append-only JSON lines, fsynced: every seal and every chain checkpoint (record id, session, entry seq and
    hash, time), each line signed by the site key. Verification checks that every line still matches the
    database. More witness files can be configured (``config.json`` ``{"witnesses": [paths]}`` or
    ``$CHAIRSIDE_WITNESS_PATHS``, separated by the OS path separator); each line goes to all of them.

An auditor on another computer copies ``registry.json`` and the witness files into a folder and runs
``chairside verify --trust-dir FOLDER``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs

from console.record.canonical import canonical_json
from console.record.keys import KeyPair, verify_signature
from console.record.timeutil import iso, utcnow

log = logging.getLogger(__name__)

ENV_TRUST_DIR = "CHAIRSIDE_TRUST_DIR"
ENV_WITNESS_PATHS = "CHAIRSIDE_WITNESS_PATHS"
SITE_KEY_FILE = "site_key.pem"
REGISTRY_FILE = "registry.json"
WITNESS_FILE = "witness.jsonl"
CONFIG_FILE = "config.json"
REGISTRY_FORMAT = "chairside-trust-registry-v1"

_lock = threading.RLock()


class TrustError(Exception):
    """The trust directory cannot be used (unreadable, damaged, not writable); the message says which."""


def default_trust_dir() -> Path:
    env = os.environ.get(ENV_TRUST_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("chairside")) / "trust"


def site_key_message(key_id: str, public_b64: str, valid_from: str) -> bytes:
    return canonical_json({"purpose": "chairside-site-key-v1", "key_id": key_id, "public_key": public_b64,
                           "valid_from": valid_from}).encode()


def user_cert_message(c: dict[str, Any]) -> bytes:
    return canonical_json({"purpose": "chairside-user-key-v1", "key_id": c["key_id"], "user_id": c["user_id"],
                           "username": c["username"], "public_key": c["public_key"],
                           "valid_from": c["valid_from"], "valid_until": c.get("valid_until")}).encode()


def witness_message(line: dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in line.items() if k != "sig"}).encode()


@dataclass(slots=True)
class WitnessLine:
    """One line of a witness file (``data`` is the whole JSON object) and where it was read."""

    data: dict[str, Any]
    source: str
    line_no: int


@dataclass(slots=True)
class WitnessRead:
    lines: list[WitnessLine] = field(default_factory=list)
    #: (path, what is wrong) for witness files that are missing or have damaged lines
    damage: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes sharing the trust folder (POSIX flock; elsewhere in-process)."""
    with _lock:
        try:
            import fcntl
        except ImportError:  # Windows: one console per workstation, the in-process lock suffices
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _torn_tail(fd: int) -> str:
    """A newline when the file does not end with one (a line cut by a power loss), so the next line is not
    glued onto it and lost with it: the cut line stays a single damaged line that verify names."""
    size = os.fstat(fd).st_size
    if not size:
        return ""
    os.lseek(fd, size - 1, os.SEEK_SET)  # O_APPEND still writes at the end (os.pread is POSIX only)
    return "" if os.read(fd, 1) == b"\n" else "\n"


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class TrustDir:
    """A site trust directory (see the module docstring). Nothing is read or created until needed."""

    def __init__(self, path: str | Path | None = None, witnesses: Sequence[str | Path] = ()) -> None:
        self.path = Path(path).expanduser() if path else default_trust_dir()
        self._extra = [Path(w).expanduser() for w in witnesses]

    def __repr__(self) -> str:
        return f"TrustDir({str(self.path)!r})"

    # ------------------------------------------------------------------ locations
    @property
    def witness_path(self) -> Path:
        return self.path / WITNESS_FILE

    @property
    def registry_path(self) -> Path:
        return self.path / REGISTRY_FILE

    def witness_paths(self) -> list[Path]:
        """The primary witness file, then every other configured location."""
        out = [self.witness_path, *self._extra]
        env = os.environ.get(ENV_WITNESS_PATHS, "")
        out += [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
        cfg = self.path / CONFIG_FILE
        if cfg.is_file():
            try:
                out += [Path(p).expanduser() for p in json.loads(cfg.read_text("utf-8")).get("witnesses", [])]
            except (OSError, ValueError, AttributeError, TypeError) as err:
                raise TrustError(f"the trust configuration {cfg} cannot be read: {err}") from err
        seen: set[Path] = set()
        return [p for p in out if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]

    # ------------------------------------------------------------------ registry
    def exists(self) -> bool:
        return self.registry_path.is_file()

    def load_registry(self) -> dict[str, Any]:
        """The registry's JSON; an empty one when the file does not exist. :class:`TrustError` if damaged."""
        try:
            data = json.loads(self.registry_path.read_text("utf-8"))
        except FileNotFoundError:
            return {"format": REGISTRY_FORMAT, "site_keys": [], "user_keys": []}
        except (OSError, ValueError) as err:
            raise TrustError(f"the key registry {self.registry_path} cannot be read: {err}") from err
        if not isinstance(data, dict) or data.get("format") != REGISTRY_FORMAT:
            raise TrustError(f"{self.registry_path} is not a Chairside key registry")
        return data

    def _save_registry(self, reg: dict[str, Any]) -> None:
        _write_atomic(self.registry_path, json.dumps(reg, indent=1, sort_keys=True) + "\n")

    def site_key(self) -> KeyPair:
        """The current site key pair, created (with the folder and registry) on first use."""
        with _file_lock(self.path / ".lock"):
            return self._site_key_locked()

    def _site_key_locked(self) -> KeyPair:
        path = self.path / SITE_KEY_FILE
        try:
            pair = KeyPair.from_pem(path.read_bytes())
        except FileNotFoundError:
            pair = None
        except (OSError, ValueError, TypeError) as err:
            raise TrustError(f"the site key {path} cannot be read: {err}") from err
        reg = self.load_registry()
        if pair is None:
            if reg["site_keys"]:
                raise TrustError(f"the site key file {path} is missing but {self.registry_path} names site "
                                 "keys: restore it from the site's backup or rotate the site key "
                                 "(see docs/security.md)")
            self.path.mkdir(parents=True, exist_ok=True)
            pair = KeyPair.generate()
            _write_atomic(path, pair.private_pem().decode("ascii"), 0o600)
            now = iso(utcnow())
            reg["site_keys"].append({"key_id": pair.key_id, "public_key": pair.public_b64, "valid_from": now,
                                     "endorsed_by": None, "endorsement": None})
            self._save_registry(reg)
        elif not any(k["key_id"] == pair.key_id for k in reg["site_keys"]):
            raise TrustError(f"the site key in {path} is not in the registry {self.registry_path}")
        return pair

    def rotate_site_key(self) -> KeyPair:
        """Replace the site key: the new one is endorsed by the old, which stays in the registry (its
        signatures stay verifiable) but signs nothing more. Returns the new key."""
        with _file_lock(self.path / ".lock"):
            old = self._site_key_locked()
            new = KeyPair.generate()
            now = iso(utcnow())
            reg = self.load_registry()
            reg["site_keys"].append({"key_id": new.key_id, "public_key": new.public_b64, "valid_from": now,
                                     "endorsed_by": old.key_id,
                                     "endorsement": old.sign(site_key_message(new.key_id, new.public_b64,
                                                                              now))})
            path = self.path / SITE_KEY_FILE
            _write_atomic(path.with_name(f"site_key.retired-{old.key_id[:12]}.pem"),
                          old.private_pem().decode("ascii"), 0o600)
            _write_atomic(path, new.private_pem().decode("ascii"), 0o600)
            self._save_registry(reg)
            return new

    def certify_user_key(self, user_id: int, username: str, public_b64: str, key_id: str,
                         valid_from: datetime | None = None) -> dict[str, Any]:
        """Add a user key's certificate (signed by the site key) to the registry; idempotent."""
        with _file_lock(self.path / ".lock"):
            site = self._site_key_locked()
            reg = self.load_registry()
            for c in reg["user_keys"]:
                if c["key_id"] == key_id:
                    return dict(c)
            cert: dict[str, Any] = {"key_id": key_id, "user_id": user_id, "username": username,
                                    "public_key": public_b64, "valid_from": iso(valid_from or utcnow()),
                                    "valid_until": None}
            cert["certified_by"] = site.key_id
            cert["cert"] = site.sign(user_cert_message(cert))
            reg["user_keys"].append(cert)
            self._save_registry(reg)
            return dict(cert)

    def retire_user_key(self, key_id: str, at: datetime | None = None) -> None:
        """End a user key's validity (user left, password reset): its older signatures stay valid, anything
        it signs later is refused. The certificate is re-signed with the end time."""
        with _file_lock(self.path / ".lock"):
            site = self._site_key_locked()
            reg = self.load_registry()
            for c in reg["user_keys"]:
                if c["key_id"] == key_id and c.get("valid_until") is None:
                    c["valid_until"] = iso(at or utcnow())
                    c["certified_by"] = site.key_id
                    c["cert"] = site.sign(user_cert_message(c))
                    self._save_registry(reg)
                    return

    def user_cert(self, key_id: str) -> dict[str, Any] | None:
        for c in self.load_registry()["user_keys"]:
            if c["key_id"] == key_id:
                return dict(c)
        return None

    # ------------------------------------------------------------------ witness
    def witness(self, line: dict[str, Any]) -> list[str]:
        """Stamp ``line`` with the time, sign it with the site key and append it to every witness file
        (fsynced).

        Raises :class:`TrustError` when the primary witness cannot be written; returns the problems with
        the other locations (logged) so the caller can show them.
        """
        site = self.site_key()
        data = dict(line, key_id=site.key_id, at=iso(utcnow()))  # stamped when written, under this key
        data["sig"] = site.sign(witness_message(data))
        text = json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
        problems: list[str] = []
        for i, path in enumerate(self.witness_paths()):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with _file_lock(path.with_name(f".{path.name}.lock")):
                    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
                    fd = os.open(path, flags, 0o644)
                    try:
                        os.write(fd, (_torn_tail(fd) + text).encode("utf-8"))
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            except OSError as err:
                if i == 0:
                    raise TrustError(f"the witness file {path} cannot be written: {err}") from err
                problems.append(f"the witness copy {path} cannot be written: {err}")
                log.warning("witness copy %s not written: %s", path, err)
        return problems

    def read_witness(self, record_id: str, session_id: int | None = None) -> WitnessRead:
        """Every witness line about ``record_id`` (and ``session_id`` if given) from every witness file,
        duplicates merged. Lines are written with sorted keys and no spaces, so lines about other records
        or sessions are skipped by a text match before any JSON is parsed (a witness grows for years)."""
        out = WitnessRead()
        seen: set[str] = set()
        # (how Chairside writes the field, how it writes it for this record/session)
        marks = [('"record":"', f'"record":{json.dumps(record_id)}')]
        if session_id is not None:
            marks += [(f'"session_id":{d}', f'"session_id":{int(session_id)},') for d in "0123456789"]
        for path in self.witness_paths():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                out.damage.append((str(path), "missing"))
                continue
            except OSError as err:
                out.damage.append((str(path), f"unreadable: {err}"))
                continue
            for n, raw in enumerate(text.splitlines(), 1):
                if not raw.strip() or any(form in raw and mk not in raw for form, mk in marks):
                    continue  # a line Chairside wrote about something else; any other line is parsed
                try:
                    d = json.loads(raw)
                except ValueError:
                    d = None
                if not isinstance(d, dict):
                    out.damage.append((str(path), f"line {n} is damaged"))
                    continue
                if d.get("record") != record_id:
                    continue
                key = json.dumps(d, sort_keys=True)
                if key in seen:
                    continue
                seen.add(key)
                out.lines.append(WitnessLine(d, str(path), n))
        return out


def site_key_valid_at(reg: dict[str, Any], key_id: str, at: str) -> tuple[bool, str]:
    """Whether ``key_id`` is an endorsed site key that was current at ``at`` (ISO UTC text), with a reason."""
    keys = reg.get("site_keys") or []
    for i, k in enumerate(keys):
        if i > 0:
            prev = keys[i - 1]
            if k.get("endorsed_by") != prev["key_id"] or not verify_signature(
                    prev["public_key"], k.get("endorsement") or "",
                    site_key_message(k["key_id"], k["public_key"], k["valid_from"])):
                return False, f"site key {k['key_id'][:12]} is not endorsed by the site key before it"
        if k["key_id"] == key_id:
            until = keys[i + 1]["valid_from"] if i + 1 < len(keys) else None
            if at < k["valid_from"] or (until is not None and at >= until):
                return False, (f"site key {key_id[:12]} was not the current site key at {at} "
                               f"(valid {k['valid_from']} to {until or 'now'})")
            return True, ""
    return False, f"site key {key_id[:12]} is not in the registry"


def site_public(reg: dict[str, Any], key_id: str) -> str | None:
    for k in reg.get("site_keys") or []:
        if k["key_id"] == key_id:
            return str(k["public_key"])
    return None


def check_user_cert(reg: dict[str, Any], cert: dict[str, Any]) -> str:
    """Empty when ``cert`` is signed by a site key in the registry's chain; else the reason."""
    pub = site_public(reg, cert.get("certified_by") or "")
    if pub is None:
        return f"its certificate names a site key {str(cert.get('certified_by'))[:12]} the registry lacks"
    ok, reason = site_key_valid_at(reg, cert["certified_by"], cert["valid_from"])
    if not ok and "not endorsed" in reason:
        return reason
    if not verify_signature(pub, cert.get("cert") or "", user_cert_message(cert)):
        return "its certificate in the registry is not validly signed by the site key"
    return ""
