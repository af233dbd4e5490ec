"""The one entry model: every entry kind the record stores, and a typed, validated payload per kind.

The record service (:mod:`console.record.service`) calls :func:`validate_payload` before it writes a new entry or
an amendment, so nothing it does not describe can reach the record; readers call :func:`payload_problems` to flag
(never to refuse) stored rows written before this model existed.

Rules:

* :class:`EntryKind` is a ``StrEnum``: the stored ``kind`` text is exactly what it was before.
* Every payload model refuses unknown fields, missing required fields, wrong types (no ``True`` for a number, no
  ``"3"`` for a grade) and out-of-range values. A rating is checked against its scale when the scale is one the
  console ships (MOAA/S 0-5, CADSS-6 items 0-4, ...): items, ranges, and the total being the sum of the items.
* :data:`SYSTEM_KINDS` are written by the service's own methods only (``signature`` by ``sign``, ``amendment``
  by ``amend``, ``checkpoint`` by the integrity checkpoint writer, ``session_interrupted``/``session_resumed`` by
  ``resume_session``/``close_interrupted``); ``add_entry`` refuses them.
* An amendment's ``data`` is the **complete corrected payload** of the original kind (that is what the amend form
  sends: the re-answered scale, the edited note, or the original data with a ``correction`` text added), so it is
  validated like a new entry of that kind, plus one optional field, ``correction`` (free text).

No Qt here; this module imports only :mod:`console.clinical` modules and pydantic.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from console.clinical._common import to_epoch


class EntryKind(enum.StrEnum):
    """Every kind of entry the session record knows (the stored ``kind`` text)."""

    PRECHECK = "precheck"
    QUESTIONNAIRE = "questionnaire"
    HOLD_OVERRIDE = "hold_override"
    INFUSION_START = "infusion_start"
    INFUSION_PAUSE = "infusion_pause"
    INFUSION_RESUME = "infusion_resume"
    INFUSION_RATE = "infusion_rate"
    INFUSION_STOP = "infusion_stop"
    ESKETAMINE_DOSE = "esketamine_dose"
    OBSERVATION = "observation"
    SIDE_EFFECT = "side_effect"
    INTERVENTION = "intervention"
    NOTE = "note"
    CHECK_OVERDUE = "check_overdue"
    ALARM = "alarm"
    DISCHARGE = "discharge"
    AMENDMENT = "amendment"
    SIGNATURE = "signature"
    SESSION_INTERRUPTED = "session_interrupted"
    SESSION_RESUMED = "session_resumed"
    CHECKPOINT = "checkpoint"


#: kinds only the service's own methods write; ``add_entry`` refuses them, naming the method to use
SYSTEM_KINDS: dict[EntryKind, str] = {
    EntryKind.AMENDMENT: "amend",
    EntryKind.SIGNATURE: "sign",
    EntryKind.SESSION_INTERRUPTED: "resume_session or close_interrupted",
    EntryKind.SESSION_RESUMED: "resume_session",
    EntryKind.CHECKPOINT: "the integrity checkpoint writer",
}
#: kinds a user (through the panel, the outbox or the alarm engine) may add
USER_KINDS: frozenset[EntryKind] = frozenset(EntryKind) - frozenset(SYSTEM_KINDS)
#: kinds that can never be corrected by an amendment (the record of the record itself)
NOT_AMENDABLE: frozenset[EntryKind] = frozenset(SYSTEM_KINDS)

GRADES: dict[int, str] = {1: "mild", 2: "moderate", 3: "severe", 4: "life-threatening"}
OUTCOMES: tuple[str, ...] = ("resolved", "improving", "ongoing", "worsened", "unknown")
CONCOMITANT_KEYS: tuple[str, ...] = ("benzodiazepines", "sedative_hypnotics", "psychostimulants", "maois", "opioids")
ALARM_EVENTS: tuple[str, ...] = ("start", "end", "ack", "pause", "pause_end", "escalate")
SIGNATURE_MEANINGS: tuple[str, ...] = ("authored", "reviewed", "approved")
MAX_TEXT = 10_000
#: the amend form's free-text correction, allowed in an amendment's corrected payload of any kind
CORRECTION_FIELD = "correction"


class EntryPayloadError(ValueError):
    """A payload does not fit its kind; the message names the kind and every bad field."""


# -- field types ---------------------------------------------------------------------------------------------
def _iso_time(value: str | datetime) -> str | datetime:
    try:
        if to_epoch(value) is None:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a date and time") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is required (it is empty)")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT)]
Required = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_not_blank)]
Time = Annotated[str | datetime, AfterValidator(_iso_time)]
Positive = Annotated[float, Field(gt=0), AfterValidator(_finite)]
NonNegative = Annotated[float, Field(ge=0), AfterValidator(_finite)]
Rate = Annotated[float, Field(gt=0, le=10_000), AfterValidator(_finite)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
#: a vitals snapshot (``console.clinical.vitals.vitals_snapshot``): MDC code text -> {label, value, unit, at, state}
Snapshot = dict[str, dict[str, Any]]


class Payload(BaseModel):
    """Base of every payload: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class Precheck(Payload):
    identity_confirmed: bool
    consent_on_file: bool
    fasting: bool
    escort_arranged: bool
    medication_changes: Text = ""
    iv_site: Text = ""
    notes: Text = ""
    weight_kg: Annotated[float, Field(gt=0, lt=500)] | None = None
    concomitant: dict[Literal["benzodiazepines", "sedative_hypnotics", "psychostimulants", "maois", "opioids"],
                      bool] = Field(default_factory=dict)
    baseline_vitals: Snapshot = Field(default_factory=dict)


class Flag(Payload):
    id: str
    message: Text
    urgent: bool


class _Scored(Payload):
    """A scored administration of a scale (see ``console.clinical.entries._scale_fields``)."""

    scale: Required
    scale_version: Annotated[int, Field(ge=1)]
    title: Text = ""
    items: dict[str, int]
    total: int
    subscales: dict[str, int] = Field(default_factory=dict)
    band: Text | None = None
    flags: list[Flag] = Field(default_factory=list)
    loinc: str | None = None
    validated: bool = True
    additional_only: bool = False
    licensed_wording: bool = False
    baseline_total: int | None = None

    @model_validator(mode="after")
    def _scores_add_up(self) -> _Scored:
        if self.total != sum(self.items.values()):
            raise ValueError(f"total {self.total} is not the sum of the items ({sum(self.items.values())})")
        scale = _builtin_scale(self.scale)
        if scale is not None:
            problems = scale.problems(self.items)
            if problems:
                raise ValueError("items: " + "; ".join(problems))
        return self


class Questionnaire(_Scored):
    timing: Literal["before", "after"]


class Observation(_Scored):
    vitals: Snapshot = Field(default_factory=dict)
    point: Text | None = None


class HoldOverride(Payload):
    reason: Annotated[str, Field(min_length=5, max_length=MAX_TEXT), AfterValidator(_not_blank)]
    limit: Text
    message: Text
    sbp: Positive | None
    dbp: Positive | None
    age_years: NonNegative | None = None


class InfusionStart(Payload):
    dose_mg: Positive
    route: Required
    mg_per_kg: Positive | None = None
    weight_kg: Annotated[float, Field(gt=0, lt=500)] | None = None
    duration_min: Positive | None = None
    concentration_mg_per_ml: Positive | None = None
    volume_ml: Positive | None = None
    rate_ml_h: Rate | None = None
    protocol: Text = ""


class InfusionPause(Payload):
    reason: Required


class InfusionResume(Payload):
    reason: Text = ""
    rate_ml_h: Rate | None = None


class InfusionRate(Payload):
    rate_ml_h: Rate
    reason: Required
    previous_rate_ml_h: NonNegative | None = None


class InfusionStop(Payload):
    completed: bool
    reason: Text = ""
    dose_given_mg: NonNegative | None = None
    volume_given_ml: NonNegative | None = None

    @model_validator(mode="after")
    def _early_stop_has_reason(self) -> InfusionStop:
        if not self.completed and not self.reason.strip():
            raise ValueError("reason: stopping before the planned dose needs a reason")
        return self


class EsketamineDose(Payload):
    device_number: Annotated[int, Field(ge=1)]
    devices_planned: Annotated[int, Field(ge=1, le=10)]
    device_mg: Positive
    lot: Text = ""

    @model_validator(mode="after")
    def _device_in_plan(self) -> EsketamineDose:
        if self.device_number > self.devices_planned:
            raise ValueError(f"device_number: {self.device_number} is more than the {self.devices_planned} planned")
        return self


class DrugGiven(Payload):
    type: Literal["drug"]
    drug: Required
    dose: Required
    route: Required
    time: Time


class NonDrugAction(Payload):
    type: Literal["non_drug"]
    action: Required
    time: Time


class SideEffect(Payload):
    name: Required
    onset: Time
    grade: Annotated[int, Field(ge=1, le=4)]
    grade_label: Literal["mild", "moderate", "severe", "life-threatening"]
    outcome: Literal["resolved", "improving", "ongoing", "worsened", "unknown"]
    notes: Text = ""
    intervention: DrugGiven | NonDrugAction | None = None
    #: the side-effect catalogue's id when the name was picked from it (widgets/side_effect_form.py)
    effect_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _label_matches_grade(self) -> SideEffect:
        if GRADES[self.grade] != self.grade_label:
            raise ValueError(f"grade_label: grade {self.grade} is {GRADES[self.grade]!r}, not {self.grade_label!r}")
        return self


class Intervention(Payload):
    """A treatment given for something seen at the chair (drug, or a non-drug action)."""

    type: Literal["drug", "non_drug"]
    time: Time
    drug: Text = ""
    dose: Text = ""
    route: Text = ""
    action: Text = ""
    indication: Text = ""
    effect: Text = ""

    @model_validator(mode="after")
    def _says_what(self) -> Intervention:
        if self.type == "drug" and not (self.drug.strip() and self.dose.strip() and self.route.strip()):
            raise ValueError("drug, dose and route: a drug intervention names all three")
        if self.type == "non_drug" and not self.action.strip():
            raise ValueError("action: a non-drug intervention says what was done")
        return self


class Note(Payload):
    text: Required


class CheckOverdue(Payload):
    key: Required
    what: Text
    label: Text
    state: Text
    due_at: Time | None


class Alarm(Payload):
    """An alarm engine event (``console.alarms.model.event_dict`` and the audio pause events)."""

    event: Literal["start", "end", "ack", "pause", "pause_end", "escalate"]
    time: Annotated[float, AfterValidator(_finite)]
    alarm_id: int | None = None
    key: str | None = None
    category: str | None = None
    priority: str | None = None
    mdc: int | None = None
    parameter: str | None = None
    message: Text | None = None
    value: float | None = None
    unit: str | None = None
    limit: float | None = None
    limit_text: Text | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    started: float | None = None
    source: str | None = None
    demo: bool = False
    protocol_version: str | None = None
    user: str | None = None
    start_value: float | None = None
    worst_value: float | None = None
    duration_s: NonNegative | None = None
    until: float | None = None
    active_alarm_ids: list[int] = Field(default_factory=list)
    reason: Text | None = None
    paused_by: str | None = None


class Discharge(Payload):
    criteria: dict[str, bool | None]
    criteria_detail: dict[str, Text] = Field(default_factory=dict)
    all_met: bool
    unmet: list[str]
    override_reason: Text = ""
    vitals: Snapshot = Field(default_factory=dict)
    notes: Text = ""
    ready_minutes: NonNegative | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Discharge:
        from console.clinical.discharge import CRITERION_KEYS

        missing = [k for k in CRITERION_KEYS if k not in self.criteria]
        if missing:
            raise ValueError(f"criteria: checklist incomplete ({', '.join(missing)})")
        if self.all_met != (not self.unmet):
            raise ValueError("all_met: disagrees with the list of unmet criteria")
        if self.unmet and len(self.override_reason.strip()) < 5:
            raise ValueError("override_reason: discharge with criteria not met needs a reason (5+ characters)")
        return self


# -- system kinds (written by the service itself) -----------------------------------------------------------
class Amendment(Payload):
    reason: Required
    data: dict[str, Any]
    original_kind: str
    original_at: Time
    original_seq: Annotated[int, Field(ge=1)]


class Signature(Payload):
    model_config = ConfigDict(extra="allow")  # the signing helper may add seal details; checked by sign()
    signer_id: int
    signer_name: str
    username: str
    meaning: Literal["authored", "reviewed", "approved"]
    signed_at: Time
    entries_signed: Annotated[int, Field(ge=0)]
    seal: str


class SessionInterrupted(Payload):
    last_activity: Time
    previous_console: str
    found_at: Time | None = None
    closed: bool = False
    reason: Text = ""


class SessionResumed(Payload):
    console: str


class TableRange(Payload):
    """One bulk table's rows a checkpoint covers: ids ``after_id < id <= last_id`` of the session, their count
    and the SHA-256 over them (``console.record.checkpoints``)."""

    after_id: Annotated[int, Field(ge=0)]
    last_id: Annotated[int, Field(ge=0)]
    rows: Annotated[int, Field(ge=0)]
    sha256: Sha256

    @model_validator(mode="after")
    def _range(self) -> TableRange:
        if self.last_id < self.after_id:
            raise ValueError("last_id: must not be below after_id")
        if self.rows > self.last_id - self.after_id:
            raise ValueError(f"rows: {self.rows} rows cannot fit between ids {self.after_id} and {self.last_id}")
        return self


class AuditHead(Payload):
    """The end of the chained audit trail when a checkpoint was written."""

    last_id: Annotated[int, Field(ge=1)]
    hash: Sha256


class Checkpoint(Payload):
    """An integrity checkpoint (written by ``console.record.checkpoints``): bulk table spans and the audit
    trail's head.

    Format 1 (older records) names every bulk table, empty spans included, and always carries ``audit``
    (``None`` before the first audit row). Format 2 (written now) names only the tables that received rows
    since the checkpoint that last named them (``tables`` may be empty) and carries ``audit`` only when the
    head moved since the newest checkpoint that recorded one."""

    format: Literal[1, 2]
    tables: dict[Annotated[str, Field(min_length=1, max_length=64)], TableRange]
    audit: AuditHead | None = None

    @model_validator(mode="after")
    def _shape(self) -> Checkpoint:
        if self.format == 1:
            if not self.tables:
                raise ValueError("tables: a format-1 checkpoint names every bulk table")
            if "audit" not in self.model_fields_set:
                raise ValueError("audit: a format-1 checkpoint always records the audit head (null if none)")
            return self
        empty = sorted(name for name, t in self.tables.items() if t.rows == 0)
        if empty:
            raise ValueError(f"tables: {', '.join(empty)} received no rows "
                             "(format 2 leaves such a table out)")
        if "audit" in self.model_fields_set and self.audit is None:
            raise ValueError("audit: format 2 leaves an unchanged audit head out rather than null")
        return self


PAYLOADS: dict[EntryKind, type[Payload]] = {
    EntryKind.PRECHECK: Precheck,
    EntryKind.QUESTIONNAIRE: Questionnaire,
    EntryKind.HOLD_OVERRIDE: HoldOverride,
    EntryKind.INFUSION_START: InfusionStart,
    EntryKind.INFUSION_PAUSE: InfusionPause,
    EntryKind.INFUSION_RESUME: InfusionResume,
    EntryKind.INFUSION_RATE: InfusionRate,
    EntryKind.INFUSION_STOP: InfusionStop,
    EntryKind.ESKETAMINE_DOSE: EsketamineDose,
    EntryKind.OBSERVATION: Observation,
    EntryKind.SIDE_EFFECT: SideEffect,
    EntryKind.INTERVENTION: Intervention,
    EntryKind.NOTE: Note,
    EntryKind.CHECK_OVERDUE: CheckOverdue,
    EntryKind.ALARM: Alarm,
    EntryKind.DISCHARGE: Discharge,
    EntryKind.AMENDMENT: Amendment,
    EntryKind.SIGNATURE: Signature,
    EntryKind.SESSION_INTERRUPTED: SessionInterrupted,
    EntryKind.SESSION_RESUMED: SessionResumed,
    EntryKind.CHECKPOINT: Checkpoint,
}


@functools.cache
def _builtin_scales() -> Any:
    from console.clinical.scales import ScaleLibrary

    return ScaleLibrary.builtin()


def _builtin_scale(scale_id: str) -> Any:
    """The shipped scale with this id, or ``None`` for a site scale the record cannot know."""
    lib = _builtin_scales()
    return lib.get(scale_id) if scale_id in lib else None


# -- checking ------------------------------------------------------------------------------------------------
def kind_of(kind: Any) -> EntryKind:
    """The :class:`EntryKind` of a kind text; :class:`EntryPayloadError` for an unknown one."""
    try:
        return EntryKind(kind)
    except ValueError:
        raise EntryPayloadError(f"unknown entry kind {kind!r}") from None


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "data"


def _describe(kind: str, err: ValidationError) -> str:
    parts = []
    for e in err.errors(include_url=False):
        msg = re.sub(r"^Value error, ", "", str(e["msg"]))
        where = _where(tuple(e["loc"]))
        if e["type"] == "missing":
            parts.append(f"{where} is missing")
        elif e["type"] == "extra_forbidden":
            parts.append(f"{where} is not a field of {kind}")
        elif e["type"] == "value_error":  # our own checks say what they got
            parts.append(f"{where}: {msg}" if e["loc"] else msg)
        else:
            got = repr(e.get("input"))
            parts.append(f"{where}: {msg} (got {got if len(got) <= 40 else got[:37] + '...'})")
    return f"{_a(kind)} {kind} entry: " + "; ".join(parts)


def validate_payload(kind: Any, data: Any, *, amendment: bool = False) -> dict[str, Any]:
    """Check ``data`` against the model of ``kind`` and return it unchanged (a plain dict, as it will be stored).

    ``amendment=True``: ``data`` is an amendment's corrected payload, which may also carry a ``correction`` text.
    Raises :class:`EntryPayloadError` with a message naming the kind and every bad field.
    """
    k = kind_of(kind)
    if not isinstance(data, Mapping):
        raise EntryPayloadError(f"{_a(k)} {k} entry's data must be a mapping of fields, not {type(data).__name__}")
    checked = dict(data)
    if amendment and CORRECTION_FIELD in checked:
        correction = checked.pop(CORRECTION_FIELD)
        if not isinstance(correction, str) or not correction.strip() or len(correction) > MAX_TEXT:
            raise EntryPayloadError(f"{_a(k)} {k} entry: correction must be non-empty text of at most {MAX_TEXT} characters")
    try:
        PAYLOADS[k].model_validate(checked)
    except ValidationError as err:
        raise EntryPayloadError(_describe(k.value, err)) from None
    return dict(data)


def payload_problems(kind: Any, data: Any, *, amendment: bool = False) -> str | None:
    """Why a stored payload does not fit today's model (a legacy row), or ``None`` when it fits. Never raises."""
    try:
        validate_payload(kind, data, amendment=amendment)
    except EntryPayloadError as err:
        return str(err)
    return None


def parse_payload(kind: Any, data: Mapping[str, Any]) -> Payload:
    """The typed payload of a valid entry (for code that wants attributes instead of keys)."""
    k = kind_of(kind)
    checked = {f: v for f, v in data.items() if f != CORRECTION_FIELD}
    try:
        return PAYLOADS[k].model_validate(checked)
    except ValidationError as err:
        raise EntryPayloadError(_describe(k.value, err)) from None


__all__ = [
    "CORRECTION_FIELD",
    "NOT_AMENDABLE",
    "PAYLOADS",
    "SYSTEM_KINDS",
    "USER_KINDS",
    "EntryKind",
    "EntryPayloadError",
    "Payload",
    "kind_of",
    "parse_payload",
    "payload_problems",
    "validate_payload",
]
