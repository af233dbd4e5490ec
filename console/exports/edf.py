"""EDF+ export of the waveforms (pyedflib), with the session's events as annotations.

* One signal per wave channel at its own rate (ECG 500/s, pleth 125/s, resp and CO2 62.5/s). EDF needs a
  whole number of samples per data record for every signal, so the data record lasts
  :data:`RECORD_SECONDS` = 2 s (1000, 250 and 125 samples).
* Physical minimum/maximum per signal come from the recorded data (its range plus a small margin), digital
  range -32768..32767, so the quantisation step is range/65535 (about 1.5 µV for a ±50 mV ECG range).
* The file starts at the first recorded wave sample, rounded down to the whole second (EDF start times
  have one-second resolution), in the exporting machine's local time (EDF convention).
* **Gaps** (no samples recorded: lost link, a channel starting later) are written as EDF+C (continuous) with
  the gap filled with 0 (clipped into the signal's range) and an annotation ``GAP <channel> (<n> s, no
  data)`` spanning it, so a reader never mistakes the fill for a flat line. Gaps under half a second
  (block jitter) are filled without an annotation.
* Annotations: dosing (infusion start/pause/rate/stop, nasal devices), observations with their totals,
  side effects, alarms, notes, discharge and signatures, with their text; a DEMO session also has
  ``DEMO`` in the patient fields and a ``DEMO`` annotation at 0 s; a session failing verification has an
  ``INTEGRITY CHECK FAILED`` annotation at 0 s.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.exports._common import (
    EntryView,
    ExportError,
    Progress,
    ProgressReporter,
    SessionData,
    Wave,
    atomic_path,
    entry_text,
    local_dt,
)
from devices import mdc

if TYPE_CHECKING:
    from console.record.database import Database

RECORD_SECONDS = 2
#: pyedflib (EDFlib) stores at most 40 characters of an annotation's text
ANNOTATION_MAX = 40
#: gaps shorter than this are filled silently (a partial block at a reconnection is not worth a note)
MIN_ANNOTATED_GAP_S = 0.5
WAVE_ORDER = (mdc.ECG_II, mdc.PLETH, mdc.RESP_WAVE, mdc.CO2_WAVE)
ANNOTATED_KINDS = (
    "infusion_start",
    "infusion_pause",
    "infusion_resume",
    "infusion_rate",
    "infusion_stop",
    "esketamine_dose",
    "observation",
    "questionnaire",
    "side_effect",
    "intervention",
    "alarm",
    "note",
    "hold_override",
    "discharge",
    "signature",
    "session_interrupted",
    "session_resumed",
)
DEMO_ANNOTATION = "DEMO - not a patient record"
INTEGRITY_ANNOTATION = "INTEGRITY CHECK FAILED"
_DIMENSIONS = {"1": "", "mm[Hg]": "mmHg", "Cel": "degC"}


def _ascii(text: str, n: int) -> str:
    """EDF header fields are printable ASCII of fixed length."""
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in str(text))[:n]


def _dimension(unit: str) -> str:
    return _ascii(_DIMENSIONS.get(unit, unit), 8)


def _layout(w: Wave, start: float, n_records: int) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The channel on the file's sample grid (NaN where nothing was recorded) and its gaps (onset, s)."""
    per_record = round(w.fs * RECORD_SECONDS)
    total = per_record * n_records
    out = np.full(total, np.nan)
    for t0, x in w.runs():
        i = round((t0 - start) * w.fs)
        a, b = max(0, i), min(total, i + x.shape[0])
        if b > a:
            out[a:b] = x[a - i : b - i]
    missing = np.isnan(out)
    gaps: list[tuple[float, float]] = []
    if missing.any():
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        last_data = int(np.flatnonzero(~missing)[-1]) if (~missing).any() else -1
        for a, b in zip(starts, ends):
            if a > last_data:
                break  # the padding after the channel's last sample up to the end of the last record
            length = (b - a) / w.fs
            if a == 0 and length < 1.0:
                continue  # the file starts on the whole second before the first sample (EDF start time)
            if length >= MIN_ANNOTATED_GAP_S:
                gaps.append((a / w.fs, length))
    return out, gaps


def _physical_range(x: np.ndarray) -> tuple[float, float]:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    margin = max((hi - lo) * 0.02, 1e-3 if hi == lo else 0.0)
    return _fit8(lo - margin, down=True), _fit8(hi + margin, down=False)


def _fit8(value: float, *, down: bool) -> float:
    """``value`` rounded outwards to as many decimals as EDF's 8-character physical min/max field holds."""
    for decimals in range(4, -1, -1):
        scale = 10.0**decimals
        v = (math.floor if down else math.ceil)(value * scale) / scale
        text = f"{v:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{v:.0f}"
        if len(text) <= 8:
            return v
    return -99999999.0 if down else 99999999.0


def short_text(e: EntryView) -> str:
    """An event in at most :data:`ANNOTATION_MAX` characters, the most telling words first."""
    d, k = e.data, e.kind
    amended = " (amended)" if e.amended else ""
    if k == "infusion_start":
        rate = f" {d['rate_ml_h']:g}mL/h" if d.get("rate_ml_h") is not None else ""
        text = f"Infusion start {d.get('dose_mg', '?')}mg{rate}"
    elif k == "infusion_stop":
        given = f" {d['dose_given_mg']:g}mg given" if d.get("dose_given_mg") is not None else ""
        text = ("Infusion stop" if d.get("completed", True) else "Infusion stop EARLY") + given
    elif k == "infusion_rate":
        text = f"Rate {d.get('rate_ml_h', '?')}mL/h: {d.get('reason', '')}"
    elif k == "esketamine_dose":
        text = (
            f"Device {d.get('device_number', '?')}/{d.get('devices_planned', '?')} {d.get('device_mg', 28)}mg"
        )
    elif k in ("observation", "questionnaire"):
        text = f"{d.get('title') or d.get('scale', '?')} {d.get('total', '?')}"
    elif k == "side_effect":
        text = f"SE {d.get('name', '?')} grade {d.get('grade', '?')}"
    elif k == "alarm":
        text = f"Alarm {d.get('event', '')} {d.get('message') or d.get('parameter', '')}"
    elif k == "signature":
        text = f"Signed {d.get('meaning', '')} {d.get('signer_name', '')}"
    else:
        text = entry_text(e)
    if len(text) + len(amended) > ANNOTATION_MAX:
        text = text[: ANNOTATION_MAX - len(amended) - 1] + "~"
    return text + amended


def annotations(data: SessionData, start: float, end: float) -> list[tuple[float, float, str]]:
    """(onset s from file start, duration s, text) of every annotated event inside the recording."""
    out: list[tuple[float, float, str]] = []
    for e in data.of_kind(*ANNOTATED_KINDS):
        if e.at is None or not (start <= e.at <= end):
            continue
        out.append((e.at - start, -1.0, short_text(e)))
    return out


def write(
    record: dict[str, Any], out: Path, db: Database | None = None, progress: Progress | None = None
) -> None:
    """Write the session's waveforms as EDF+ to ``out``; ``ExportError`` when the session has no waves."""
    import pyedflib

    rep = ProgressReporter(progress, 8)
    data = SessionData(record, db, waves=True, numerics=False)
    rep.step("waves read")
    waves = [data.waves[c] for c in WAVE_ORDER if c in data.waves]
    waves += [w for c, w in sorted(data.waves.items()) if c not in WAVE_ORDER]
    if not waves:
        raise ExportError(f"session {data.session_id} has no recorded waveforms to write as EDF")
    start = math.floor(min(float(w.run_t0[0]) for w in waves))
    end = max(w.end for w in waves)
    n_records = max(1, math.ceil((end - start) / RECORD_SECONDS))
    laid = [_layout(w, start, n_records) for w in waves]
    rep.step("waves laid out")

    headers = []
    for w, (x, _) in zip(waves, laid):
        pmin, pmax = _physical_range(x)
        headers.append(
            {
                "label": _ascii(w.label, 16),
                "dimension": _dimension(w.unit),
                "sample_frequency": w.fs,
                "physical_min": pmin,
                "physical_max": pmax,
                "digital_min": -32768,
                "digital_max": 32767,
                "transducer": "",
                "prefilter": "",
            }
        )
    notes: list[tuple[float, float, str]] = []
    if data.demo:
        notes.append((0.0, -1.0, DEMO_ANNOTATION))
    if not data.integrity_ok:
        notes.append((0.0, -1.0, INTEGRITY_ANNOTATION))
    for w, (_, gaps) in zip(waves, laid):
        notes += [(onset, length, f"GAP {w.label} ({length:.1f} s no data)") for onset, length in gaps]
    notes += annotations(data, start, start + n_records * RECORD_SECONDS)

    with atomic_path(Path(out)) as tmp:
        f = pyedflib.EdfWriter(str(tmp), len(waves), file_type=pyedflib.FILETYPE_EDFPLUS)
        try:
            # pyedflib picks the shortest record holding a whole number of samples of every rate (2 s for
            # 62.5/s); forcing it would only add a warning
            f.setSignalHeaders(headers)
            p = data.patient
            f.setPatientCode(_ascii(str(p.get("code", "")).replace(" ", "_"), 20))
            if p.get("name"):
                f.setPatientName(_ascii(str(p["name"]).replace(" ", "_"), 30))
            sex = str(p.get("sex") or "").lower()
            if sex[:1] in ("f", "m"):
                f.setSex(1 if sex[:1] == "m" else 0)
            if p.get("birth_date"):
                try:
                    f.setBirthdate(_dt.date.fromisoformat(str(p["birth_date"])))
                except ValueError:
                    pass
            if data.demo:
                f.setPatientAdditional("DEMO_not_a_patient")
            # pyedflib keeps about 30 characters here: the warnings first, then who wrote the file
            words = ["INTEGRITY-FAILED"] * (not data.integrity_ok) + ["DEMO"] * data.demo
            f.setRecordingAdditional(_ascii("_".join([*words, f"Chairside_session_{data.session_id}"]), 40))
            f.setEquipment("Chairside")
            start_local = local_dt(float(start))
            assert start_local is not None
            f.setStartdatetime(start_local.replace(tzinfo=None))
            rep.step("header written")
            signals = []
            for h, (x, _) in zip(headers, laid):
                fill = min(max(0.0, h["physical_min"]), h["physical_max"])
                signals.append(np.clip(np.where(np.isnan(x), fill, x), h["physical_min"], h["physical_max"]))
            f.writeSamples(signals)
            rep.step("samples written")
            for onset, duration, text in notes:
                f.writeAnnotation(max(0.0, onset), duration, _ascii(text, ANNOTATION_MAX))
            rep.step("annotations written")
        finally:
            f.close()
    rep.finish("EDF written")
