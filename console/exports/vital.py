"""VitalDB ``.vital`` export (through the ``vitaldb`` package, an optional extra imported only here).

All tracks belong to one device named ``Chairside`` (the recording console, which is what VitalRecorder
calls a device); the track names follow VitalDB's Solar8000/SNUADC conventions so VitalDB tools and scripts
recognise them:

========================  ==========================  =====================
Chairside parameter       track                       unit
========================  ==========================  =====================
ECG lead II (wave)        ``Chairside/ECG_II``        mV
pleth (wave)              ``Chairside/PLETH``         (none)
respiration (wave)        ``Chairside/RESP``          (none)
CO2 (wave)                ``Chairside/CO2``           mmHg
HR                        ``Chairside/HR``            /min
pulse rate (oximeter)     ``Chairside/PLETH_HR``      /min
SpO2                      ``Chairside/PLETH_SPO2``    %
NIBP sys / dia / mean     ``Chairside/NIBP_SBP`` ...  mmHg
respiratory rate          ``Chairside/RR``            /min
EtCO2                     ``Chairside/ETCO2``         mmHg
temperature               ``Chairside/BT``            C
events (string track)     ``Chairside/EVENT``
========================  ==========================  =====================

Waves are written one record per contiguous run (``vitaldb`` packs them and leaves gaps as NaN); numerics
one record per second with a usable value; NIBP only when a measurement finished. The ``EVENT`` track holds
the session's entries (dosing, observations, side effects, alarms, discharge, signatures) as text. A DEMO
session: device type ``Chairside DEMO`` and a first event ``DEMO - ...``; a session failing verification: an
event ``INTEGRITY CHECK FAILED`` at its start.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.exports._common import (
    DEMO_TEXT,
    INTEGRITY_FAILED_TEXT,
    ExportError,
    Progress,
    ProgressReporter,
    SessionData,
    atomic_path,
    entry_text,
)
from devices import mdc

if TYPE_CHECKING:
    from console.record.database import Database

DEVICE = "Chairside"
TRACK_NAMES: dict[int, str] = {
    mdc.ECG_II: "ECG_II",
    mdc.PLETH: "PLETH",
    mdc.RESP_WAVE: "RESP",
    mdc.CO2_WAVE: "CO2",
    mdc.HEART_RATE: "HR",
    mdc.PULSE_RATE_OXIM: "PLETH_HR",
    mdc.PULSE_RATE: "PULSE",
    mdc.SPO2: "PLETH_SPO2",
    mdc.PERF_INDEX: "PLETH_PI",
    mdc.NIBP_SYS: "NIBP_SBP",
    mdc.NIBP_DIA: "NIBP_DBP",
    mdc.NIBP_MEAN: "NIBP_MBP",
    mdc.ABP_SYS: "ART_SBP",
    mdc.ABP_DIA: "ART_DBP",
    mdc.ABP_MEAN: "ART_MBP",
    mdc.RESP_RATE: "RR",
    mdc.AWAY_RESP_RATE: "RR_CO2",
    mdc.ETCO2: "ETCO2",
    mdc.ETCO2_CONC: "ETCO2_PCT",
    mdc.TEMP: "BT",
    mdc.TEMP_BODY: "BT_BODY",
}
EVENT_TRACK = "EVENT"
EVENT_KINDS = (
    "precheck",
    "questionnaire",
    "hold_override",
    "infusion_start",
    "infusion_pause",
    "infusion_resume",
    "infusion_rate",
    "infusion_stop",
    "esketamine_dose",
    "observation",
    "side_effect",
    "intervention",
    "note",
    "alarm",
    "discharge",
    "signature",
    "session_interrupted",
    "session_resumed",
)
_UNITS = {"mm[Hg]": "mmHg", "Cel": "C", "1": ""}


def track_name(code: int, label: str = "") -> str:
    """The track name (without the device) of an MDC code."""
    return TRACK_NAMES.get(code) or re.sub(r"[^A-Za-z0-9_]+", "_", label or str(code)).strip("_").upper()


def load_vitaldb() -> Any:
    """Import ``vitaldb`` (an optional extra). Its import pulls in ``wfdb``, which trips a pandas deprecation
    warning at import time that is none of ours; it is silenced for the import only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import vitaldb
    except ImportError as err:  # optional extra: say how to get it
        raise ExportError(
            "the .vital export needs the 'vitaldb' package (pip install vitaldb); "
            "the other formats work without it"
        ) from err
    return vitaldb


def read_vital(path: str | Path, track_names: list[str] | None = None) -> Any:
    """Open a ``.vital`` file with ``vitaldb.VitalFile`` (tests, benchmarks), optionally only some tracks.
    ``vitaldb`` leaves the file handle to the garbage collector; the resulting ResourceWarning is silenced
    here, not hidden elsewhere."""
    import gc

    vitaldb = load_vitaldb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        vf = vitaldb.VitalFile(str(path), track_names=track_names)
        gc.collect()
    return vf


def write(
    record: dict[str, Any], out: Path, db: Database | None = None, progress: Progress | None = None
) -> None:
    """Write the session's waves, numerics and events as a VitalDB ``.vital`` file to ``out``."""
    vitaldb = load_vitaldb()
    rep = ProgressReporter(progress, 6)
    data = SessionData(record, db, waves=True)
    rep.step("vitals read")
    vf = vitaldb.VitalFile()
    vf.add_device(DEVICE, f"{DEVICE} DEMO" if data.demo else DEVICE)
    first, last = data.time_range()
    if first is None or last is None or not (data.waves or data.trends):
        raise ExportError(f"session {data.session_id} has no recorded vital signs to write as a .vital file")
    vf.dtstart, vf.dtend = float(first), float(last) + 1.0
    for code, w in sorted(data.waves.items()):
        recs = [{"dt": t0, "val": x.astype(np.float32)} for t0, x in w.runs() if x.shape[0]]
        finite = w.samples[np.isfinite(w.samples)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        vf.add_track(
            f"{DEVICE}/{track_name(code, w.label)}",
            recs,
            srate=w.fs,
            unit=_UNITS.get(w.unit, w.unit),
            mindisp=lo,
            maxdisp=hi,
        )
    rep.step("wave tracks")
    for code in data.numeric_codes():
        tr = data.trends[code]
        recs = [{"dt": float(t), "val": float(v)} for t, v in zip(tr.t, tr.value)]
        vf.add_track(f"{DEVICE}/{track_name(code, tr.label)}", recs, unit=_UNITS.get(tr.unit, tr.unit))
    rep.step("numeric tracks")
    events: list[dict[str, Any]] = []
    if data.demo:
        events.append({"dt": float(first), "val": DEMO_TEXT})
    if not data.integrity_ok:
        events.append({"dt": float(first), "val": INTEGRITY_FAILED_TEXT})
    for e in data.of_kind(*EVENT_KINDS):
        if e.at is not None:
            events.append({"dt": e.at, "val": entry_text(e) + (" (amended)" if e.amended else "")})
    if events:
        vf.add_track(f"{DEVICE}/{EVENT_TRACK}", events)
    rep.step("events")
    with atomic_path(Path(out)) as tmp:
        # gzip level 6: a third of level 9's time for a file within a few per cent of its size
        if vf.to_vital(str(tmp), compresslevel=6) is False:
            raise OSError(f"vitaldb could not write {out}")
    rep.finish(".vital written")
