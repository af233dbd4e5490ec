"""Schedule engine: what is due next, what is overdue, and when the next esketamine device is allowed.

Everything here is a pure function of the protocol, the session's entries and ``now`` (POSIX seconds), so the
session panel can recompute it on every tick and tests can walk through a whole session without a clock.

Time points in a template's schedule are ``"baseline"`` (before dosing starts), minutes after the start
(``40``), ``"end"`` (infusion stopped; for a bolus the injection itself; for nasal devices the last planned
device) and ``"discharge"`` (end of the monitoring period). Blood pressure can also repeat ``every_min`` from the
start until ``after_end_min`` after the end.

An observation saved *for* a checkpoint (its ``point``, e.g. ``"40"``) does that checkpoint, whenever it was
taken, and also any checkpoint of the same scale due at the same moment ("40 min" and "end" of a 40-minute
infusion). Otherwise a checkpoint is *done* by a reading inside its window: from ``early_min`` before it is due until just before
the next distinct checkpoint of the same kind opens (so one reading never counts for two different times, but
two checkpoints due at the same moment, e.g. "40 min" and "end" of a 40-minute infusion, share one). It becomes
*overdue* ``grace_min`` after its due time, and *missed* once its window has closed. Overdue and missed
checkpoints are reported once in :attr:`ScheduleStatus.unlogged` until a ``check_overdue`` entry names them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console.clinical._common import field as _field
from console.clinical._common import to_epoch
from console.clinical.protocols import Protocol
from console.clinical.vitals import bp_from_snapshot

DONE, PENDING, WAITING, OVERDUE, MISSED = "done", "pending", "waiting", "overdue", "missed"
BP = "bp"
INF = math.inf


@dataclass(frozen=True, slots=True)
class Timeline:
    """The dosing events of a session, as read from its entries."""

    start: float | None = None
    end: float | None = None
    running: bool = False
    paused: bool = False
    device_times: tuple[float, ...] = ()
    discharged_at: float | None = None

    @property
    def started(self) -> bool:
        return self.start is not None


def timeline_from_entries(entries: Iterable[Any], protocol: Protocol) -> Timeline:
    """Start, end, pause state and device times from entries (dicts or objects with kind/at/data)."""
    start = end = discharged = None
    running = paused = False
    devices: list[float] = []
    for e in sorted(entries, key=lambda e: to_epoch(_field(e, "at")) or 0.0):
        kind, at = _field(e, "kind"), to_epoch(_field(e, "at"))
        if kind == "infusion_start":
            start = at if start is None else start
            running, paused = True, False
            if protocol.mode == "bolus":
                end, running = at, False
        elif kind == "infusion_pause" and running:
            paused = True
        elif kind == "infusion_resume" and running:
            paused = False
        elif kind == "infusion_stop":
            end, running, paused = at, False, False
        elif kind == "esketamine_dose" and at is not None:
            devices.append(at)
            start = at if start is None else start
        elif kind == "discharge":
            discharged = at
    if protocol.uses_devices and devices:
        planned = protocol.plan().devices or 0
        if len(devices) >= planned:
            end = devices[planned - 1]
    return Timeline(start, end, running, paused, tuple(devices), discharged)


def records_from_entries(entries: Iterable[Any], bp_times: Iterable[float] = ()) -> dict[str, list[float]]:
    """Times of what the schedule counts: ``"bp"`` readings and observations per scale id.

    A BP reading is taken from a vitals snapshot in any entry (its own measurement time when the snapshot has
    one) plus ``bp_times`` the panel saw on the live monitor.
    """
    out: dict[str, list[float]] = {BP: [float(t) for t in bp_times]}
    for e in entries:
        data = _field(e, "data") or {}
        at = to_epoch(_field(e, "at"))
        if _field(e, "kind") == "observation" and isinstance(data.get("scale"), str) and at is not None:
            out.setdefault(data["scale"], []).append(at)
        for key in ("vitals", "baseline_vitals"):
            snap = data.get(key) if isinstance(data, dict) else None
            if isinstance(snap, dict):
                bp = bp_from_snapshot(snap)
                when = bp[2] if bp is not None and bp[2] is not None else at
                if bp is not None and when is not None:
                    out[BP].append(when)
    return out


def point_key(point: Any) -> str:
    """The text form of a schedule point as checkpoint keys use it (``40`` / ``"40"`` / ``40.0`` -> ``"40"``)."""
    if isinstance(point, bool):
        return str(point)
    if isinstance(point, (int, float)):
        return f"{float(point):g}"
    text = str(point).strip()
    try:
        return f"{float(text):g}"
    except ValueError:
        return text


def points_from_entries(entries: Iterable[Any]) -> dict[str, float]:
    """Observations saved for a schedule point: ``{"moaas@40": time}`` (the first one for each point)."""
    out: dict[str, float] = {}
    for e in sorted(entries, key=lambda e: to_epoch(_field(e, "at")) or 0.0):
        data = _field(e, "data") or {}
        at = to_epoch(_field(e, "at"))
        if _field(e, "kind") != "observation" or not isinstance(data, dict) or at is None:
            continue
        scale, point = data.get("scale"), data.get("point")
        if isinstance(scale, str) and point not in (None, ""):
            out.setdefault(f"{scale}@{point_key(point)}", at)
    return out


def logged_overdue_keys(entries: Iterable[Any]) -> set[str]:
    """Checkpoint keys already reported by ``check_overdue`` entries."""
    keys: set[str] = set()
    for e in entries:
        if _field(e, "kind") == "check_overdue":
            data = _field(e, "data") or {}
            if isinstance(data.get("key"), str):
                keys.add(data["key"])
    return keys


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One thing due at one time point (``key`` such as ``"bp@10"``, ``"moaas@baseline"``)."""

    key: str
    what: str
    point: str | float
    label: str
    due_at: float | None
    window_start: float
    window_end: float
    done_at: float | None
    state: str

    def seconds_left(self, now: float) -> float | None:
        """Seconds until due (negative when late), ``None`` while the due time is not known yet."""
        return None if self.due_at is None else self.due_at - now

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "what": self.what, "point": self.point, "label": self.label,
                "due_at": self.due_at, "state": self.state}


@dataclass(frozen=True, slots=True)
class ScheduleStatus:
    """Everything the panel shows about the schedule at one moment."""

    now: float
    checkpoints: tuple[Checkpoint, ...]
    unlogged: tuple[Checkpoint, ...] = field(default=())

    @property
    def overdue(self) -> list[Checkpoint]:
        return [c for c in self.checkpoints if c.state == OVERDUE]

    @property
    def missed(self) -> list[Checkpoint]:
        return [c for c in self.checkpoints if c.state == MISSED]

    @property
    def upcoming(self) -> list[Checkpoint]:
        """Pending checkpoints in due order (those with a known time first)."""
        pend = [c for c in self.checkpoints if c.state in (PENDING, WAITING)]
        return sorted(pend, key=lambda c: (c.due_at is None, c.due_at or 0.0))

    @property
    def next_due(self) -> Checkpoint | None:
        """The next pending checkpoint (not yet overdue), or ``None`` when nothing is left."""
        up = self.upcoming
        return up[0] if up else None

    def get(self, key: str) -> Checkpoint:
        for c in self.checkpoints:
            if c.key == key:
                return c
        raise KeyError(key)


def _point_label(what_label: str, point: str | float) -> str:
    if point == "baseline":
        return f"{what_label} baseline"
    if point == "end":
        return f"{what_label} at end of dosing"
    if point == "discharge":
        return f"{what_label} before discharge"
    return f"{what_label} at {point:g} min"


def _due(point: str | float, tl: Timeline, protocol: Protocol) -> float | None:
    if point == "baseline":
        return tl.start
    if tl.start is None:
        return None
    if point == "end":
        return tl.end
    if point == "discharge":
        mon = protocol.schedule["monitoring"]
        base = tl.start if mon["from"] == "start" else tl.end
        return None if base is None else base + float(mon["min"]) * 60.0
    return tl.start + float(point) * 60.0


def compute_schedule(protocol: Protocol, timeline: Timeline, records: Mapping[str, Iterable[float]],
                     now: float, *, logged: Iterable[str] = (),
                     titles: Mapping[str, str] | None = None,
                     by_point: Mapping[str, float] | None = None) -> ScheduleStatus:
    """The state of every scheduled check at ``now``.

    ``records`` maps ``"bp"`` and scale ids to the times readings were taken (:func:`records_from_entries`);
    ``logged`` holds the keys of checkpoints already reported overdue; ``titles`` gives display names of scale
    ids (``{"moaas": "MOAA/S"}``); ``by_point`` maps checkpoint keys to the time of the observation saved for
    that point (:func:`points_from_entries`): it does the checkpoint whenever it was taken, and is not counted
    for any other time.
    """
    by_point = dict(by_point or {})
    sched = protocol.schedule
    grace = float(sched.get("grace_min", 5)) * 60.0
    early = float(sched.get("early_min", 3)) * 60.0
    titles = dict(titles or {})
    titles.setdefault(BP, "BP")

    plan: dict[str, list[str | float]] = {}
    bp = sched["bp"]
    plan[BP] = list(bp["at"])
    for o in sched.get("observations", []):
        plan.setdefault(o["scale"], [])
        plan[o["scale"]].extend(a for a in o["at"] if a not in plan[o["scale"]])
    if bp.get("every_min") and timeline.start is not None:
        step = float(bp["every_min"])
        if timeline.end is not None:
            last = (timeline.end - timeline.start) / 60.0 + float(bp.get("after_end_min", 0))
        else:
            last = (now - timeline.start) / 60.0 + step  # show the next one while the end is unknown
        k = 1
        while k * step <= last + 1e-9:
            plan[BP].append(k * step)
            k += 1

    checkpoints: list[Checkpoint] = []
    for what, points in plan.items():
        label = titles.get(what, what.upper())
        items = []
        seen_due: list[float] = []
        for point in points:
            due = _due(point, timeline, protocol)
            # a repeating BP point landing on a named one (e.g. "discharge") would ask for the same reading twice
            if isinstance(point, float) and what == BP and due is not None and any(
                    abs(due - d) < early for d in seen_due):
                continue
            if due is not None:
                seen_due.append(due)
            items.append((point, due))
        items.sort(key=lambda pd: (pd[0] != "baseline", pd[1] is None, pd[1] or 0.0))
        keys = [f"{what}@{point_key(point)}" for point, _ in items]
        matched = {k: by_point[k] for k in keys if k in by_point}
        # a reading saved for one point is not counted again, by its time, for a different point
        times = sorted(float(t) for t in records.get(what, ()))
        for t in matched.values():
            if t in times:
                times.remove(t)
        for idx, (point, due) in enumerate(items):
            key = keys[idx]
            if point == "baseline":
                wstart, wend = -INF, (INF if timeline.start is None else timeline.start + grace)
            else:
                wstart = -INF if due is None else due - early
                wend = INF
                for later_point, later_due in items[idx + 1:]:
                    if later_due is not None and due is not None and later_due > due + early:
                        wend = later_due - early
                        break
            done_at = matched.get(key)
            if done_at is None and due is not None and point != "baseline":
                # saved for another point due at the same moment ("40 min" and "end" of a 40-minute infusion)
                done_at = next((matched[k2] for (p2, d2), k2 in zip(items, keys, strict=True)
                                if k2 in matched and p2 != "baseline" and d2 is not None and abs(d2 - due) < early),
                               None)
            if done_at is None and (due is not None or point == "baseline"):
                done_at = next((t for t in times if wstart <= t < wend), None)
            if done_at is not None:
                state = DONE
            elif due is None:
                state = PENDING if point == "baseline" else WAITING
            elif now >= wend:
                state = MISSED
            elif now > due + grace:
                state = OVERDUE
            else:
                state = PENDING
            checkpoints.append(Checkpoint(key, what, point, _point_label(label, point), due, wstart, wend,
                                          done_at, state))
    logged_set = set(logged)
    unlogged = tuple(c for c in checkpoints if c.state in (OVERDUE, MISSED) and c.key not in logged_set)
    checkpoints.sort(key=lambda c: (c.due_at is None, c.due_at if c.due_at is not None else 0.0, c.key))
    return ScheduleStatus(now, tuple(checkpoints), unlogged)


def schedule_from_entries(protocol: Protocol, entries: Iterable[Any], now: float, *,
                          bp_times: Iterable[float] = (), titles: Mapping[str, str] | None = None
                          ) -> ScheduleStatus:
    """Every due check of a session matched to what was recorded for it, at ``now``.

    This is the one answer to "which checks were done, which are late": the session panel's countdown, the
    browser's overdue flag and the PDF's table all call it. Give it the entries with corrections applied.
    Observations are matched by the point they were saved for, then readings by time (see the module text).
    """
    entries = list(entries)
    return compute_schedule(protocol, timeline_from_entries(entries, protocol),
                            records_from_entries(entries, bp_times), now,
                            logged=logged_overdue_keys(entries), titles=titles,
                            by_point=points_from_entries(entries))


def flagged_checks(status: ScheduleStatus, *, finished: bool) -> list[Checkpoint]:
    """The checks a chart flags: overdue or missed, and once the session is finished, every check not done
    (it can no longer be pending). The browser counts these and the PDF marks them."""
    bad = (OVERDUE, MISSED, PENDING, WAITING) if finished else (OVERDUE, MISSED)
    return [c for c in status.checkpoints if c.state in bad]


# -- esketamine device spacing -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeviceGate:
    """Whether the next nasal device may be given now, and if not, when and why."""

    allowed: bool
    devices_given: int
    devices_planned: int
    next_allowed_at: float | None
    reason: str


def format_wait(seconds: float) -> str:
    """``"3 min 12 s"`` / ``"45 s"`` for a wait shown to the clinician."""
    s = max(0, math.ceil(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def device_gate(protocol: Protocol, device_times: Iterable[float], now: float) -> DeviceGate:
    """Enforce the spacing between nasal devices (28 mg each, one every ``device_interval_min`` minutes)."""
    if not protocol.uses_devices:
        raise ValueError(f"{protocol.title} is not dosed in nasal devices")
    plan = protocol.plan()
    planned = plan.devices or 0
    times = sorted(float(t) for t in device_times)
    given = len(times)
    if given >= planned:
        return DeviceGate(False, given, planned, None, f"All {planned} devices given ({plan.dose_mg:g} mg)")
    if not times:
        return DeviceGate(True, 0, planned, now, f"Device 1 of {planned} can be given")
    interval = float(plan.device_interval_min or 0) * 60.0
    ready = times[-1] + interval
    if now < ready:
        return DeviceGate(False, given, planned, ready,
                          f"Device {given + 1} of {planned} allowed in {format_wait(ready - now)}: devices must "
                          f"be {plan.device_interval_min:g} min apart")
    return DeviceGate(True, given, planned, ready, f"Device {given + 1} of {planned} can be given")
