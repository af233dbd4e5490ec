"""The record's tables as SQLAlchemy 2.0 typed ORM classes.

The schema is created and changed only by the Alembic migrations in :mod:`console.record.migrations`
(``tests/record/test_schema.py`` checks that these classes and the migrated schema agree).

Clinical tables: ``patients``, ``sessions`` and the append-only, hash-chained ``entries``. People and
configuration: ``users``, ``audit_log``, ``device_profiles``. Vitals: ``vital_numeric_blocks`` (one row per
parameter per block of 1 Hz values), ``vital_numerics`` (the older one row per value, still read),
``vital_waves`` (compressed chunks of up to 10 s; older records: 1 s) and ``vital_events`` (device alarms,
link changes). Diagnosis:
``raw_captures`` (the raw bytes of device links, recorded by technicians for replay).

Vitals times are stored as POSIX seconds (double) rather than :class:`UTCDateTime`: they are written at
hundreds of rows a minute by the writer thread, read back as numpy arrays for review, and come from the
device model as floats already; a double is exact to the microsecond for these dates, is 8 bytes instead of
26 characters on SQLite (it keeps an hour of vitals within the size budget) and needs no per-row conversion.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from console.record.timeutil import UTCDateTime

#: constraint names are fixed so migrations can refer to them on both databases
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY is the fast rowid alias)
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who did what, when, to what, with the state before and after (JSON text)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    before_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    after_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    #: the audit trail is a hash chain of its own (migration 0006 chained the rows written before it)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str | None] = mapped_column(String(16), nullable=True)
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Session(Base):
    """One treatment session. ``head_seq``/``head_hash`` track the end of the entry chain (so a deleted last
    entry is noticed) and the row is the lock that serialises writers of the same session."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    protocol_id: Mapped[str] = mapped_column(String(100))
    protocol_version: Mapped[str] = mapped_column(String(50))
    chair: Mapped[str] = mapped_column(String(100))
    devices_json: Mapped[str] = mapped_column(Text)
    details_json: Mapped[str] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(24), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    started_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    header_hash: Mapped[str] = mapped_column(String(64))
    head_seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    lock_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: header hash format (see console.record.chain.HEADER_VERSION); sessions from before 0006 are 1
    header_version: Mapped[int] = mapped_column(Integer, default=2, server_default=text("1"))
    #: the patient and starting user as they were at the start (canonical JSON, hashed in version 2)
    header_snapshot_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class Entry(Base):
    """One clinical entry; never updated or deleted by the application."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_entries_session_seq"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    data_json: Mapped[str] = mapped_column(Text)
    amends: Mapped[str | None] = mapped_column(String(32), nullable=True)
    late: Mapped[bool] = mapped_column(Boolean)
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DeviceProfile(Base):
    __tablename__ = "device_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    protocol: Mapped[str] = mapped_column(String(50))
    port: Mapped[str] = mapped_column(String(300))
    settings_json: Mapped[str] = mapped_column(Text)
    chair: Mapped[str | None] = mapped_column(String(100), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class VitalNumeric(Base):
    __tablename__ = "vital_numerics"
    __table_args__ = (Index("ix_vital_numerics_session_time", "session_id", "host_time"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    mdc: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(16))
    state: Mapped[int] = mapped_column(Integer)
    device_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    host_time: Mapped[float] = mapped_column(Float)


class VitalNumericBlock(Base):
    """One parameter's 1 Hz values over one block of time (at most ``vitals.NUMERIC_BLOCK_SECONDS``, aligned
    to multiples of it): ``n`` values whose host times, values, device times and states are packed bit-exact in
    ``data`` (see :func:`console.record.wavecodec.encode_numerics`). ``t0``/``t1`` are the first and last host
    time. Written once, never updated (the record's checkpoints hash these rows)."""

    __tablename__ = "vital_numeric_blocks"
    __table_args__ = (Index("ix_vital_numeric_blocks_session_mdc_t0", "session_id", "mdc", "t0"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    mdc: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    t0: Mapped[float] = mapped_column(Float)
    t1: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    codec: Mapped[int] = mapped_column(SmallInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class VitalWave(Base):
    """One channel's samples for up to ten seconds (one second in records made before migration 0008):
    quantised ``value = offset + scale * q``, delta coded, byte-shuffled and compressed (LZMA; deflate in
    older records; see :mod:`console.record.wavecodec`)."""

    __tablename__ = "vital_waves"
    __table_args__ = (Index("ix_vital_waves_session_mdc_t0", "session_id", "mdc", "t0"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    mdc: Mapped[int] = mapped_column(Integer)
    fs: Mapped[float] = mapped_column(Float)
    t0: Mapped[float] = mapped_column(Float)
    host_time: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    gap: Mapped[bool] = mapped_column(Boolean)
    codec: Mapped[int] = mapped_column(SmallInteger)
    scale: Mapped[float] = mapped_column(Float)
    offset: Mapped[float] = mapped_column(Float)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class VitalEvent(Base):
    """A device alarm or link change seen during the session (kept for review, not part of the chain)."""

    __tablename__ = "vital_events"
    __table_args__ = (Index("ix_vital_events_session_time", "session_id", "host_time"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "alarm" | "link"
    code: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean)
    mdc: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100))
    host_time: Mapped[float] = mapped_column(Float)


class RawCapture(Base):
    """About one second (at most 64 KiB) of the raw bytes of one device link in one direction, as the
    technician's raw recording captured them (see :mod:`console.record.raw_captures`).

    ``data`` is the zlib-compressed bytes of the reads one after the other; ``reads`` is the zlib-compressed
    index of those reads (little-endian uint32 end offsets, then float64 host times), so a replay keeps the
    original timing read by read. ``session_id`` is empty when no session was open. ``capture`` names one
    recording (start to stop) so two recordings of the same device stay apart.
    """

    __tablename__ = "raw_captures"
    __table_args__ = (Index("ix_raw_captures_session_device_t0", "session_id", "device", "t0"),
                      Index("ix_raw_captures_capture_t0", "capture", "t0"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), nullable=True)
    capture: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(100))
    protocol: Mapped[str] = mapped_column(String(50))
    direction: Mapped[str] = mapped_column(String(3))  # "in" (monitor → host) | "out" (host → monitor)
    t0: Mapped[float] = mapped_column(Float)
    t1: Mapped[float] = mapped_column(Float)
    n_reads: Mapped[int] = mapped_column(Integer)
    n_bytes: Mapped[int] = mapped_column(Integer)
    codec: Mapped[int] = mapped_column(SmallInteger)
    reads: Mapped[bytes] = mapped_column(LargeBinary)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class UserKey(Base):
    """A user's Ed25519 signing key: the public half and the private half wrapped under the user's password
    (see :mod:`console.record.keys`). A convenience copy only: verification trusts the site registry outside
    the database (:mod:`console.record.trust`), never this table. ``retired_at`` is set when the key is
    replaced (password reset) or the user leaves."""

    __tablename__ = "user_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[str] = mapped_column(String(100))
    wrapped_private: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecordMeta(Base):
    """Facts about this record as a whole; ``record_id`` (a random id made when the schema reached 0005)
    names the record in signatures and witness lines, so lines about another database are told apart."""

    __tablename__ = "record_meta"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ChairStatusRow(Base):
    """Each chair's latest live status for the central board (:mod:`console.board`).

    NOT part of the clinical record: overwritten about once a second, never chained, signed or exported; what
    happened at the chair is in its entries and vitals. ``updated_at`` is the database's clock (POSIX
    seconds), so ages on the board do not depend on workstation clocks; ``seq`` counts publications.
    """

    __tablename__ = "chair_status"

    chair: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    status_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)
