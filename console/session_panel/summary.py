"""One-line summaries of record entries for the panel's entry list (Qt-free, so they are unit-tested)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from console.clinical._common import field, to_epoch
from console.clinical.vitals import bp_text

KIND_WORDS: dict[str, str] = {
    "precheck": "Pre-check", "questionnaire": "Questionnaire", "hold_override": "Hold override",
    "infusion_start": "Dosing started", "infusion_pause": "Infusion paused", "infusion_resume": "Infusion resumed",
    "infusion_rate": "Rate changed", "infusion_stop": "Infusion stopped", "esketamine_dose": "Nasal device",
    "observation": "Observation", "side_effect": "Side effect", "intervention": "Intervention", "note": "Note",
    "check_overdue": "Overdue", "alarm": "Alarm", "discharge": "Discharge", "amendment": "Amendment",
    "signature": "Signed", "session_interrupted": "Interrupted", "session_resumed": "Resumed",
}

#: how a rating's schedule point reads in the entry list (numbers read "at 40 min")
POINT_WORDS = {"baseline": "baseline", "end": "at end of dosing", "discharge": "before discharge"}

def local_hhmm(at: Any) -> str:
    """Local wall-clock ``HH:MM`` of an entry time (floats, aware datetimes or ISO text)."""
    try:
        t = to_epoch(at)
    except (TypeError, ValueError):
        return "--:--"
    return "--:--" if t is None else _dt.datetime.fromtimestamp(t).strftime("%H:%M")


def _flags(data: dict[str, Any]) -> str:
    flags = [f.get("message", "") for f in data.get("flags") or [] if isinstance(f, dict)]
    return f"  [{'; '.join(flags)}]" if flags else ""


def entry_summary(entry: Any) -> str:
    """``"10:42  MOAA/S 4  [Sedation: ...]"`` and the like; never raises on odd data."""
    kind = field(entry, "kind", "") or ""
    data = field(entry, "data") or {}
    if not isinstance(data, dict):
        data = {}
    head = f"{local_hhmm(field(entry, 'at'))}  "
    word = KIND_WORDS.get(kind, kind)
    try:
        if kind in ("observation", "questionnaire"):
            title = data.get("title") or data.get("scale", "?")
            text = f"{title} {data.get('total', '?')}"
            point = data.get("point")
            if kind == "observation" and point not in (None, ""):
                text += " " + POINT_WORDS.get(str(point), f"at {point} min")
            if data.get("band"):
                text += f" ({data['band']})"
            if kind == "observation" and data.get("vitals"):
                text += f", BP {bp_text(data['vitals'])}"
            return head + text + _flags(data)
        if kind == "side_effect":
            text = f"{word}: {data.get('name', '?')}, grade {data.get('grade', '?')}"
            iv = data.get("intervention")
            if isinstance(iv, dict):
                text += f"; {iv.get('drug') or iv.get('action')}"
                if iv.get("dose"):
                    text += f" {iv['dose']} {iv.get('route', '')}".rstrip()
            return head + text + f" ({data.get('outcome', '')})"
        if kind == "note":
            return head + f"{word}: {data.get('text', '')}"
        if kind == "infusion_start":
            text = f"{word}: {data.get('dose_mg', '?')} mg"
            if data.get("rate_ml_h") is not None:
                text += f" at {data['rate_ml_h']} mL/h"
            return head + text
        if kind == "infusion_rate":
            return head + f"{word} to {data.get('rate_ml_h')} mL/h: {data.get('reason', '')}"
        if kind in ("infusion_pause", "infusion_resume", "hold_override"):
            return head + f"{word}: {data.get('reason', '')}".rstrip(": ")
        if kind == "infusion_stop":
            text = word + ("" if data.get("completed", True) else f" early: {data.get('reason', '')}")
            if data.get("dose_given_mg") is not None:
                text += f"; {data['dose_given_mg']:g} mg given"
                if data.get("volume_given_ml") is not None:
                    text += f" ({data['volume_given_ml']:g} mL)"
            return head + text
        if kind == "esketamine_dose":
            return head + f"{word} {data.get('device_number', '?')} of {data.get('devices_planned', '?')} " \
                          f"({data.get('device_mg', 28):g} mg)"
        if kind == "check_overdue":
            return head + f"{word}: {data.get('label', data.get('key', ''))}"
        if kind == "discharge":
            return head + word + (" (all criteria met)" if data.get("all_met") else
                                  f" with criteria not met: {data.get('override_reason', '')}")
        if kind == "signature":
            return head + f"{word} by {data.get('signer_name', '?')} ({data.get('meaning', '')})"
        if kind == "amendment":
            return head + f"{word}: {data.get('reason', '')}"
        if kind == "precheck":
            missing = [w for k, w in (("consent_on_file", "no consent"), ("fasting", "not fasting"),
                                      ("escort_arranged", "no escort"), ("identity_confirmed", "identity not confirmed"))
                       if data.get(k) is False]
            return head + word + (f" ({', '.join(missing)})" if missing else " done") + \
                (f", BP {bp_text(data['baseline_vitals'])}" if data.get("baseline_vitals") else "")
    except (TypeError, ValueError, AttributeError):
        pass
    return head + word
