"""Roles and what each may do. The service checks these on every write; the UI may use them to grey out.

* clinician: creates patients and sessions, writes, amends and signs clinical entries, resumes or closes
  interrupted sessions, records protocol (clinical configuration) changes;
* technician: manages device profiles and records the raw bytes of device links (diagnosis);
* auditor: reads everything, writes nothing;
* admin: manages users and may also change device profiles (the device issue: "only technicians and admins
  change them") and record raw bytes; never clinical entries.

Reading and replaying raw recordings needs no permission (everyone may read the record).
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    CLINICIAN = "clinician"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)

#: action name → roles allowed to perform it
PERMISSIONS: dict[str, frozenset[str]] = {
    "create_patient": frozenset({Role.CLINICIAN}),
    "start_session": frozenset({Role.CLINICIAN}),
    "add_entry": frozenset({Role.CLINICIAN}),
    "amend": frozenset({Role.CLINICIAN}),
    "sign": frozenset({Role.CLINICIAN}),
    "resume_session": frozenset({Role.CLINICIAN}),
    "close_interrupted": frozenset({Role.CLINICIAN}),
    "record_vitals": frozenset({Role.CLINICIAN}),
    "log_protocol_change": frozenset({Role.CLINICIAN}),
    "save_device_profile": frozenset({Role.TECHNICIAN, Role.ADMIN}),
    "delete_device_profile": frozenset({Role.TECHNICIAN, Role.ADMIN}),
    "record_raw_bytes": frozenset({Role.TECHNICIAN, Role.ADMIN}),
    "add_user": frozenset({Role.ADMIN}),
    "disable_user": frozenset({Role.ADMIN}),
    "enable_user": frozenset({Role.ADMIN}),
    "set_password": frozenset({Role.ADMIN}),
    "rotate_site_key": frozenset({Role.ADMIN}),
    # the central board shows every chair's patient code and live state: the nurses in charge of the chairs
    # (clinicians, among them the charge nurse) and admins who set it up; auditors review the saved record
    "view_board": frozenset({Role.CLINICIAN, Role.ADMIN}),
}

#: plain words for each action, used in PermissionDenied messages
ACTION_WORDS: dict[str, str] = {
    "create_patient": "add patients",
    "start_session": "start sessions",
    "add_entry": "write clinical entries",
    "amend": "amend clinical entries",
    "sign": "sign sessions",
    "resume_session": "resume interrupted sessions",
    "close_interrupted": "close interrupted sessions",
    "record_vitals": "record vitals",
    "log_protocol_change": "change protocols",
    "save_device_profile": "change device profiles",
    "delete_device_profile": "delete device profiles",
    "record_raw_bytes": "record the raw bytes of a device",
    "add_user": "add users",
    "disable_user": "disable users",
    "enable_user": "enable users",
    "set_password": "set passwords",
    "rotate_site_key": "rotate the site key",
    "view_board": "open the central board",
}


def allowed(role: str, action: str) -> bool:
    return role in PERMISSIONS[action]


def who_may(action: str) -> str:
    names = sorted(PERMISSIONS[action])
    return " or ".join(f"{n}s" for n in names)
