"""What every export format shares: the session's data read once, atomic output, progress, DEMO words.

:class:`SessionData` wraps the complete record built by :func:`console.record.exporting.build_record` (the
same document the JSON export writes; entries, patient, integrity) and adds the vitals read through
``Database.numerics`` / ``Database.waves``, so every format reads the database the same way.

Numerics are reduced to **one value per parameter per second** (the record stores them at 1 Hz already; this
only aligns them on whole seconds). A value counts only when the monitor marked it usable (not invalid,
questionable or unavailable) and, for NIBP, only when it is a finished measurement (not the ``measuring``
rows that repeat the previous result while the cuff inflates).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.clinical._common import to_epoch
from console.clinical.amendments import EffectiveEntry, effective_entries
from console.record.errors import RecordError
from devices import mdc
from devices.model import UNUSABLE, State

if TYPE_CHECKING:
    from console.record.database import Database

Progress = Callable[[int, int, str], None]


class ExportError(RecordError, ValueError):
    """This session cannot be exported in this format (no waveforms for EDF, not an esketamine session for
    the REMS form, an optional package missing); the message says why. Nothing was written."""


DEMO_TEXT = "DEMO - simulated or demonstration session, not a patient record"
INTEGRITY_FAILED_TEXT = "INTEGRITY CHECK FAILED - this record may have been altered after it was written"

#: the numeric parameters exports carry, in the order columns and plots list them
NUMERIC_ORDER: tuple[int, ...] = (
    mdc.HEART_RATE,
    mdc.PULSE_RATE_OXIM,
    mdc.PULSE_RATE,
    mdc.SPO2,
    mdc.PERF_INDEX,
    mdc.NIBP_SYS,
    mdc.NIBP_DIA,
    mdc.NIBP_MEAN,
    mdc.ABP_SYS,
    mdc.ABP_DIA,
    mdc.ABP_MEAN,
    mdc.RESP_RATE,
    mdc.AWAY_RESP_RATE,
    mdc.ETCO2,
    mdc.ETCO2_CONC,
    mdc.TEMP,
    mdc.TEMP_BODY,
)
NIBP_CODES = (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN)
_NOT_A_RESULT = UNUSABLE | State.MEASURING


class ProgressReporter:
    """Calls ``progress(done, total, what)`` (if given) with a running count; never lets the callback's
    exception be mistaken for an export failure of ours: it propagates (a UI may cancel that way)."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self.total = max(1, int(total))
        self.done = 0

    def step(self, what: str, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        if self._progress is not None:
            self._progress(self.done, self.total, what)

    def finish(self, what: str = "done") -> None:
        self.done = self.total
        if self._progress is not None:
            self._progress(self.total, self.total, what)


@contextlib.contextmanager
def atomic_path(out: Path, *, allow_stdout: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``out``; on success it is renamed to ``out`` (a reader never sees a
    half-written file), on any failure it is removed and ``out`` is left as it was.

    Inside :func:`console.exports.staging.staged` (every export through ``export_session``) the rename waits
    until the export's audit row is committed: the file appears only once the audit trail says so."""
    from console.exports.staging import current_stage

    stage = current_stage()
    if stage is not None:
        with stage.path_for(Path(out), allow_stdout=allow_stdout) as staged_path:
            yield staged_path
        return
    if str(out) == "-" and not allow_stdout:
        raise OSError(errno.EINVAL, "this format cannot be written to standard output; give a file path")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, out)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def local_tz() -> _dt.tzinfo:
    """The machine's local time zone (what the clinic's clocks show)."""
    return _dt.datetime.now().astimezone().tzinfo or _dt.UTC


def local_dt(t: float | None) -> _dt.datetime | None:
    return None if t is None else _dt.datetime.fromtimestamp(t, _dt.UTC).astimezone(local_tz())


def fmt_local(t: float | None, with_date: bool = True, seconds: bool = False) -> str:
    """Local wall-clock text: ``2026-11-25 14:03`` (or ``14:03``); ``--`` when unknown."""
    d = local_dt(t)
    if d is None:
        return "--"
    f = ("%Y-%m-%d " if with_date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    return d.strftime(f)


def iso_utc(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_local(t: float) -> str:
    d = local_dt(t)
    assert d is not None
    return d.isoformat(timespec="seconds")


def epoch(value: Any) -> float | None:
    """POSIX seconds of an ISO text / datetime / number, ``None`` when absent or unreadable."""
    try:
        return to_epoch(value)
    except (TypeError, ValueError):
        return None


def fmt_num(v: Any, digits: int = 0) -> str:
    """A value for a table cell: no trailing noise, ``--`` for missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "--"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return f"{v:.{digits}f}"
    return str(v)


@dataclass(slots=True)
class Trend:
    """One numeric parameter on a whole-second grid: ``t`` (POSIX seconds, ascending) and ``value``."""

    code: int
    label: str
    unit: str
    t: np.ndarray
    value: np.ndarray

    def at(self, when: float, tolerance: float = 60.0) -> float | None:
        """The value nearest ``when`` within ``tolerance`` seconds, or ``None``."""
        if self.t.size == 0:
            return None
        i = int(np.searchsorted(self.t, when))
        best: tuple[float, float] | None = None
        for j in (i - 1, i):
            if 0 <= j < self.t.size:
                d = abs(self.t[j] - when)
                if d <= tolerance and (best is None or d < best[0]):
                    best = (d, float(self.value[j]))
        return None if best is None else best[1]


@dataclass(slots=True)
class Wave:
    """One wave channel as stored: samples with runs separated by gaps (see ``WaveSeries``)."""

    code: int
    label: str
    unit: str
    fs: float
    samples: np.ndarray
    run_starts: np.ndarray  # index of the first sample of each run (0 first)
    run_t0: np.ndarray  # time of that sample

    def runs(self) -> Iterator[tuple[float, np.ndarray]]:
        """(t0, samples) of every contiguous run."""
        bounds = list(self.run_starts) + [self.samples.shape[0]]
        for i in range(len(self.run_starts)):
            yield float(self.run_t0[i]), self.samples[int(bounds[i]) : int(bounds[i + 1])]

    @property
    def end(self) -> float:
        t0, last = list(self.runs())[-1]
        return t0 + last.shape[0] / self.fs


@dataclass(slots=True)
class EntryView:
    """An entry as exports show it: the stored entry (:attr:`raw`) plus, for an original entry, its
    :class:`~console.clinical.amendments.EffectiveEntry` (corrections applied by the one function that does so)."""

    raw: dict[str, Any]
    effective: EffectiveEntry | None = None

    @property
    def kind(self) -> str:
        return str(self.raw.get("kind", ""))

    @property
    def at(self) -> float | None:
        return epoch(self.raw.get("at"))

    @property
    def data(self) -> dict[str, Any]:
        """The data as it stands after every correction (the original stays in :attr:`raw`)."""
        if self.effective is not None:
            return self.effective.data
        return self.original_data

    @property
    def original_data(self) -> dict[str, Any]:
        d = self.raw.get("data")
        return d if isinstance(d, dict) else {}

    @property
    def amendments(self) -> list[dict[str, Any]]:
        """The amendment entries (as exported) correcting this entry, oldest first."""
        if self.effective is None:
            return []
        return [c.entry for c in self.effective.corrections if isinstance(c.entry, dict)]

    @property
    def amended(self) -> bool:
        return self.effective is not None and self.effective.amended

    @property
    def id(self) -> str:
        return str(self.raw.get("id", ""))


class SessionData:
    """One session's record plus its vitals, read once and shared by the writers of every format."""

    def __init__(
        self,
        record: dict[str, Any],
        db: Database | None = None,
        *,
        waves: bool = False,
        numerics: bool = True,
    ) -> None:
        self.record = record
        self.db = db
        self.session: dict[str, Any] = record.get("session") or {}
        self.patient: dict[str, Any] = record.get("patient") or {}
        self.session_id = int(self.session.get("id", 0))
        self.demo = bool(record.get("demo") or self.session.get("demo") or self.patient.get("demo"))
        integrity = record.get("integrity") or {}
        self.integrity_ok = bool(integrity.get("ok", False))
        self.integrity_summary = str(integrity.get("summary", "not checked"))
        self.started = epoch(self.session.get("started_at"))
        self.ended = epoch(self.session.get("ended_at"))
        self.entries = self._entry_views(record.get("entries") or [])
        self.trends: dict[int, Trend] = {}
        self.waves: dict[int, Wave] = {}
        if db is not None and numerics:
            self._load_numerics(db)
        if db is not None and waves:
            self._load_waves(db)

    # ------------------------------------------------------------------ entries
    @staticmethod
    def _entry_views(entries: list[dict[str, Any]]) -> list[EntryView]:
        """Every entry that is not an amendment, in sequence order, with its corrections applied."""
        return [EntryView(e.entry, e) for e in effective_entries(entries)]

    def of_kind(self, *kinds: str) -> list[EntryView]:
        """Entries of these kinds in the order of the time they describe."""
        return sorted(
            (e for e in self.entries if e.kind in kinds), key=lambda e: (e.at or 0.0, e.raw.get("seq", 0))
        )

    @property
    def details(self) -> dict[str, Any]:
        d = self.session.get("details")
        return d if isinstance(d, dict) else {}

    @property
    def protocol_title(self) -> str:
        proto = self.details.get("protocol")
        title = proto.get("title") if isinstance(proto, dict) else None
        return str(title or self.session.get("protocol_id") or "")

    @property
    def drug(self) -> str:
        proto = self.details.get("protocol")
        drug = proto.get("drug") if isinstance(proto, dict) else None
        pid = str(self.session.get("protocol_id") or "")
        return str(drug or ("esketamine" if "esketamine" in pid else "ketamine"))

    @property
    def is_esketamine(self) -> bool:
        """Nasal esketamine sessions get the REMS monitoring form."""
        return "esketamine" in self.drug.lower() or "esketamine" in str(self.session.get("protocol_id", ""))

    def signatures(self) -> list[EntryView]:
        return self.of_kind("signature")

    # ------------------------------------------------------------------ vitals
    def _load_numerics(self, db: Database) -> None:
        series = db.numerics(self.session_id)
        if len(series) == 0:
            return
        usable = ~np.isnan(series.value) & ((series.state & _state_mask(_NOT_A_RESULT)) == 0)
        for code in np.unique(series.mdc):
            code = int(code)
            sel = (series.mdc == code) & usable
            if not sel.any():
                continue
            t = np.floor(series.host_time[sel])
            v = series.value[sel]
            # one value per whole second: the first one in that second
            keep = np.concatenate([[True], np.diff(t) > 0])
            idx = np.flatnonzero(sel)[0]
            p = mdc.PARAMETERS.get(code)
            label = p.label if p else str(series.label[idx] or code)
            unit = p.unit if p else str(series.unit[idx] or "")
            self.trends[code] = Trend(code, label, unit, t[keep], v[keep])

    def _load_waves(self, db: Database) -> None:
        summary = (self.record.get("vitals_summary") or {}).get("wave_seconds") or {}
        for key in summary:
            try:
                code = int(key)
            except ValueError:
                continue
            ws = db.waves(self.session_id, code)
            if ws.samples.shape[0] == 0 or not math.isfinite(ws.fs):
                continue
            p = mdc.PARAMETERS.get(code)
            self.waves[code] = Wave(
                code,
                p.label if p else str(code),
                p.unit if p else "",
                float(ws.fs),
                ws.samples,
                np.concatenate([[0], ws.gaps]).astype(np.int64),
                np.asarray(ws.segment_t0, dtype=np.float64),
            )

    def numeric_codes(self) -> list[int]:
        """Codes with data, in the usual clinical order (unknown codes last)."""
        known = [c for c in NUMERIC_ORDER if c in self.trends]
        return known + sorted(c for c in self.trends if c not in NUMERIC_ORDER)

    def nibp_readings(self) -> list[tuple[float, float, float, float | None]]:
        """Finished NIBP measurements: (time, sys, dia, mean or None), from the stored numerics."""
        s, d = self.trends.get(mdc.NIBP_SYS), self.trends.get(mdc.NIBP_DIA)
        if s is None or d is None:
            return []
        m = self.trends.get(mdc.NIBP_MEAN)
        out = []
        for t, sv in zip(s.t, s.value):
            dv = d.at(float(t), tolerance=2.0)
            if dv is None:
                continue
            mv = m.at(float(t), tolerance=2.0) if m is not None else None
            out.append((float(t), float(sv), dv, mv))
        return out

    def time_range(self) -> tuple[float | None, float | None]:
        """First and last time of anything recorded (vitals or entries)."""
        times: list[float] = []
        for tr in self.trends.values():
            if tr.t.size:
                times += [float(tr.t[0]), float(tr.t[-1])]
        for w in self.waves.values():
            times += [float(w.run_t0[0]), w.end]
        times += [e.at for e in self.entries if e.at is not None]
        times += [t for t in (self.started, self.ended) if t is not None]
        return (min(times), max(times)) if times else (None, None)


def _state_mask(flags: State) -> int:
    return int(flags.value)


def entry_text(e: EntryView, data: dict[str, Any] | None = None) -> str:
    """A one-line human description of an entry's data (used for timelines, annotations, amendments)."""
    d = e.data if data is None else data
    k = e.kind
    if k == "infusion_start":
        s = f"Dosing started: {fmt_num(d.get('dose_mg'), 1)} mg"
        if d.get("mg_per_kg") is not None:
            s += f" ({d['mg_per_kg']:g} mg/kg"
            s += f" x {d['weight_kg']:g} kg)" if d.get("weight_kg") is not None else ")"
        if d.get("route"):
            s += f" {d['route']}"
        if d.get("rate_ml_h") is not None:
            s += f" at {d['rate_ml_h']:g} mL/h"
        if d.get("duration_min") is not None:
            s += f" over {d['duration_min']:g} min"
        return s
    if k == "infusion_pause":
        return f"Infusion paused: {d.get('reason', '')}".rstrip(": ")
    if k == "infusion_resume":
        s = "Infusion resumed"
        if d.get("rate_ml_h") is not None:
            s += f" at {d['rate_ml_h']:g} mL/h"
        return s + (f": {d['reason']}" if d.get("reason") else "")
    if k == "infusion_rate":
        prev = d.get("previous_rate_ml_h")
        return (
            f"Rate changed{f' from {prev:g}' if prev is not None else ''} to "
            f"{fmt_num(d.get('rate_ml_h'), 1)} mL/h: {d.get('reason', '')}"
        )
    if k == "infusion_stop":
        s = "Infusion stopped" + (
            " (completed)" if d.get("completed", True) else f" early: {d.get('reason', '')}"
        )
        if d.get("dose_given_mg") is not None:
            s += f"; dose given {d['dose_given_mg']:g} mg"
        if d.get("volume_given_ml") is not None:
            s += f", {d['volume_given_ml']:g} mL"
        return s
    if k == "esketamine_dose":
        s = (
            f"Nasal device {d.get('device_number', '?')} of {d.get('devices_planned', '?')} "
            f"({fmt_num(d.get('device_mg', 28))} mg)"
        )
        return s + (f", lot {d['lot']}" if d.get("lot") else "")
    if k in ("observation", "questionnaire"):
        s = f"{d.get('title') or d.get('scale', '?')} total {d.get('total', '?')}"
        if d.get("band"):
            s += f" ({d['band']})"
        return s
    if k == "side_effect":
        return f"Side effect: {d.get('name', '?')}, grade {d.get('grade', '?')}"
    if k == "alarm":
        return f"Alarm {d.get('event', '')}: {d.get('message') or d.get('parameter', '')}".strip()
    if k == "note":
        return f"Note: {d.get('text', '')}"
    if k == "discharge":
        return "Discharge" + (
            " (all criteria met)"
            if d.get("all_met")
            else f" with criteria not met: {d.get('override_reason', '')}"
        )
    if k == "hold_override":
        return f"Hold override: {d.get('reason', '')}"
    if k == "check_overdue":
        return f"Check overdue: {d.get('label') or d.get('key', '')}"
    if k == "precheck":
        return "Pre-checks"
    if k == "signature":
        return f"Signed by {d.get('signer_name', '?')} ({d.get('meaning', '')})"
    if k == "session_interrupted":
        return "Session interrupted" + (f": {d['reason']}" if d.get("reason") else "")
    if k == "session_resumed":
        return "Session resumed"
    if k == "intervention":
        what = " ".join(str(d[x]) for x in ("drug", "dose", "route") if d.get(x)) or str(d.get("action", ""))
        s = f"Intervention: {what}".rstrip(": ")
        when = epoch(d.get("time"))
        if when is not None:
            s += f" at {fmt_local(when, with_date=False)}"
        if d.get("indication"):
            s += f" for {d['indication']}"
        if d.get("effect"):
            s += f"; effect: {d['effect']}"
        known = {"drug", "dose", "route", "action", "time", "indication", "effect", "type"}
        rest = [f"{k2.replace('_', ' ')} {v}" for k2, v in d.items()
                if k2 not in known and isinstance(v, (str, int, float)) and v != ""]
        return s + (f"; {', '.join(rest)}" if rest else "")
    return k.replace("_", " ").capitalize()
