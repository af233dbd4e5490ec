"""The session record: tamper-evident clinical log, vitals storage, users and audit trail (no Qt).

Entry point::

    from console.record import open_database
    db = open_database(url)            # creates or upgrades the schema; SchemaTooNew on a newer database
    user = db.authenticate(name, pw)   # or db.demo_login()
    svc = db.service(user)             # every write goes through the service, which checks the role

See :mod:`console.record.service` for the record rules (append-only, amendments, sign-off) and
:mod:`console.record.chain` for the hash chain.
"""

from console.record.database import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    SIMULATION_USERNAME,
    Database,
    open_database,
)
from console.record.errors import (
    AuthError,
    InvalidEntry,
    NotAChairsideDatabase,
    NotFound,
    PermissionDenied,
    RecordError,
    SchemaTooNew,
    SessionStateError,
    StorageUnavailable,
)
from console.record.outbox import EntryOutbox, PendingEntry
from console.record.records import (
    CLINICAL_KINDS,
    ENTRY_KINDS,
    LATE_AFTER_S,
    SIGNATURE_MEANINGS,
    AuditRecord,
    DeviceProfileInfo,
    EntryRecord,
    PatientInfo,
    Problem,
    SessionInfo,
    SessionStatus,
    UserContext,
    UserInfo,
    VerifyResult,
)
from console.record.roles import ROLES, Role
from console.record.service import SessionService
from console.record.signing import SigningUnavailable
from console.record.vitals import NumericSeries, RecorderStatus, VitalsRecorder, WaveSeries

__all__ = [
    "AuditRecord", "AuthError", "CLINICAL_KINDS", "DEMO_PASSWORD", "DEMO_USERNAME", "Database",
    "DeviceProfileInfo", "ENTRY_KINDS", "EntryOutbox", "EntryRecord", "InvalidEntry", "LATE_AFTER_S",
    "NotAChairsideDatabase", "NotFound", "NumericSeries", "PatientInfo", "PendingEntry", "PermissionDenied",
    "Problem", "ROLES", "RecordError", "RecorderStatus", "Role", "SIGNATURE_MEANINGS", "SIMULATION_USERNAME",
    "SchemaTooNew", "SessionInfo", "SessionService", "SessionStateError", "SessionStatus",
    "SigningUnavailable",
    "StorageUnavailable", "UserContext", "UserInfo", "VerifyResult", "VitalsRecorder", "WaveSeries",
    "open_database",
]
