"""The alarm engine: samples in, alarms and record events out. No Qt, no clock: time is always passed in.

Feed it every :class:`~devices.model.Numeric`, :class:`~devices.model.LinkEvent` and
:class:`~devices.model.DeviceAlarm` (wave blocks only count as "data arrived") with :meth:`AlarmEngine.feed`
on the thread that owns it, or from acquisition threads with :meth:`AlarmEngine.submit`; call
:meth:`AlarmEngine.tick` from the app's display timer, and read :meth:`AlarmEngine.visible` for the banner.
Every start, end, acknowledgement and audio pause becomes a dict for an ``alarm`` record entry, delivered to
``on_event`` or kept for :meth:`AlarmEngine.drain_events`.

Physiological rules: the table :data:`~console.alarms.limits.RULES` (one entry per rule: the parameters it
watches, above / below / rise over the session baseline, default threshold, priority, delay, hysteresis and
message), with the thresholds of :class:`~console.alarms.limits.AlarmLimits`. Defaults (CLINICAL.md):
SBP >= 180 or DBP >= 110 (high); a rise over baseline of >= 40 / 25 mmHg (medium); SpO2 < 92 (medium) and
< 88 (high); HR or pulse rate > 120 or < 45, RR < 8, EtCO2 < 20 or > 60 mmHg (medium).

One alarm condition per parameter and direction (:class:`_Condition`): every rule watching the same parameter
of one device in the same direction (SpO2 "low" and "critical", an arterial systolic's high limit and its rise
over baseline) feeds ONE alarm. Its priority is the most urgent rule broken while it lasts; a more urgent rule
broken later raises the priority of the same alarm (an ``escalate`` record entry with the value and limit that
were crossed, and it sounds again even if acknowledged); a lesser value never quietly lowers it while the
condition lasts; one acknowledgement covers it; it ends when the value is back inside the least urgent limit
(every rule of the condition cleared). A desaturation to 84 % is one banner, one list row, one acknowledgement.

NIBP: one cuff reading (systolic, diastolic, mean: the parts arriving with one time from one device) is the same
kind of condition (:mod:`console.alarms.nibp`, one per device): its priority is the most urgent limit any part
breaks, one acknowledgement covers it, and its text is the whole reading, e.g. "NBP 186/112 (137) ≥ 180/110
mmHg". A reading is judged when it is complete (all three parts), when its device sends something with a later
time, or at the end of a batch / :meth:`AlarmEngine.tick` (or before any query, so a display never lags a fed
reading). A result is one validated measurement, so it alarms at once; a later reading still past a limit
updates the same alarm (a worse limit escalates it as above); the next reading inside the clear margin of every
limit the condition broke ends it (a value re-sent with ``MEASURING`` while the cuff inflates is the previous
result and is not evaluated again). Continuous values (SpO2, HR, RR, EtCO2, arterial BP) break a rule only once
every usable value has been beyond its limit for ``persistence_s`` seconds (a shorter spike raises nothing), and
clear it only after :data:`CLEAR_HOLD_S` seconds inside the clear margin; a value hovering between the limit and
the margin keeps the rule as it is, so it neither chatters on and off nor ends early. Unusable values (invalid,
questionable, unavailable) neither confirm nor reset a rule; a gap without data longer than ``stale_s`` restarts
the delay. Demo and test data alarm like real data but every alarm from them is marked ``demo``.

Technical ("INOP") alarms: device disconnected (``LinkEvent`` LOST, medium, at once), no data from a device
for ``stale_s`` seconds (or a SILENT link; medium, evaluated in :meth:`~AlarmEngine.tick`), sensor off and
lead off (low, at once), invalid or questionable values (low, after ``persistence_s``), and the monitor's own
alarms (``DeviceAlarm``) passed through with the monitor's priority. A deliberately STOPPED device raises
nothing.

The console is a secondary alarm display: it never suppresses or replaces the bedside monitor's own alarms.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from console.alarms import nibp
from console.alarms.limits import RULES, AlarmLimits, AlarmRule
from console.alarms.model import Alarm, Category, EventKind, event_dict, priority_name
from console.clinical.units import display_unit
from devices import mdc
from devices.model import (
    AlarmPriority,
    DeviceAlarm,
    LinkEvent,
    LinkState,
    Numeric,
    Sample,
    State,
    WaveBlock,
)

log = logging.getLogger(__name__)

#: seconds a continuous value must stay inside the clear margin before its alarm ends
CLEAR_HOLD_S = 5.0
#: seconds a technical flag must be gone before its INOP ends (flags flicker with artifacts)
TECH_CLEAR_HOLD_S = 2.0
#: default audio pause (IEC "audio paused" with a visible countdown)
AUDIO_PAUSE_S = 120.0
#: most alarms kept for the alarm list; the oldest ended, acknowledged ones go first
HISTORY_LIMIT = 5000

_NIBP = frozenset(nibp.PARTS)
_ABP = frozenset({mdc.ABP_SYS, mdc.ABP_DIA})
_DEMO = State.DEMO | State.TEST



def _directions(code: int) -> tuple[tuple[bool, tuple[AlarmRule, ...]], ...]:
    """The conditions of one continuous parameter: per direction (``above`` True for high and rise rules), the
    rules of the table watching it, the more urgent first so a value past both limits at once starts the
    condition at the higher priority."""
    out = []
    for above in (True, False):
        rules = sorted((r for r in RULES if code in r.parameters and r.above == above), key=lambda r: -r.priority)
        if rules:
            out.append((above, tuple(rules)))
    return tuple(out)


#: each continuous parameter's conditions (from the table RULES); NIBP parts are judged as one reading
#: (console.alarms.nibp), not here
_CONDITIONS_BY_CODE: dict[int, tuple[tuple[bool, tuple[AlarmRule, ...]], ...]] = {
    code: _directions(code) for code in sorted({c for r in RULES for c in r.parameters} - _NIBP)
}

#: a tile's code -> the alarm codes it lights up for; the one NIBP alarm carries the compound code
_COMPOUND = {mdc.NIBP: frozenset({mdc.NIBP, *nibp.PARTS}),
             **{code: frozenset({code, mdc.NIBP}) for code in nibp.PARTS}}

# Condition evidence from one sample.
_VIOLATING, _NEUTRAL, _CLEAR = "violating", "neutral", "clear"


#: what a step of a tracker changed
_ON, _OFF = "on", "off"


@dataclass(slots=True)
class _Tracker:
    """The delay/hysteresis state of one rule on one parameter of one device (or of one technical flag).

    ``on`` says the rule is broken (its delay passed and it has not cleared since); a rule alone raises no
    alarm: the :class:`_Condition` of its parameter and direction does. ``alarm`` is used by technical flags
    only, each of which is its own INOP."""

    onset_s: float
    clear_s: float
    pending_since: float | None = None
    last_violation: float | None = None
    clearing_since: float | None = None
    on: bool = False
    alarm: Alarm | None = None


@dataclass(slots=True)
class _Reading:
    """The parts of one NIBP reading received so far (one device, one time)."""

    time: float
    values: dict[int, float] = field(default_factory=dict)
    demo: bool = False


@dataclass(slots=True)
class _Condition:
    """One active alarm condition and what it has broken so far: one continuous parameter of one device in one
    direction (SpO2 low: both the "low" and the "critical" rule), or one device's NIBP readings.

    However many of its rules are broken, it is one :class:`Alarm`: the most urgent priority reached, one
    acknowledgement, one row. :meth:`AlarmEngine._escalate` is the one way its priority goes up."""

    alarm: Alarm
    broken: set[tuple[str, int]]  # (rule id, part) this condition broke; each must clear before it ends
    primary: int  # the parameter / part whose number is the alarm's value (the most urgent one broken)
    above: bool  # whether that limit is a high one (which way a value is "worse")


@dataclass(slots=True)
class _Source:
    """What the engine knows about one device."""

    last_data: float
    lost: bool = False
    lost_at: float = 0.0
    stopped: bool = False
    latest: dict[int, tuple[float, float]] = field(default_factory=dict)  # code -> (value, time)


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def _unit_text(unit: str) -> str:
    return display_unit(unit)


class AlarmEngine:
    """Evaluates limits and technical conditions; keeps the alarms; logs every change for the record.

    Deterministic: nothing reads a clock. A sample's time is its ``host_time`` (or ``now`` when the sample has
    none); :meth:`tick` does the time-driven checks (stale data, end of the audio pause).
    """

    def __init__(self, limits: AlarmLimits,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        """``on_event`` receives each record event as it happens; without it events queue for
        :meth:`drain_events`. If the callback raises, the event is queued instead, so nothing is lost."""
        if not isinstance(limits, AlarmLimits):
            raise TypeError(f"limits must be AlarmLimits, got {type(limits).__name__}")
        self._limits = limits
        self._on_event = on_event
        self._events: list[dict[str, Any]] = []
        self._inbox: deque[list[Sample]] = deque()
        self._trackers: dict[tuple[str, int, str], _Tracker] = {}
        self._plain: dict[str, Alarm] = {}  # alarms without delay logic: link, stale, device alarms
        self._pending: dict[str, _Reading] = {}  # NIBP parts received, not judged yet, by device
        self._nibp: dict[str, _Condition] = {}  # the active NIBP alarm by device
        self._conditions: dict[tuple[bool, int, str], _Condition] = {}  # (above, code, device) -> active
        self._sources: dict[str, _Source] = {}
        self._history: list[Alarm] = []
        self._next_id = 1
        self._baseline: dict[str, float] = {}
        self._paused_until: float | None = None
        self._paused_by: str | None = None
        #: increments on every change a display would show; widgets redraw only when it moved
        self.revision = 0

    # ------------------------------------------------------------------ configuration

    @property
    def limits(self) -> AlarmLimits:
        return self._limits

    @property
    def protocol_version(self) -> str:
        return self._limits.protocol_version

    def set_limits(self, limits: AlarmLimits) -> None:
        """Use a session's protocol limits from now on (rules read the limits at each evaluation, so conditions
        already being timed carry on against the new numbers). The session baseline is cleared with it."""
        if not isinstance(limits, AlarmLimits):
            raise TypeError(f"limits must be AlarmLimits, got {type(limits).__name__}")
        self._settle()  # a reading taken before the change is judged by the limits of its time
        self._limits = limits
        self._baseline = {}
        self.revision += 1

    def set_baseline(self, sbp: float, dbp: float) -> None:
        """Set the session's pre-dose blood pressure that the rise rules compare against (mmHg)."""
        for name, v in (("systolic", sbp), ("diastolic", dbp)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 20 <= v <= 300:
                raise ValueError(f"baseline {name} pressure must be a number of mmHg between 20 and 300, "
                                 f"got {v!r}")
        if dbp >= sbp:
            raise ValueError(f"baseline diastolic ({dbp}) must be below systolic ({sbp})")
        self._settle()
        self._baseline = {"sbp": float(sbp), "dbp": float(dbp)}

    @property
    def baseline(self) -> tuple[float, float] | None:
        """The session baseline (systolic, diastolic) or ``None`` before it was set."""
        return (self._baseline["sbp"], self._baseline["dbp"]) if self._baseline else None

    # ------------------------------------------------------------------ input

    def feed(self, sample: Sample, now: float | None = None) -> None:
        """Take one sample. ``now`` is used when the sample carries no ``host_time``."""
        t = sample.host_time if sample.host_time else now
        if t is None:
            raise ValueError(f"{type(sample).__name__} has no host_time; pass now= to AlarmEngine.feed")
        pending = self._pending.get(sample.source)
        if pending is not None and pending.time != t:
            self._judge_reading(sample.source)  # the device moved on: its reading is complete
        if isinstance(sample, Numeric):
            self._numeric(sample, t)
        elif isinstance(sample, WaveBlock):
            self._data_seen(sample.source, t)
        elif isinstance(sample, LinkEvent):
            self._link(sample, t)
        elif isinstance(sample, DeviceAlarm):
            self._device_alarm(sample, t)
        else:
            log.warning("alarm engine ignored an unknown sample type %s", type(sample).__name__)

    def feed_many(self, samples: Iterable[Sample], now: float | None = None) -> None:
        """Take samples in order (one acquisition batch)."""
        for s in samples:
            self.feed(s, now)
        self._settle()  # a batch holds whole readings; judge them now rather than at the next query

    def submit(self, batch: Iterable[Sample]) -> None:
        """Hand over a batch of samples from ANY thread, e.g. acquisition threads through
        ``MainWindow.add_sample_consumer(engine.submit)``. Nothing is evaluated here: :meth:`tick` feeds
        queued batches in order on the thread that owns the engine, so the engine itself needs no locks."""
        self._inbox.append(list(batch))  # deque.append is atomic; the copy keeps the batch as it was

    def tick(self, now: float) -> None:
        """Feed the batches queued by :meth:`submit`, then the time-driven checks: stale data per device and
        the end of an audio pause. Call it from the display timer (a few times a second is plenty)."""
        while self._inbox:
            self.feed_many(self._inbox.popleft(), now)
        self._settle()
        stale_s = self._limits.stale_s
        for name, src in self._sources.items():
            key = f"stale|{name}"
            if src.stopped or src.lost or key in self._plain:
                continue
            silent_for = now - src.last_data
            if silent_for >= stale_s:
                label = name or "monitor"
                self._start_plain(key, Category.TECHNICAL, AlarmPriority.MEDIUM, 0, "Data",
                                  f"No data from {label} for {silent_for:.0f} s", "s", stale_s,
                                  f"no data ≥ {_fmt(stale_s)} s", round(silent_for, 1), now, name)
        if self._paused_until is not None and now >= self._paused_until:
            self._end_pause(now, None, "expired")

    # ------------------------------------------------------------------ actions (with the user)

    def acknowledge(self, alarm_id: int, user: str, now: float) -> bool:
        """Acknowledge one alarm as ``user``. A latched alarm disappears; an active one stays visible (the
        condition is still there) but no longer sounds. Returns False for an unknown or already
        acknowledged alarm."""
        user = self._check_user(user)
        self._settle()
        alarm = self._find(alarm_id)
        if alarm is None or alarm.acknowledged:
            return False
        alarm.acknowledged_by = user
        alarm.acknowledged_at = now
        self._emit(event_dict(EventKind.ACK, alarm, now, self.protocol_version, user))
        return True

    def pause_audio(self, user: str, now: float, duration_s: float = AUDIO_PAUSE_S) -> None:
        """Pause the alarm sound for ``duration_s`` (2 minutes). Alarms, including new high ones, stay
        visible. Pausing again restarts the countdown and is logged again."""
        user = self._check_user(user)
        if not 0 < duration_s <= 600:
            raise ValueError(f"audio pause must last between 0 and 600 s, got {duration_s}")
        self._settle()
        self._paused_until = now + duration_s
        self._paused_by = user
        visible = self.visible()
        self._emit({
            "event": EventKind.PAUSE.value, "time": now, "user": user, "duration_s": duration_s,
            "until": self._paused_until, "protocol_version": self.protocol_version,
            "priority": priority_name(visible[0].priority if visible else AlarmPriority.NONE),
            "active_alarm_ids": [a.id for a in visible],
        })

    def resume_audio(self, user: str, now: float) -> bool:
        """End the audio pause early; returns False when it was not paused."""
        user = self._check_user(user)
        if not self.audio_paused(now):
            return False
        self._end_pause(now, user, "resumed")
        return True

    # ------------------------------------------------------------------ state for displays

    def visible(self) -> list[Alarm]:
        """Alarms the banner shows (active or latched), most urgent first."""
        self._settle()
        return sorted((a for a in self._history if a.visible), key=Alarm.rank, reverse=True)

    def top(self) -> Alarm | None:
        """The most urgent visible alarm, the one the banner shows."""
        v = self.visible()
        return v[0] if v else None

    def history(self) -> list[Alarm]:
        """Every alarm of the session in start order (the alarm list)."""
        self._settle()
        return list(self._history)

    def audio_paused(self, now: float) -> bool:
        return self._paused_until is not None and now < self._paused_until

    def pause_remaining(self, now: float) -> float:
        """Seconds of audio pause left (0 when not paused)."""
        return max(0.0, self._paused_until - now) if self.audio_paused(now) else 0.0

    @property
    def paused_by(self) -> str | None:
        return self._paused_by if self._paused_until is not None else None

    def audible_priority(self, now: float) -> AlarmPriority:
        """The priority whose tone should sound now: the highest active, unacknowledged alarm, or NONE while
        audio is paused. Latched alarms whose condition ended are shown, not sounded."""
        if self.audio_paused(now):
            return AlarmPriority.NONE
        self._settle()
        return max((a.priority for a in self._history if a.active and not a.acknowledged),
                   default=AlarmPriority.NONE)

    def priority_for(self, code: int) -> AlarmPriority:
        """Highest priority of the active physiological alarms on one parameter (for its numeric tile).

        The compound NIBP code (``mdc.NIBP``) stands for its systolic, diastolic and mean values, so the one
        blood-pressure tile lights up for either limit."""
        self._settle()
        codes = _COMPOUND.get(code, frozenset({code}))
        return max((a.priority for a in self._history
                    if a.active and a.mdc in codes and not a.technical), default=AlarmPriority.NONE)

    def drain_events(self) -> list[dict[str, Any]]:
        """Record events not yet delivered, oldest first; the queue is emptied."""
        self._settle()
        out, self._events = self._events, []
        return out

    # ------------------------------------------------------------------ internals: numerics

    def _data_seen(self, source: str, t: float) -> _Source:
        src = self._sources.get(source)
        if src is None:
            src = self._sources[source] = _Source(last_data=t)
        src.last_data = max(src.last_data, t)
        src.stopped = False
        if src.lost and t > src.lost_at:
            # data flowing again means the link is back even if no link event said so
            src.lost = False
            self._end_plain(f"link|{source}", t)
        stale = self._plain.get(f"stale|{source}")
        if stale is not None:
            self._end_plain(f"stale|{source}", t)
        return src

    def _numeric(self, n: Numeric, t: float) -> None:
        src = self._data_seen(n.source, t)
        self._flags(n, t)
        if n.mdc in _NIBP:
            self._nibp_part(n, t)
            return
        directions = _CONDITIONS_BY_CODE.get(n.mdc)
        if not directions or not n.usable:
            return
        assert n.value is not None  # usable guarantees it
        if not math.isfinite(n.value):
            log.warning("alarm engine ignored a non-finite %s value from %r", n.label, n.source)
            return
        src.latest[n.mdc] = (n.value, t)
        for above, rules in directions:
            key = (above, n.mdc, n.source)
            broken: list[tuple[AlarmRule, float, float]] = []  # rules that became broken with this value
            for rule in rules:  # the more urgent first
                limit = self._limits.threshold(rule.id)
                base = self._baseline.get(rule.baseline) if rule.baseline is not None else None
                if rule.baseline is not None and base is None:
                    # no session baseline (any more): the rise rule does not apply, so it cannot hold the
                    # condition open (as for NIBP, console.alarms.nibp.assess)
                    x, evidence = n.value, _CLEAR
                else:
                    x = n.value - base if base is not None else n.value
                    evidence = (_VIOLATING if rule.violates(x, limit)
                                else _CLEAR if rule.clear(x, limit) else _NEUTRAL)
                tr = self._trackers.get((rule.id, n.mdc, n.source))
                if tr is None:
                    tr = self._trackers[rule.id, n.mdc, n.source] = _Tracker(self._limits.delay_for(rule),
                                                                            CLEAR_HOLD_S)
                if self._step(tr, evidence, t) == _ON:
                    broken.append((rule, x, limit))
            if broken:
                self._breach(key, broken, n, src, t)
            cond = self._conditions.get(key)
            if cond is None:
                continue
            self._seen(cond, n.value)
            # it ends when the value is back inside the least urgent limit: every rule of it cleared
            if not any(self._trackers[r.id, n.mdc, n.source].on for r in rules):
                del self._conditions[key]
                self._end(cond.alarm, t)

    def _breach(self, key: tuple[bool, int, str], broken: list[tuple[AlarmRule, float, float]], n: Numeric,
                src: _Source, t: float) -> None:
        """Rules (with the value or rise and the limit, most urgent first) just became broken on ``n``'s
        parameter: start its condition, or add them to the one that lasts, escalating it when one is more
        urgent than anything it broke so far. One record entry either way, naming every limit crossed."""
        assert n.value is not None
        rule, x, limit = broken[0]
        message, limit_text, values = self._describe(rule, n, x, limit, src, t)
        for other, _, other_limit in broken[1:]:
            values[f"limit_{other.id}"] = float(other_limit)
        cond = self._conditions.get(key)
        if cond is None:
            label = mdc.label_of(n.mdc, n.label)
            unit = _unit_text(n.unit or (mdc.PARAMETERS[n.mdc].unit if n.mdc in mdc.PARAMETERS else ""))
            direction = "high" if rule.above else "low"
            alarm = self._new_alarm(f"{direction}|{n.mdc}|{n.source}", Category.PHYSIOLOGICAL, rule.priority,
                                    n.mdc, label, message, unit, limit, limit_text, n.value, t, n.source,
                                    bool(n.state & _DEMO), values)
            self._conditions[key] = _Condition(alarm, {(r.id, n.mdc) for r, _, _ in broken}, n.mdc, rule.above)
            self._start(alarm)
            return
        cond.broken.update((r.id, n.mdc) for r, _, _ in broken)
        alarm = cond.alarm
        # a new dict: copies handed to views keep what they were made with; the record keeps the threshold
        # of every rule the condition broke
        alarm.values = {**alarm.values, **values}
        if rule.priority > alarm.priority:
            alarm.message, alarm.limit_text = message, limit_text
            self._escalate(cond, rule, n.mdc, n.value, limit, t)
        else:
            self.revision += 1

    def _describe(self, rule: AlarmRule, n: Numeric, x: float, limit: float, src: _Source,
                  t: float) -> tuple[str, str, dict[str, float]]:
        """The message, limit text and record values of ``rule`` broken by ``n`` (``x``: value or rise)."""
        label = mdc.label_of(n.mdc, n.label)
        unit = _unit_text(n.unit or (mdc.PARAMETERS[n.mdc].unit if n.mdc in mdc.PARAMETERS else ""))
        values: dict[str, float] = {f"limit_{rule.id}": float(limit)}
        if n.mdc in _ABP:
            for name, code in (("sbp", mdc.ABP_SYS), ("dbp", mdc.ABP_DIA)):
                # only the partner value of the same measurement: a diastolic from five minutes ago
                # next to today's systolic would mislead whoever reads the record
                got = src.latest.get(code)
                if got is not None and got[1] == t:
                    values[name] = got[0]
            for name, v in self._baseline.items():
                values[f"baseline_{name}"] = v
        base = self._baseline[rule.baseline] if rule.baseline is not None else None
        if base is not None:
            limit_text = f"rise {rule.operator} {_fmt(limit)} over {_fmt(base)}"
        else:
            limit_text = f"{rule.operator} {_fmt(limit)}"
        message = rule.message.format(label=label, value=_fmt(n.value), unit=unit, op=rule.operator,
                                      limit=_fmt(limit), rise=_fmt(x), baseline=_fmt(base)).rstrip()
        if n.state & _DEMO:
            message += " (DEMO data)"
        return message, limit_text, values

    def _seen(self, cond: _Condition, value: float) -> None:
        """A usable value of the condition's parameter while it lasts: the latest, and the worst so far."""
        alarm = cond.alarm
        alarm.last_value = value
        if alarm.worst_value is None or (value > alarm.worst_value if cond.above else value < alarm.worst_value):
            alarm.worst_value = value
            self.revision += 1  # the alarm list shows the worst value

    # ------------------------------------------------------------------ internals: NIBP readings

    def _nibp_part(self, n: Numeric, t: float) -> None:
        """Collect one usable part of a NIBP reading; judge the reading once it is whole."""
        if not n.usable or n.state & State.MEASURING:
            return  # unusable, or the cuff is inflating and the value is the previous result, already judged
        assert n.value is not None  # usable guarantees it
        if not math.isfinite(n.value):
            log.warning("alarm engine ignored a non-finite %s value from %r", n.label, n.source)
            return
        pending = self._pending.get(n.source)
        if pending is not None and n.mdc in pending.values:
            self._judge_reading(n.source)  # the same part again: a new reading started
            pending = None
        if pending is None:
            pending = self._pending[n.source] = _Reading(t)
        pending.values[n.mdc] = n.value
        pending.demo = pending.demo or bool(n.state & _DEMO)
        if len(pending.values) == len(nibp.PARTS):
            self._judge_reading(n.source)

    def _settle(self) -> None:
        """Judge every NIBP reading still waiting for parts: nothing more of it is coming before a query."""
        for source in list(self._pending):
            self._judge_reading(source)

    def _judge_reading(self, source: str) -> None:
        """Start, update, escalate or end the one NIBP condition of ``source`` with its pending reading."""
        reading = self._pending.pop(source, None)
        if reading is None:
            return
        t, values = reading.time, reading.values
        breaches, evidence = nibp.assess(values, self._limits, self._baseline)
        record = nibp.record_values(values, breaches, self._baseline)
        cond = self._nibp.get(source)
        if cond is None:
            if breaches:
                self._start_nibp(source, reading, breaches, record)
            return
        alarm = cond.alarm
        alarm.values = record  # a new dict: copies handed to views keep the reading they were made with
        primary = values.get(cond.primary)
        if primary is not None:
            self._seen(cond, primary)
        # ends only when every limit it broke is back inside its clear margin in this reading; a part in the
        # hysteresis band, or not measured, keeps the alarm as it is. The end entry carries the reading that
        # ended it; the alarm's text keeps the last reading that alarmed (what a latched alarm must show).
        if not breaches and all(evidence.get(part) == nibp.CLEAR for part in cond.broken):
            del self._nibp[source]
            self._end(alarm, t)
            return
        alarm.reading = nibp.reading_text(values)
        if breaches:
            cond.broken.update((b.rule.id, b.code) for b in breaches)
            alarm.limit_text = nibp.limit_text(breaches)
            alarm.message = self._nibp_message(alarm, reading)
            worst = breaches[0]
            if worst.rule.priority > alarm.priority:
                self._escalate(cond, worst.rule, worst.code, worst.value, worst.limit, t)
            self.revision += 1
            return
        alarm.message = self._nibp_message(alarm, reading)
        self.revision += 1

    def _start_nibp(self, source: str, reading: _Reading, breaches: list[nibp.Breach],
                    record: dict[str, float]) -> None:
        worst = breaches[0]
        alarm = self._new_alarm(f"nibp|{source}", Category.PHYSIOLOGICAL, worst.rule.priority, mdc.NIBP, "NBP",
                                "", "mmHg", worst.limit, nibp.limit_text(breaches), worst.value, reading.time,
                                source, reading.demo, record)
        alarm.reading = nibp.reading_text(reading.values)
        alarm.message = self._nibp_message(alarm, reading)
        self._nibp[source] = _Condition(alarm, {(b.rule.id, b.code) for b in breaches}, worst.code,
                                            worst.rule.above)
        self._start(alarm)

    def _escalate(self, cond: _Condition, rule: AlarmRule, code: int, value: float, limit: float,
                  t: float) -> None:
        """A more urgent rule broken while the condition lasts (the caller has set the alarm's message and
        limit text): the same alarm at a higher priority, and an ``escalate`` entry with the value and limit
        that were crossed and the priority it came from.

        The escalated alarm sounds again even when it was acknowledged. IEC 60601-1-8 lets an acknowledgement
        silence the auditory signal of an alarm condition as it was when acknowledged; a rise in priority
        (SpO2 from below 92 % to below 88 %) is information the operator has not had yet, and an escalation
        that stayed silent would be a new high-priority condition hidden behind an old medium one. So the
        acknowledgement ends here, the new priority's signal sounds, and a new acknowledgement is needed."""
        alarm = cond.alarm
        before = priority_name(alarm.priority)
        alarm.priority = AlarmPriority(rule.priority)
        alarm.limit = limit
        alarm.acknowledged_by = None
        alarm.acknowledged_at = None
        if code != cond.primary:  # a NIBP reading's other part: its worst is on another scale
            alarm.worst_value = value
        cond.primary, cond.above = code, rule.above
        alarm.last_value = value
        self._seen(cond, value)
        data = event_dict(EventKind.ESCALATE, alarm, t, self.protocol_version)
        data["reason"] = f"priority raised from {before}: {alarm.limit_text}"
        self._emit(data)

    @staticmethod
    def _nibp_message(alarm: Alarm, reading: _Reading) -> str:
        text = f"{alarm.parameter} {alarm.reading} {alarm.limit_text} {alarm.unit}"
        return text + (" (DEMO data)" if alarm.demo else "")

    def _flags(self, n: Numeric, t: float) -> None:
        """Sensor off, lead off and invalid/questionable data of one parameter as technical alarms."""
        off = n.state & (State.SENSOR_OFF | State.LEAD_OFF)
        bad = n.state & (State.INVALID | State.QUESTIONABLE)
        checks = (
            ("sensor_off", bool(n.state & State.SENSOR_OFF), 0.0, "sensor off"),
            ("lead_off", bool(n.state & State.LEAD_OFF), 0.0, "lead off"),
            # a sensor-off value is also invalid: one INOP per cause is enough
            ("invalid", bool(bad) and not off, self._limits.persistence_s,
             "questionable data" if bad == State.QUESTIONABLE else "invalid data"),
        )
        for kind, present, onset, words in checks:
            key = (kind, n.mdc, n.source)
            tr = self._trackers.get(key)
            if tr is None:
                if not present:
                    continue  # nothing to track until the flag first appears
                tr = self._trackers[key] = _Tracker(onset, TECH_CLEAR_HOLD_S)
            label = mdc.label_of(n.mdc, n.label)

            def make(kind: str = kind, words: str = words, label: str = label) -> Alarm:
                where = f" ({n.source})" if n.source else ""
                return self._new_alarm(f"{kind}|{n.mdc}|{n.source}", Category.TECHNICAL, AlarmPriority.LOW,
                                       n.mdc, label, f"{label} {words}{where}", "", None, words, None, t,
                                       n.source, bool(n.state & _DEMO), {})

            evidence = _VIOLATING if present else (_NEUTRAL if kind == "invalid" and off else _CLEAR)
            change = self._step(tr, evidence, t)
            if change == _ON:
                tr.alarm = make()
                self._start(tr.alarm)
            elif change == _OFF and tr.alarm is not None:
                self._end(tr.alarm, t)
                tr.alarm = None

    def _step(self, tr: _Tracker, evidence: str, t: float) -> str | None:
        """Advance one rule or flag: onset delay, hysteresis and clear hold. Returns :data:`_ON` when it just
        became broken, :data:`_OFF` when it just cleared, else None."""
        if not tr.on:
            if evidence != _VIOLATING:
                tr.pending_since = None
                return None
            # a long gap without usable data is no evidence the condition persisted through it
            if tr.pending_since is None or (tr.last_violation is not None
                                            and t - tr.last_violation > self._limits.stale_s):
                tr.pending_since = t
            tr.last_violation = t
            if t - tr.pending_since >= tr.onset_s:
                tr.on = True
                tr.clearing_since = None
                return _ON
            return None
        if evidence == _CLEAR:
            if tr.clearing_since is None:
                tr.clearing_since = t
            if t - tr.clearing_since >= tr.clear_s:
                tr.on = False
                tr.pending_since = None
                tr.clearing_since = None
                return _OFF
        else:
            tr.clearing_since = None
            if evidence == _VIOLATING:
                tr.last_violation = t
        return None

    # ------------------------------------------------------------------ internals: links and device alarms

    def _link(self, ev: LinkEvent, t: float) -> None:
        name = ev.source
        src = self._sources.get(name)
        key = f"link|{name}"
        label = name or "monitor"
        if ev.state == LinkState.LOST:
            if src is None:
                src = self._sources[name] = _Source(last_data=t)
            src.lost = True
            src.lost_at = t
            if key not in self._plain:
                why = f": {ev.message}" if ev.message else ""
                self._start_plain(key, Category.TECHNICAL, AlarmPriority.MEDIUM, 0, "Link",
                                  f"{label} disconnected{why}", "", None, "link lost", None, t, name)
        elif ev.state == LinkState.SILENT:
            skey = f"stale|{name}"
            if src is None:
                src = self._sources[name] = _Source(last_data=t)
            if skey not in self._plain and not src.stopped:
                why = f": {ev.message}" if ev.message else ""
                self._start_plain(skey, Category.TECHNICAL, AlarmPriority.MEDIUM, 0, "Data",
                                  f"No data from {label}{why}", "s", self._limits.stale_s,
                                  f"no data ≥ {_fmt(self._limits.stale_s)} s", None, t, name)
        elif ev.state in (LinkState.CONNECTED, LinkState.ASSOCIATED, LinkState.STOPPED):
            if src is not None:
                src.lost = False
                if ev.state == LinkState.STOPPED:
                    src.stopped = True  # a deliberate stop is not an alarm, and nothing is stale after it
                    self._end_plain(f"stale|{name}", t)
                else:
                    # the link is back: the stale clock restarts now, not from before the outage
                    src.stopped = False
                    src.last_data = max(src.last_data, t)
            self._end_plain(key, t)

    def _device_alarm(self, da: DeviceAlarm, t: float) -> None:
        key = f"device|{da.code}|{da.source}"
        priority = da.priority if da.priority != AlarmPriority.NONE else AlarmPriority.LOW
        current = self._plain.get(key)
        if da.active:
            if current is not None and current.priority == priority:
                return
            if current is not None:  # the monitor changed the priority: the record shows both phases
                self._end_plain(key, t)
            label = mdc.label_of(da.mdc, "") if da.mdc else "Monitor"
            category = Category.TECHNICAL if da.technical else Category.PHYSIOLOGICAL
            where = f" ({da.source})" if da.source else ""
            self._start_plain(key, category, priority, da.mdc, label, f"{da.text}{where} [monitor alarm]",
                              "", None, "monitor's own limit", None, t, da.source)
        elif current is not None:
            self._end_plain(key, t)

    def _start_plain(self, key: str, category: Category, priority: AlarmPriority, code: int, parameter: str,
                     message: str, unit: str, limit: float | None, limit_text: str, value: float | None,
                     t: float, source: str) -> None:
        alarm = self._new_alarm(key, category, priority, code, parameter, message, unit, limit, limit_text,
                                value, t, source, False, {})
        self._plain[key] = alarm
        self._start(alarm)

    def _end_plain(self, key: str, t: float) -> None:
        alarm = self._plain.pop(key, None)
        if alarm is not None:
            self._end(alarm, t)

    def set_system_condition(self, key: str, message: str | None, now: float,
                             priority: AlarmPriority = AlarmPriority.MEDIUM) -> None:
        """Raise (``message`` given) or clear (``None``) a technical alarm about the console itself, such as
        "no alarm sound output": a fault of the alarm system must itself be an alarm. Raising an active key
        again changes nothing; it is recorded like any other alarm."""
        if not key or "|" in key:
            raise ValueError(f"system condition key must be a non-empty word, got {key!r}")
        full = f"system|{key}"
        if message is None:
            self._end_plain(full, now)
        elif full not in self._plain:
            # a technical alarm's limit text is its cause in words (the alarm list's second line): here the
            # message itself, so the list says what is wrong with the console, not a placeholder
            self._start_plain(full, Category.TECHNICAL, priority, 0, "Console", message, "", None,
                              message, None, now, "console")

    # ------------------------------------------------------------------ internals: bookkeeping

    def _new_alarm(self, key: str, category: Category, priority: AlarmPriority, code: int, parameter: str,
                   message: str, unit: str, limit: float | None, limit_text: str, value: float | None,
                   t: float, source: str, demo: bool, values: dict[str, float]) -> Alarm:
        alarm = Alarm(id=self._next_id, key=key, category=category, priority=AlarmPriority(priority),
                      mdc=code, parameter=parameter, message=message, unit=unit, limit=limit,
                      limit_text=limit_text, value=value, started=t, source=source, demo=demo, values=values,
                      last_value=value, worst_value=value)
        self._next_id += 1
        return alarm

    def _start(self, alarm: Alarm) -> None:
        self._history.append(alarm)
        if len(self._history) > HISTORY_LIMIT:
            for i, old in enumerate(self._history):
                if not old.visible:
                    del self._history[i]
                    break
        self._emit(event_dict(EventKind.START, alarm, alarm.started, self.protocol_version))

    def _end(self, alarm: Alarm, t: float) -> None:
        alarm.ended = t
        self._emit(event_dict(EventKind.END, alarm, t, self.protocol_version))

    def _end_pause(self, now: float, user: str | None, reason: str) -> None:
        self._emit({"event": EventKind.PAUSE_END.value, "time": now, "user": user, "reason": reason,
                    "paused_by": self._paused_by, "protocol_version": self.protocol_version})
        self._paused_until = None
        self._paused_by = None

    def _find(self, alarm_id: int) -> Alarm | None:
        return next((a for a in self._history if a.id == alarm_id), None)

    @staticmethod
    def _check_user(user: str) -> str:
        if not isinstance(user, str) or not user.strip():
            raise ValueError("an acknowledgement or audio pause must name the user who did it")
        return user.strip()

    def _emit(self, data: dict[str, Any]) -> None:
        self.revision += 1
        if self._on_event is None:
            self._events.append(data)
            return
        try:
            self._on_event(data)
        except Exception:  # the record must not lose an alarm because a consumer failed
            log.exception("alarm event consumer failed; event kept for drain_events()")
            self._events.append(data)
