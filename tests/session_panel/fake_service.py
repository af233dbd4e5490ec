"""A small in-memory stand-in for ``console.record.service.SessionService`` with the same method names.

It raises the real ``console.record`` exceptions: ``PermissionDenied`` for a role other than clinician on any
write, and whatever is put in ``fail_with`` (e.g. ``StorageUnavailable``) on the next writes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from console.record.entry_checks import validate_correction, validate_new
from console.record.errors import AuthError, InvalidEntry, PermissionDenied

WORDS = {"create_patient": "add patients", "start_session": "start sessions", "add_entry": "write clinical entries",
         "amend": "amend clinical entries", "sign": "sign sessions"}


@dataclass
class FakeEntry:
    id: str
    kind: str
    at: dt.datetime
    data: dict[str, Any]
    amends: str | None = None


@dataclass
class FakeSession:
    id: int
    patient_id: int
    protocol_id: str
    protocol_version: str
    chair: str
    devices: list[Any]
    details: dict[str, Any]
    started_at: dt.datetime
    demo: bool = False
    entries: list[FakeEntry] = field(default_factory=list)


class FakeService:
    def __init__(self, clock, *, role: str = "clinician", password: str = "secret", demo: bool = False) -> None:
        self.clock = clock
        self.user = SimpleNamespace(id=7, username="ada", full_name="Ada Byron", role=role, demo=demo)
        self.password = password
        self.fail_with: BaseException | None = None
        self.patients: dict[int, SimpleNamespace] = {}
        self.sessions: dict[int, FakeSession] = {}
        self.signatures: list[tuple[int, str]] = []
        self._ids = itertools.count(1)

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def _write(self, action: str) -> None:
        if self.user.role != "clinician":
            raise PermissionDenied(f"A user with the role {self.user.role} cannot {WORDS[action]}; "
                                   "only clinicians can.")
        if self.fail_with is not None:
            raise self.fail_with

    def find_patient(self, code: str):
        return next((p for p in self.patients.values() if p.code == code), None)

    def create_patient(self, code, name=None, birth_date=None, sex=None, weight_kg=None):
        self._write("create_patient")
        if self.find_patient(code) is not None:
            raise InvalidEntry(f"a patient with code {code!r} already exists")
        pid = next(self._ids)
        self.patients[pid] = SimpleNamespace(id=pid, code=code, name=name, birth_date=birth_date, sex=sex,
                                             weight_kg=weight_kg, demo=self.user.demo)
        return self.patients[pid]

    def start_session(self, patient_id, protocol_id, protocol_version, chair, devices=(), details=None):
        self._write("start_session")
        sid = next(self._ids)
        self.sessions[sid] = FakeSession(sid, patient_id, protocol_id, protocol_version, chair, list(devices),
                                         dict(details or {}), self._now(), self.user.demo)
        return self.sessions[sid]

    def add_entry(self, session_id, kind, data, at=None):
        self._write("add_entry")
        validate_new(kind, data)  # the real service's entry model: the panel's payloads must pass it
        e = FakeEntry(f"e{next(self._ids)}", kind, at or self._now(), data)
        self.sessions[session_id].entries.append(e)
        return e

    def amend(self, session_id, entry_id, reason, data):
        self._write("amend")
        original = next(e for e in self.sessions[session_id].entries if e.id == entry_id)
        validate_correction(SimpleNamespace(kind=original.kind, seq=0, data_json="{}"), data)
        e = FakeEntry(f"e{next(self._ids)}", "amendment", self._now(),
                      {"reason": reason, "data": data, "original_kind": original.kind}, amends=entry_id)
        self.sessions[session_id].entries.append(e)
        return e

    def sign(self, session_id, password, meaning="authored"):
        self._write("sign")
        if password != self.password:
            raise AuthError("The password is not correct; the session was not signed.")
        self.signatures.append((session_id, meaning))
        e = FakeEntry(f"e{next(self._ids)}", "signature", self._now(),
                      {"signer_name": self.user.full_name, "meaning": meaning})
        self.sessions[session_id].entries.append(e)
        return e

    def entries(self, session_id):
        return list(self.sessions[session_id].entries)

    # test helpers
    def only_session(self) -> FakeSession:
        (s,) = self.sessions.values()
        return s

    def kinds(self) -> list[str]:
        return [e.kind for e in self.only_session().entries]

    def last(self, kind: str) -> FakeEntry:
        return [e for e in self.only_session().entries if e.kind == kind][-1]
