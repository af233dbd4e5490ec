"""The session controller: one chair's session, its state and its rules, without Qt.

It writes through the record service (``create_patient``, ``start_session``, ``add_entry``, ``amend``, ``sign``,
``entries``; see ``console.record.service``) or, when one is given, the entry outbox (which keeps an entry on
this computer while the database is unavailable). Everything it knows is derived from the stored entries, so a
session resumed after a restart is in the same phase it was left in.

Each intent either succeeds (and returns the stored entry) or raises :class:`~console.session.state.Refused`
with one plain sentence and stores nothing. The rules:

* dosing starts only after a *saved* pre-check with identity and consent confirmed; other holds (not fasting,
  no escort, BP above the hold limit or no BP) need a recorded reason; the baseline ratings are due first; the
  start is confirmed;
* stopping is confirmed; a stop before the planned dose was given records ``completed: false`` with a reason,
  and the dose and volume actually given, worked out from the times, the pauses and the pump rates;
* a rating carries the point it answers: ``baseline`` before dosing, then the due point open at the time;
* no discharge while dosing, no sign-off without a discharge entry (a regular one, or one recording that the
  patient left against advice or was transferred);
* after sign-off, :meth:`SessionController.next_patient` clears everything for the next patient.

Starting a session, correcting an entry and signing wait on the database (signing also on seconds of password
KDF), so a screen asks for them with ``request_begin`` / ``request_amend`` / ``request_sign``: the rules are
checked at once (a refusal is raised there), the storage work runs on the given :class:`Lanes` (the chair's
writer thread, and a worker for the KDF), and :meth:`SessionController.poll`, called from the screen's timer,
applies the result on the screen's thread and returns an :class:`Outcome`. One such intent is pending at a
time; while one is, repeating or contradicting it is refused. ``begin``, ``amend`` and ``sign`` do the same
on the calling thread and return the result (tests, tools).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

from console.clinical._common import field, to_epoch
from console.clinical.amendments import EffectiveEntry, effective_entries
from console.clinical.discharge import CriterionResult, evaluate
from console.clinical.entries import (
    check_overdue_data,
    discharge_data,
    esketamine_dose_data,
    hold_override_data,
    infusion_pause_data,
    infusion_rate_data,
    infusion_resume_data,
    infusion_start_data,
    infusion_stop_data,
    observation_data,
)
from console.clinical.protocols import DosePlan, HoldCheck, Protocol, ProtocolLibrary
from console.clinical.scales import Scale, ScaleLibrary, ScaleResult
from console.clinical.schedule import (
    DONE,
    OVERDUE,
    PENDING,
    Checkpoint,
    DeviceGate,
    ScheduleStatus,
    Timeline,
    device_gate,
    point_key,
    schedule_from_entries,
    timeline_from_entries,
)
from console.clinical.vitals import bp_from_snapshot, vitals_snapshot
from console.session.background import BackgroundCall, Inline, Lane, Lanes, State, Step
from console.session.dose import StopSummary, infusion_given
from console.session.failures import AUTH, classify, failure_message
from console.session.state import DEPARTURES, Hold, Phase, Refused

#: a NIBP reading older than this before the session started is not taken as its baseline
BASELINE_LOOKBACK_S = 30 * 60.0
#: a failed check_overdue write is retried after this many seconds (not on every tick)
OVERDUE_RETRY_S = 30.0
#: a reason for proceeding despite a hold must say something
MIN_REASON = 5
#: pre-check holds a reason can override besides the BP (stored as the override's ``limit``)
PRECHECK_HOLDS = ("fasting", "escort")


class Intent(StrEnum):
    """An intent whose storage work runs in the background; the value is what the screen shows meanwhile."""

    BEGIN = "Starting the session\u2026"
    AMEND = "Saving the correction\u2026"
    SIGN = "Signing\u2026"


#: what a failed intent did not store, in the clinician's words
_WHAT = {Intent.BEGIN: "the session", Intent.AMEND: "the correction", Intent.SIGN: "the signature"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a background intent ended, applied to the controller by :meth:`SessionController.poll`."""

    intent: Intent
    #: the session started, or the correction or signature entry stored; ``None`` when it failed
    value: Any = None
    #: one plain sentence when nothing was stored
    error: str = ""
    #: the kind of failure (``console.session.failures``: ``auth`` for a wrong password, ...)
    error_kind: str = ""
    #: stored, with something the clinician must know (a signature the site witness is missing)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(slots=True)
class _Pending:
    intent: Intent
    call: BackgroundCall
    apply: Callable[[Any], Outcome]


def _add_check_overdue(svc: Any, session_id: Any, data: dict[str, Any], _previous: Any) -> Any:
    return svc.add_entry(session_id, "check_overdue", data)


def age_in_years(birth: _dt.date | None, day: _dt.date) -> float | None:
    """Age in whole years on ``day`` (``None`` without a birth date)."""
    if not isinstance(birth, _dt.date):
        return None
    return float(day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day)))


class SessionController:
    """One chair's session. Give it the record service; the rest has working defaults for tests."""

    def __init__(self, service: Any, *, outbox: Any = None, protocols: ProtocolLibrary | None = None,
                 scales: ScaleLibrary | None = None, clock: Callable[[], float] = time.time,
                 latest_vitals: Callable[[], Mapping[int, Any]] | None = None,
                 devices: Callable[[], list[Any]] | None = None, demo: bool = False,
                 lanes: Lanes | None = None) -> None:
        self.svc = service
        #: where background intents run (the chair's writer and a KDF worker; at once when none is given)
        self.lanes: Lanes = lanes or Inline()
        #: the background intent under way (one at a time: begin, sign, amend and next_patient wait for it)
        self.pending: _Pending | None = None
        self.outbox = outbox
        self.protocols = protocols or ProtocolLibrary.builtin()
        self.scales = scales or ScaleLibrary.builtin()
        self.clock = clock
        self._latest_vitals = latest_vitals or (dict)
        self.devices = devices or (list)
        user = getattr(service, "user", None)
        self.demo_user = bool(demo or getattr(user, "demo", False))
        #: called with every entry this controller stored (the panel re-emits it as a Qt signal)
        self.listeners: list[Callable[[Any], None]] = []
        self._reset()

    def _reset(self) -> None:
        self.session: Any = None
        self.patient: Any = None
        self.protocol: Protocol | None = None
        self.plan: DosePlan | None = None
        self.weight_kg: float | None = None
        self.age_years: float | None = None
        self.demo = self.demo_user
        #: signed now (no correction since the last signature)
        self.signed = False
        #: signed at least once: no new entries, only corrections (the record refuses the rest)
        self.sealed = False
        self._entries: list[Any] = []
        self.bp_readings: dict[float, tuple[float, float]] = {}
        self._overdue_attempted: dict[str, float] = {}
        #: check_overdue notes on their way to the record: (check key, what, call); a session's are dropped with it
        self._overdue_notes: list[tuple[str, str, BackgroundCall]] = []

    # ------------------------------------------------------------------------------------------------ reading
    @property
    def session_id(self) -> Any:
        return getattr(self.session, "id", self.session)

    def entries(self) -> list[Any]:
        """The session's stored entries as this controller knows them (oldest first)."""
        return list(self._entries)

    def effective(self) -> list[EffectiveEntry]:
        """Entries with corrections applied: what every rule judges."""
        return effective_entries(self._entries)

    def _latest(self, kind: str) -> EffectiveEntry | None:
        return next((e for e in reversed(self.effective()) if e.kind == kind), None)

    def timeline(self) -> Timeline:
        if self.protocol is None:
            return Timeline()
        return timeline_from_entries(self.effective(), self.protocol)

    def vitals(self) -> dict[int, Any]:
        """The live monitor values; a broken feed reads as none."""
        try:
            return dict(self._latest_vitals() or {})
        except Exception:  # noqa: BLE001 - a broken live feed must not break the session
            return {}

    def observe_vitals(self, latest: Mapping[int, Any] | None = None) -> None:
        """Note a NIBP reading seen on the live monitor (the schedule counts it as a BP check)."""
        bp = bp_from_snapshot(vitals_snapshot(dict(latest) if latest is not None else self.vitals()))
        if bp is None or bp[2] is None or self.session is None:
            return
        started = to_epoch(getattr(self.session, "started_at", None))
        if started is not None and bp[2] < started - BASELINE_LOOKBACK_S:
            return  # a reading from before this patient sat down
        self.bp_readings[bp[2]] = (bp[0], bp[1])

    def schedule(self, now: float | None = None) -> ScheduleStatus | None:
        """Every due check matched to what was recorded for it (the same function the browser and PDF use)."""
        if self.protocol is None:
            return None
        titles = {s.id: s.title for s in self.scales}
        return schedule_from_entries(self.protocol, self.effective(), self.clock() if now is None else now,
                                     bp_times=self.bp_readings, titles=titles)

    @property
    def phase(self) -> Phase:
        if self.session is None:
            return Phase.NO_SESSION
        if self.signed:
            return Phase.SIGNED
        tl = self.timeline()
        if self._latest("discharge") is not None:
            return Phase.DISCHARGED
        if tl.started:
            if tl.end is not None:
                return Phase.MONITORING
            return Phase.PAUSED if tl.paused else Phase.DOSING
        if self._latest("precheck") is None:
            return Phase.CHOSEN
        return Phase.READY if not self.missing_baseline() else Phase.PRECHECKED

    # ------------------------------------------------------------------------------------------------ writing
    def _write(self, call: Callable[[], Any], what: str) -> Any:
        try:
            entry = call()
        except Exception as exc:
            raise Refused(failure_message(exc, what)) from exc
        self._stored(entry)
        return entry

    def _need_open(self) -> None:
        if self.session is None:
            raise Refused("Start a session first.")
        if self.sealed:
            raise Refused("The session is signed: double-click an entry to correct it.")
        if self.pending is not None and self.pending.intent is Intent.SIGN:
            raise Refused("The session is being signed: wait for the signature before adding entries.")

    def _need_idle(self) -> None:
        """One background intent at a time: a second tap on Sign, Start or Save is refused, not repeated."""
        if self.pending is not None:
            raise Refused(f"{self.pending.intent.value} Wait until it is done.")

    # ------------------------------------------------------------------------------------------------ background
    def _launch(self, intent: Intent, steps: list[Step], apply: Callable[[Any], Outcome],
                lanes: Lanes | None) -> Intent:
        self.pending = _Pending(intent, BackgroundCall(intent.name.lower(), steps, lanes or self.lanes), apply)
        self.pending.call.start()
        return intent

    def busy_reason(self) -> str:
        """While a pending intent waits for a busy record: the short line the screen shows (else ``""``); the
        record's own words are in :meth:`busy_detail`."""
        p = self.pending
        if p is None or p.call.state is not State.BUSY:
            return ""
        return "The record is busy: still trying."

    def busy_detail(self) -> str:
        """The record's words for why it is busy (for a tooltip or a log), else ``""``."""
        p = self.pending
        if p is None or p.call.state is not State.BUSY:
            return ""
        return str(p.call.error or "").strip()

    def poll(self) -> Outcome | None:
        """Call from the controller's own (GUI) thread: when the pending intent has ended, apply it and return
        how it ended; ``None`` while it runs (a busy record is retried) or when nothing is pending."""
        p = self.pending
        if p is None or p.call.poll() not in (State.DONE, State.FAILED):
            return None
        self.pending = None
        if p.call.state is State.FAILED:
            exc = p.call.error or RuntimeError("failed")
            kind = classify(exc)
            text = str(exc).strip() if kind == AUTH else failure_message(exc, _WHAT[p.intent])
            return Outcome(p.intent, error=text, error_kind=kind)
        return p.apply(p.call.value)

    def _now(self, intent: Intent) -> Any:
        """Finish an intent launched with inline lanes: its value, or :class:`Refused`."""
        outcome = self.poll()
        assert outcome is not None and outcome.intent is intent, "inline lanes finish at once"
        if not outcome.ok:
            raise Refused(outcome.error)
        return outcome.value

    def _stored(self, entry: Any) -> None:
        self._entries.append(entry)
        for listener in list(self.listeners):
            listener(entry)

    def add_entry(self, kind: str, data: dict[str, Any], what: str = "the entry") -> Any:
        """Store one entry (through the outbox when there is one)."""
        self._need_open()
        target = self.outbox if self.outbox is not None else self.svc
        return self._write(lambda: target.add_entry(self.session_id, kind, data), what)

    # ------------------------------------------------------------------------------------------------ session
    def begin(self, patient_code: str, protocol: Protocol, plan: DosePlan, chair: str, *, name: str | None = None,
              birth_date: Any = None, sex: str | None = None, weight_kg: float | None = None,
              age_years: float | None = None, details: dict[str, Any] | None = None) -> Any:
        """Choose the patient (found by code, else added) and the protocol: the session starts (on this
        thread; a screen uses :meth:`request_begin`)."""
        self._begin(Inline(), patient_code, protocol, plan, chair, name=name, birth_date=birth_date, sex=sex,
                    weight_kg=weight_kg, age_years=age_years, details=details)
        return self._now(Intent.BEGIN)

    def request_begin(self, patient_code: str, protocol: Protocol, plan: DosePlan, chair: str, *,
                      name: str | None = None, birth_date: Any = None, sex: str | None = None,
                      weight_kg: float | None = None, age_years: float | None = None,
                      details: dict[str, Any] | None = None) -> Intent:
        """As :meth:`begin`, with the record's work on the writer thread: :meth:`poll` gives the outcome."""
        return self._begin(self.lanes, patient_code, protocol, plan, chair, name=name, birth_date=birth_date,
                           sex=sex, weight_kg=weight_kg, age_years=age_years, details=details)

    def _begin(self, lanes: Lanes, patient_code: str, protocol: Protocol, plan: DosePlan, chair: str, *,
               name: str | None, birth_date: Any, sex: str | None, weight_kg: float | None,
               age_years: float | None, details: dict[str, Any] | None) -> Intent:
        if self.session is not None:
            raise Refused("A session is open at this chair: sign it and go to the next patient first.")
        self._need_idle()
        svc, today = self.svc, _dt.datetime.fromtimestamp(self.clock()).date()
        info = dict(details or {})
        info.setdefault("demo", self.demo_user)
        devices = list(self.devices())

        def work(_: Any) -> tuple[Any, Any, float | None]:  # on the writer thread: the record only
            finder = getattr(svc, "find_patient", None)
            patient = finder(patient_code) if finder is not None else None
            if patient is None:  # a retry after a busy record finds the patient the first try added
                patient = svc.create_patient(patient_code, name=name, birth_date=birth_date, sex=sex,
                                             weight_kg=weight_kg)
            age = age_years
            if age is None:  # a known patient's recorded birth date when the form gave none
                age = age_in_years(birth_date or getattr(patient, "birth_date", None), today)
            session = svc.start_session(getattr(patient, "id", patient), protocol.id, protocol.effective_version,
                                        chair, devices=devices, details=info | {"age_years": age})
            return session, patient, age

        def apply(value: tuple[Any, Any, float | None]) -> Outcome:
            session, patient, age = value
            self.open(session, patient, protocol, plan, weight_kg, age, [])
            return Outcome(Intent.BEGIN, session)

        return self._launch(Intent.BEGIN, [Step(Lane.WRITE, work)], apply, lanes)

    def open(self, session: Any, patient: Any, protocol: Protocol, plan: DosePlan, weight_kg: float | None,
             age_years: float | None, entries: Iterable[Any]) -> None:
        """Show an existing session (resumed after a restart, or just started) with its stored entries."""
        self._reset()
        self.session, self.patient, self.protocol, self.plan = session, patient, protocol, plan
        self.weight_kg, self.age_years = weight_kg, age_years
        self.demo = self.demo_user or bool(getattr(session, "demo", False)) or bool(getattr(patient, "demo", False))
        self._entries = list(entries)
        kinds = [field(e, "kind") for e in self._entries]
        self.sealed = "signature" in kinds
        last_sig = max((i for i, k in enumerate(kinds) if k == "signature"), default=-1)
        last_fix = max((i for i, k in enumerate(kinds) if k == "amendment"), default=-1)
        self.signed = self.sealed and last_sig > last_fix

    def next_patient(self) -> None:
        """After sign-off: clear the session, its countdown and its readings for the next patient."""
        self._need_idle()
        if self.session is not None and not self.signed:
            raise Refused("Sign the session before going to the next patient." if not self.sealed else
                          "The session was corrected after signing: sign it again first.")
        self._reset()

    # ------------------------------------------------------------------------------------------------ pre-check
    def save_precheck(self, parts: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Store the pre-check and its questionnaires. On a failure :class:`Refused` says why; the parts written
        before it are in :attr:`entries` (the caller retries only the rest)."""
        self._need_open()
        if self.timeline().started:
            raise Refused("Dosing has started: the pre-check can no longer be saved (correct it instead).")
        out = []
        for kind, data in parts:
            what = "the pre-check" if kind == "precheck" else f"the {data.get('title', kind)}"
            out.append(self.add_entry(kind, data, what))
        return out

    def baseline_snapshot(self) -> dict[str, Any]:
        e = self._latest("precheck")
        return dict((e.data or {}).get("baseline_vitals") or {}) if e is not None else {}

    def hold_check(self) -> HoldCheck | None:
        """The pre-dose BP check: from the saved pre-check's baseline, else the live monitor."""
        if self.protocol is None:
            return None
        bp = bp_from_snapshot(self.baseline_snapshot()) or bp_from_snapshot(vitals_snapshot(self.vitals()))
        return self.protocol.check_predose_bp(bp[0] if bp else None, bp[1] if bp else None, self.age_years)

    def _overridden(self) -> set[str]:
        """Holds with a recorded reason. A ``hold_override`` names a pre-check hold in its ``limit`` field
        (``"fasting"``, ``"escort"``); otherwise ``limit`` is the BP hold limit ("160/100")."""
        out = set()
        for e in self.effective():
            if e.kind == "hold_override":
                limit = (e.data or {}).get("limit")
                out.add(limit if limit in PRECHECK_HOLDS else "bp")
        return out

    def holds(self) -> list[Hold]:
        """What in the saved pre-check holds dosing (empty when nothing does; no pre-check is not a hold here)."""
        pre = self._latest("precheck")
        if pre is None:
            return []
        data = pre.data or {}
        done = self._overridden()
        out = []
        if data.get("identity_confirmed") is not True:
            out.append(Hold("identity", "Identity is not confirmed in the saved pre-check: confirm it and save "
                                        "the pre-check again.", True))
        if data.get("consent_on_file") is not True:
            out.append(Hold("consent", "No consent on file in the saved pre-check: dosing cannot start.", True))
        if data.get("fasting") is not True:
            out.append(Hold("fasting", "Not fasting as instructed: record a reason to proceed.", False,
                            "fasting" in done))
        if data.get("escort_arranged") is not True:
            out.append(Hold("escort", "No escort or transport home arranged: record a reason to proceed.", False,
                            "escort" in done))
        check = self.hold_check()
        if check is not None and check.hold:
            out.append(Hold("bp", check.message, False, "bp" in done))
        return out

    def record_hold_reason(self, key: str, reason: str) -> Any:
        """Proceed despite the hold ``key`` (``fasting``, ``escort``, ``bp``): the reason is stored."""
        self._need_open()
        hold = next((h for h in self.holds() if h.key == key), None)
        if hold is None:
            raise Refused("Nothing to override: that check does not hold dosing.")
        if hold.blocking:
            raise Refused(hold.message)
        if hold.resolved:
            raise Refused("A reason for this hold is already recorded.")
        text = (reason or "").strip()
        if len(text) < MIN_REASON:
            raise Refused(f"Give a reason for proceeding (at least {MIN_REASON} characters).")
        if key == "bp":
            check = self.hold_check()
            assert check is not None
            bp = bp_from_snapshot(self.baseline_snapshot()) or bp_from_snapshot(vitals_snapshot(self.vitals()))
            try:
                data = hold_override_data(check, text, sbp=bp[0] if bp else None, dbp=bp[1] if bp else None,
                                          age_years=self.age_years)
            except ValueError as exc:
                raise Refused(f"Not saved: {exc}") from exc
        else:
            data = {"reason": text, "limit": key, "message": hold.message, "sbp": None, "dbp": None}
        return self.add_entry("hold_override", data, "the reason for proceeding")

    # ------------------------------------------------------------------------------------------------ ratings
    def missing_baseline(self) -> list[Checkpoint]:
        """Baseline ratings (observations, not BP) the schedule asks for that are not recorded yet."""
        status = self.schedule()
        if status is None:
            return []
        return [c for c in status.checkpoints if c.point == "baseline" and c.what != "bp" and c.state != DONE]

    def rating_point(self, scale_id: str, now: float | None = None) -> str | None:
        """The point a rating made now answers: ``baseline`` before dosing, then the earliest due point of that
        scale that is open (its window has begun) and not done; ``None`` for an extra rating."""
        now = self.clock() if now is None else now
        if not self.timeline().started:
            return "baseline"
        status = self.schedule(now)
        if status is None:
            return None
        # pending or overdue, and its window open (a missed check's window has closed: the rating answers the
        # newer one instead)
        open_ = [c for c in status.checkpoints if c.what == scale_id and c.point != "baseline"
                 and c.state in (PENDING, OVERDUE) and c.due_at is not None and c.window_start <= now]
        if not open_:
            return None
        return point_key(min(open_, key=lambda c: c.due_at or 0.0).point)

    def record_rating(self, scale: Scale, result: ScaleResult | Mapping[Any, Any], *,
                      point: str | None = None, baseline_total: int | None = None) -> Any:
        """Store a chair-side rating with the point it answers (worked out when not given)."""
        self._need_open()
        started = self.timeline().started
        if point is None:
            point = self.rating_point(scale.id)
        elif point == "baseline" and started:
            raise Refused("Dosing has started: a rating now cannot be the baseline.")
        elif point != "baseline" and not started:
            raise Refused("Before dosing a rating is the baseline.")
        try:
            data = observation_data(scale, result, vitals=self.vitals(), baseline_total=baseline_total,
                                    point=point)
        except ValueError as exc:
            raise Refused(f"Not saved: {exc}") from exc
        return self.add_entry("observation", data, f"the {scale.title}")

    # ------------------------------------------------------------------------------------------------ dosing
    def start_refusal(self) -> str | None:
        """Why dosing cannot start now (``None`` when it can, after confirmation)."""
        if self.session is None:
            return "Start a session first."
        if self.sealed:
            return "The session is signed."
        if self.timeline().started:
            return "Dosing has already started."
        if self._latest("precheck") is None:
            return "Save the pre-check first: identity and consent must be confirmed before dosing."
        for hold in self.holds():
            if hold.blocking:
                return hold.message
        missing = self.missing_baseline()
        if missing:
            return "Baseline ratings due before dosing: " + ", ".join(c.label for c in missing) + "."
        for hold in self.holds():
            if not hold.resolved:
                return hold.message
        return None

    def start_infusion(self, *, confirmed: bool = False) -> Any:
        """Start the infusion (or give the IM injection, or the first nasal device). Needs ``confirmed``."""
        refusal = self.start_refusal()
        if refusal:
            raise Refused(refusal)
        assert self.protocol is not None and self.plan is not None
        if not confirmed:
            raise Refused("Confirm the start of dosing.")
        if self.protocol.uses_devices:
            return self.give_device(confirmed=True)
        try:
            data = infusion_start_data(self.plan, route=self.protocol.route, protocol_tag=self.protocol.version_tag)
        except ValueError as exc:
            raise Refused(f"Not saved: {exc}") from exc
        what = "the injection" if self.protocol.mode == "bolus" else "the infusion start"
        return self.add_entry("infusion_start", data, what)

    def _running_infusion(self) -> Timeline:
        self._need_open()
        tl = self.timeline()
        if self.protocol is None or self.protocol.mode != "infusion":
            raise Refused("This protocol has no infusion to control.")
        if not tl.running:
            raise Refused("The infusion is not running." if tl.started else "The infusion has not started.")
        return tl

    def pause_infusion(self, reason: str) -> Any:
        if self._running_infusion().paused:
            raise Refused("The infusion is already paused.")
        try:
            data = infusion_pause_data(reason)
        except ValueError as exc:
            raise Refused(f"Not saved: {exc}") from exc
        return self.add_entry("infusion_pause", data, "the pause")

    def resume_infusion(self) -> Any:
        if not self._running_infusion().paused:
            raise Refused("The infusion is not paused.")
        return self.add_entry("infusion_resume", infusion_resume_data(""), "the resume")

    def current_rate(self) -> float | None:
        rate = None
        for e in self.effective():
            data = e.data or {}
            if e.kind in ("infusion_start", "infusion_rate", "infusion_resume") and data.get("rate_ml_h") is not None:
                rate = float(data["rate_ml_h"])
        return rate

    def change_rate(self, rate: str | float, reason: str) -> Any:
        self._running_infusion()
        try:
            data = infusion_rate_data(rate, reason, previous_rate_ml_h=self.current_rate())  # type: ignore[arg-type]
        except ValueError as exc:
            raise Refused(f"Not saved: {exc}") from exc
        return self.add_entry("infusion_rate", data, "the rate change")

    def stop_summary(self, now: float | None = None) -> StopSummary:
        """What stopping the infusion at ``now`` would record (see :func:`infusion_given`)."""
        assert self.plan is not None
        return infusion_given(self.effective(), self.plan, self.clock() if now is None else now)

    def stop_infusion(self, *, confirmed: bool = False, reason: str = "") -> Any:
        """Stop the infusion (confirmed). Before the planned dose ran in it is "stopped early" with a reason."""
        self._running_infusion()
        summary = self.stop_summary()
        if not summary.completed and not (reason or "").strip():
            raise Refused(f"{summary.text()}: give the reason for stopping early.")
        if not confirmed:
            raise Refused("Confirm the stop of the infusion.")
        try:
            data = infusion_stop_data(completed=summary.completed, reason=reason, dose_given_mg=summary.dose_mg,
                                      volume_given_ml=summary.volume_ml)
        except ValueError as exc:
            raise Refused(f"Not saved: {exc}") from exc
        return self.add_entry("infusion_stop", data, "the infusion stop")

    def device_gate(self, now: float | None = None) -> DeviceGate | None:
        if self.protocol is None or not self.protocol.uses_devices:
            return None
        return device_gate(self.protocol, self.timeline().device_times, self.clock() if now is None else now)

    def give_device(self, lot: str = "", *, confirmed: bool = False) -> Any:
        """Record the next nasal device (the first one is the start of dosing, with its rules)."""
        gate = self.device_gate()
        if gate is None:
            raise Refused("This protocol is not dosed in nasal devices.")
        if gate.devices_given == 0:
            refusal = self.start_refusal()
            if refusal:
                raise Refused(refusal)
        if not gate.allowed:
            raise Refused(gate.reason)
        if not confirmed:
            raise Refused(f"Confirm device {gate.devices_given + 1} of {gate.devices_planned}.")
        assert self.plan is not None
        try:
            data = esketamine_dose_data(gate.devices_given + 1, devices_planned=gate.devices_planned,
                                        device_mg=self.plan.device_mg or 28.0, lot=lot)
        except ValueError as exc:
            raise Refused(f"Not saved: {exc}") from exc
        return self.add_entry("esketamine_dose", data, "the nasal device")

    # ------------------------------------------------------------------------------------------------ checks
    def log_overdue(self, now: float | None = None) -> list[str]:
        """Record ``check_overdue`` once for each newly late check (on the writer lane: the GUI thread never
        waits for it); returns the messages of the notes that failed since the last call (each is tried again
        after :data:`OVERDUE_RETRY_S`). Call it from the controller's thread, as :meth:`poll`."""
        problems = self._overdue_outcomes()
        if self.session is None or self.sealed or self.pending is not None and self.pending.intent is Intent.SIGN:
            return problems
        now = self.clock() if now is None else now
        status = self.schedule(now)
        in_flight = {key for key, _, _ in self._overdue_notes}
        svc, session_id = self.svc, self.session_id
        for c in status.unlogged if status is not None else ():
            last = self._overdue_attempted.get(c.key)
            if c.key in in_flight or last is not None and now - last < OVERDUE_RETRY_S:
                continue
            self._overdue_attempted[c.key] = now
            data = check_overdue_data(c)
            # straight to the service: a note about lateness is not worth a journal entry on disk; a busy
            # record ends the try (retried on this schedule, not by the call)
            step = Step(Lane.WRITE, partial(_add_check_overdue, svc, session_id, data))
            call = BackgroundCall("check_overdue", [step], self.lanes, retry_busy=False)
            self._overdue_notes.append((c.key, f"the overdue note for {c.label}", call))
            call.start()
        return problems + self._overdue_outcomes()

    def _overdue_outcomes(self) -> list[str]:
        """Apply the overdue notes that were written; the messages of those that failed."""
        problems: list[str] = []
        running = []
        for key, what, call in self._overdue_notes:
            state = call.poll()
            if state is State.DONE:
                self._stored(call.value)
            elif state is State.FAILED:
                problems.append(failure_message(call.error or RuntimeError("failed"), what))
            else:
                running.append((key, what, call))
        self._overdue_notes = running
        return problems

    # ------------------------------------------------------------------------------------------------ discharge
    def last_moaas(self) -> int | None:
        moaas = None
        for e in self.effective():
            if e.kind == "observation" and (e.data or {}).get("scale") == "moaas":
                moaas = e.data.get("total")
        return moaas

    def discharge_results(self, confirmations: Mapping[str, bool]) -> list[CriterionResult]:
        """The discharge checklist judged from the record, the live vitals and the clinician's confirmations."""
        tolerances = self.protocol.discharge if self.protocol is not None else None
        return evaluate(confirmations, baseline_vitals=self.baseline_snapshot(),
                        current_vitals=vitals_snapshot(self.vitals()), last_moaas=self.last_moaas(),
                        tolerances=tolerances)

    def discharge_refusal(self) -> str | None:
        """Why a discharge cannot be recorded now."""
        if self.session is None:
            return "Start a session first."
        if self.sealed:
            return "The session is signed."
        if self._latest("discharge") is not None:
            return "The discharge is already recorded."
        tl = self.timeline()
        if tl.started and tl.end is None:
            return "Dosing is still in progress: stop the infusion first."
        if not tl.started:
            return ("Dosing has not started: if the patient leaves, record why (left against advice, "
                    "transferred).")
        return None

    def record_discharge(self, confirmations: Mapping[str, bool], *, ready_minutes: float | None = None,
                         override_reason: str = "", notes: str = "") -> Any:
        """The regular discharge: the checklist as judged; any unmet criterion needs a reason."""
        refusal = self.discharge_refusal()
        if refusal:
            raise Refused(refusal)
        try:
            data = discharge_data(self.discharge_results(confirmations), ready_minutes=ready_minutes,
                                  override_reason=override_reason, vitals=self.vitals(), notes=notes)
        except ValueError as exc:
            raise Refused(f"Discharge not recorded: {exc}") from exc
        return self.add_entry("discharge", data, "the discharge")

    def record_departure(self, how: str, details: str) -> Any:
        """The patient left without a regular discharge (``left_against_advice`` or ``transferred``): stored as
        a discharge entry whose reason says so, with the checklist as it stood."""
        if how not in DEPARTURES:
            raise Refused(f"Choose how the patient left: {', '.join(DEPARTURES.values())}.")
        if self.session is None or self.sealed or self._latest("discharge") is not None:
            raise Refused(self.discharge_refusal() or "The discharge is already recorded.")
        tl = self.timeline()
        if tl.started and tl.end is None:
            raise Refused("Dosing is still in progress: stop the infusion first (it is then recorded as stopped "
                          "early).")
        text = (details or "").strip()
        if len(text) < 3:
            raise Refused("Say where to, or what the patient was advised (a few words).")
        label = DEPARTURES[how]
        try:
            data = discharge_data(self.discharge_results({}), override_reason=f"{label}: {text}",
                                  vitals=self.vitals(), notes=label)
        except ValueError as exc:
            raise Refused(f"Not recorded: {exc}") from exc
        return self.add_entry("discharge", data, "the departure")

    # ------------------------------------------------------------------------------------------------ sign-off
    def sign_refusal(self) -> str | None:
        if self.pending is not None and self.pending.intent is Intent.SIGN:
            return f"{Intent.SIGN.value} Wait until it is done."
        if self.session is None:
            return "Start a session first."
        if self.signed:
            return "The session is already signed."
        if self._latest("discharge") is None:
            return ("Record the discharge first (or why the patient left: against advice, transferred) before "
                    "signing.")
        waiting = self.unsaved()
        if waiting:
            # the signature seals the chain as the record holds it: an entry still on this computer would be
            # left out of it (and refused afterwards)
            return (f"{waiting} {'entry' if waiting == 1 else 'entries'} of this session "
                    f"{'is' if waiting == 1 else 'are'} kept on this computer, not yet in the record: sign once "
                    "saved (the status bar counts them).")
        return None

    def unsaved(self) -> int:
        """Entries of this session waiting in the outbox (kept on this computer), read from memory."""
        pending = getattr(self.outbox, "pending", None) or []
        return sum(1 for p in pending if getattr(p, "session_id", None) == self.session_id)

    def sign(self, password: str, meaning: str = "authored") -> Any:
        """Sign the session (password re-entered), on this thread (a screen uses :meth:`request_sign`).
        Afterwards only corrections, and :meth:`next_patient`."""
        self._sign(Inline(), password, meaning)
        return self._now(Intent.SIGN)

    def request_sign(self, password: str, meaning: str = "authored") -> Intent:
        """As :meth:`sign`: the key is opened on the compute lane (seconds of KDF that must not hold up the
        vitals writer), the signature committed on the writer lane; :meth:`poll` gives the outcome."""
        return self._sign(self.lanes, password, meaning)

    def _sign(self, lanes: Lanes, password: str, meaning: str) -> Intent:
        refusal = self.sign_refusal()
        if refusal:
            raise Refused(refusal)
        self._need_idle()
        if not password:
            raise Refused("Re-enter your password to sign.")
        svc, session_id = self.svc, self.session_id

        def seal(key: Any) -> tuple[Any, str]:
            entry = svc.seal(session_id, key, meaning)  # busy: retried with the opened key, nothing was written
            try:
                svc.witness_signature(session_id, entry)
            except Exception as exc:  # noqa: BLE001 - signed all the same; the clinician is told
                return entry, str(exc)
            return entry, ""

        if callable(getattr(svc, "signing_key", None)) and callable(getattr(svc, "seal", None)):
            steps = [Step(Lane.COMPUTE, lambda _: svc.signing_key(session_id, password, meaning)),
                     Step(Lane.WRITE, seal)]
        else:  # a look-alike service signs in one call
            steps = [Step(Lane.WRITE, lambda _: (svc.sign(session_id, password, meaning), ""))]

        def apply(value: tuple[Any, str]) -> Outcome:
            entry, note = value  # the session is still this one: next_patient and begin wait for it
            self._stored(entry)
            self.signed = self.sealed = True
            return Outcome(Intent.SIGN, entry, note=note)

        return self._launch(Intent.SIGN, steps, apply, lanes)

    def amend(self, entry_id: Any, reason: str, data: dict[str, Any]) -> Any:
        """Correct an entry (also after sign-off: the session then needs a new signature), on this thread
        (a screen uses :meth:`request_amend`)."""
        self._amend(Inline(), entry_id, reason, data)
        return self._now(Intent.AMEND)

    def request_amend(self, entry_id: Any, reason: str, data: dict[str, Any]) -> Intent:
        """As :meth:`amend`, committed on the writer lane; :meth:`poll` gives the outcome."""
        return self._amend(self.lanes, entry_id, reason, data)

    def _amend(self, lanes: Lanes, entry_id: Any, reason: str, data: dict[str, Any]) -> Intent:
        if self.session is None:
            raise Refused("Start a session first.")
        self._need_idle()
        svc, session_id = self.svc, self.session_id

        def apply(entry: Any) -> Outcome:
            self._stored(entry)
            self.signed = False
            return Outcome(Intent.AMEND, entry)

        return self._launch(Intent.AMEND, [Step(Lane.WRITE, lambda _: svc.amend(session_id, entry_id, reason,
                                                                               data))], apply, lanes)
