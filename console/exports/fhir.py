"""FHIR R4 export: one Bundle (type ``collection``) holding the session as standard resources.

What goes in:

* ``Patient`` (the clinic code as identifier, name, birth date, gender) and ``Encounter`` (the session: class
  AMB, period, protocol as type);
* vital-sign ``Observation``\\ s (category ``vital-signs``), each coded with LOINC and the IEEE 11073 MDC code
  (system ``urn:iso:std:iso:11073:10101``), values in UCUM. **Downsampling**: the record holds a value per
  second; the export carries one Observation per parameter per clock minute (UTC), the first usable value in
  that minute, plus **every** NIBP measurement as one Observation 85354-9 with systolic (8480-6), diastolic
  (8462-4) and, when measured, mean (8478-0) components. Parameters without a LOINC code for what was
  measured (e.g. EtCO2 as a concentration in %) carry the MDC code only; perfusion index is left out;
* ``Observation``\\ s for rating scales and questionnaires (category ``survey``): PHQ-9 44261-6, GAD-7 70274-6
  (LOINC), MOAA/S, CADSS-6 and the others coded by text (``code.text`` plus the Chairside scale id under
  ``urn:chairside:scale``); the total as ``valueInteger`` and each item as a component;
* side effects as ``AdverseEvent`` (severity mild/moderate/severe from the CTCAE grade, the exact grade in
  ``severity.text``, seriousness serious for grade >= 3, outcome, intervention in an extension; a drug
  intervention also as its own ``MedicationAdministration``);
* the ketamine infusion (or each esketamine nasal device) as ``MedicationAdministration`` with dose, rate and
  period;
* one ``Provenance`` per signature: printed name, time, meaning (ASTM E1762 signature type: authored ->
  Author's Signature 1.2.840.10065.1.12.1.1, reviewed -> Review Signature .13, approved -> Verification
  Signature .5) and the signature's seal as data.

An amended entry is exported as corrected (``status`` ``amended``, the reason in a note). A DEMO session
is tagged on the Bundle and every resource (``meta.tag`` DEMO and ``meta.security`` HTEST, test health data);
a session failing verification gets the tag ``INTEGRITY-FAILED`` likewise.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.exports._common import (
    DEMO_TEXT,
    INTEGRITY_FAILED_TEXT,
    EntryView,
    Progress,
    ProgressReporter,
    SessionData,
    atomic_path,
    entry_text,
    epoch,
    iso_utc,
)
from devices import mdc

if TYPE_CHECKING:
    from console.record.database import Database

LOINC = "http://loinc.org"
MDC_SYSTEM = "urn:iso:std:iso:11073:10101"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
TAG_SYSTEM = "urn:chairside:fhir:tag"
SCALE_SYSTEM = "urn:chairside:scale"
SESSION_SYSTEM = "urn:chairside:session"
PATIENT_SYSTEM = "urn:chairside:patient-code"
EXT_INTERVENTION = "urn:chairside:fhir:extension:intervention"
EXT_GRADE = "urn:chairside:fhir:extension:ctcae-grade"
SIGNATURE_TYPES = {
    "authored": ("1.2.840.10065.1.12.1.1", "Author's Signature", "author"),
    "reviewed": ("1.2.840.10065.1.12.1.13", "Review Signature", "verifier"),
    "approved": ("1.2.840.10065.1.12.1.5", "Verification Signature", "attester"),
}
#: the UUID namespace of the resources' ids (same session, same ids on every export)
_NS = uuid.UUID("6f1c2d4e-8a1b-4c47-9a55-3b0e2f7d9c11")


class _VitalCode:
    def __init__(self, loinc: tuple[tuple[str, str], ...], unit: str, unit_text: str) -> None:
        self.loinc, self.unit, self.unit_text = loinc, unit, unit_text


#: MDC code -> LOINC codings, UCUM code and printable unit (CLINICAL.md "Codes for FHIR export")
VITALS: dict[int, _VitalCode] = {
    mdc.HEART_RATE: _VitalCode((("8867-4", "Heart rate"),), "/min", "beats/minute"),
    mdc.PULSE_RATE_OXIM: _VitalCode((("8889-8", "Heart rate by Pulse oximetry"),), "/min", "beats/minute"),
    mdc.PULSE_RATE: _VitalCode((("8867-4", "Heart rate"),), "/min", "beats/minute"),
    mdc.SPO2: _VitalCode(
        (
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            ("2708-6", "Oxygen saturation in Arterial blood"),
        ),
        "%",
        "%",
    ),
    mdc.RESP_RATE: _VitalCode((("9279-1", "Respiratory rate"),), "/min", "breaths/minute"),
    mdc.AWAY_RESP_RATE: _VitalCode((("9279-1", "Respiratory rate"),), "/min", "breaths/minute"),
    mdc.ETCO2: _VitalCode(
        (("19891-1", "Carbon dioxide [Partial pressure] in Exhaled gas --at end expiration"),),
        "mm[Hg]",
        "mmHg",
    ),
    mdc.ETCO2_CONC: _VitalCode((), "%", "%"),
    mdc.TEMP: _VitalCode((("8310-5", "Body temperature"),), "Cel", "C"),
    mdc.TEMP_BODY: _VitalCode((("8310-5", "Body temperature"),), "Cel", "C"),
}
NIBP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
NIBP_COMPONENTS = (
    (mdc.NIBP_SYS, "8480-6", "Systolic blood pressure"),
    (mdc.NIBP_DIA, "8462-4", "Diastolic blood pressure"),
    (mdc.NIBP_MEAN, "8478-0", "Mean blood pressure"),
)
SEVERITY = {1: "mild", 2: "moderate", 3: "severe", 4: "severe"}
OUTCOME = {
    "resolved": "resolved",
    "improving": "recovering",
    "ongoing": "ongoing",
    "worsened": "ongoing",
    "unknown": "unknown",
}
GENDER = {
    "f": "female",
    "female": "female",
    "w": "female",
    "m": "male",
    "male": "male",
    "other": "other",
    "x": "other",
    "d": "other",
}


def _mdc_coding(code: int) -> dict[str, Any]:
    p = mdc.PARAMETERS.get(code)
    c: dict[str, Any] = {"system": MDC_SYSTEM, "code": str(code)}
    if p:
        c["display"] = p.name
    return c


def _qty(value: float, unit: str, unit_text: str) -> dict[str, Any]:
    return {"value": round(float(value), 3), "unit": unit_text, "system": UCUM, "code": unit}


class _Builder:
    def __init__(self, data: SessionData) -> None:
        self.data = data
        self.entries: list[dict[str, Any]] = []
        self.seed = (
            f"{data.session_id}:{data.record.get('integrity', {}).get('head_hash', '')}:"
            f"{data.session.get('started_at', '')}"
        )
        self.patient_ref = self.ref("Patient", "patient")
        self.encounter_ref = self.ref("Encounter", "encounter")

    # ------------------------------------------------------------------ plumbing
    def uid(self, key: str) -> str:
        return str(uuid.uuid5(_NS, f"{self.seed}:{key}"))

    def ref(self, rtype: str, key: str) -> str:
        return f"urn:uuid:{self.uid(rtype + ':' + key)}"

    def meta(self) -> dict[str, Any]:
        tags = []
        security = []
        if self.data.demo:
            tags.append({"system": TAG_SYSTEM, "code": "DEMO", "display": DEMO_TEXT})
            security.append(
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "HTEST",
                    "display": "test health data",
                }
            )
        if not self.data.integrity_ok:
            tags.append({"system": TAG_SYSTEM, "code": "INTEGRITY-FAILED", "display": INTEGRITY_FAILED_TEXT})
        meta: dict[str, Any] = {}
        if tags:
            meta["tag"] = tags
        if security:
            meta["security"] = security
        return meta

    def add(self, rtype: str, key: str, resource: dict[str, Any]) -> str:
        full = self.ref(rtype, key)
        body = {"resourceType": rtype, "id": full.rsplit(":", 1)[1]}
        meta = self.meta()
        if meta:
            body["meta"] = meta
        body.update(resource)
        self.entries.append({"fullUrl": full, "resource": body})
        return full

    def common(self) -> dict[str, Any]:
        return {"subject": {"reference": self.patient_ref}}

    # ------------------------------------------------------------------ resources
    def patient(self) -> None:
        p = self.data.patient
        res: dict[str, Any] = {"identifier": [{"system": PATIENT_SYSTEM, "value": str(p.get("code", ""))}]}
        if p.get("name"):
            res["name"] = [{"text": str(p["name"])}]
        if p.get("birth_date"):
            res["birthDate"] = str(p["birth_date"])
        sex = str(p.get("sex") or "").strip().lower()
        res["gender"] = GENDER.get(sex, "unknown" if not sex else "other")
        self.add("Patient", "patient", res)

    def encounter(self) -> None:
        d, s = self.data, self.data.session
        period: dict[str, str] = {}
        if d.started is not None:
            period["start"] = iso_utc(d.started)
        if d.ended is not None:
            period["end"] = iso_utc(d.ended)
        finished = s.get("status") in ("signed", "amended", "closed")
        res: dict[str, Any] = {
            "identifier": [{"system": SESSION_SYSTEM, "value": str(d.session_id)}],
            "status": "finished" if finished else "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory",
            },
            "type": [
                {
                    "text": f"{d.protocol_title} (protocol {s.get('protocol_id', '')} version "
                    f"{s.get('protocol_version', '')})"
                }
            ],
            **self.common(),
        }
        if period:
            res["period"] = period
        if s.get("chair"):
            res["location"] = [{"location": {"display": str(s["chair"])}}]
        # the clinicians: who signed (printed name), else who started the session (user name)
        signers = [str(e.data.get("signer_name", "")) for e in d.signatures()]
        people = list(dict.fromkeys(p for p in (signers or [str(s.get("started_by", ""))]) if p))
        if people:
            res["participant"] = [{"individual": {"display": p}} for p in people]
        self.add("Encounter", "encounter", res)

    def _vital_obs(
        self, key: str, codings: list[dict[str, Any]], text: str, t: float, extra: dict[str, Any]
    ) -> None:
        self.add(
            "Observation",
            key,
            {
                "status": "final",
                "category": [
                    {"coding": [{"system": OBS_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
                ],
                "code": {"coding": codings, "text": text},
                **self.common(),
                "encounter": {"reference": self.encounter_ref},
                "effectiveDateTime": iso_utc(t),
                **extra,
            },
        )

    def vitals(self) -> int:
        """Per-minute vital signs plus every NIBP; returns how many Observations were added."""
        n = 0
        for code in self.data.numeric_codes():
            vc = VITALS.get(code)
            if vc is None:
                continue
            tr = self.data.trends[code]
            minutes = np.floor(tr.t / 60.0)
            first = np.concatenate([[True], np.diff(minutes) > 0])
            codings = [{"system": LOINC, "code": c, "display": disp} for c, disp in vc.loinc]
            codings.append(_mdc_coding(code))
            for t, v in zip(tr.t[first], tr.value[first]):
                self._vital_obs(
                    f"vital:{code}:{int(t)}",
                    codings,
                    tr.label,
                    float(t),
                    {"valueQuantity": _qty(v, vc.unit, vc.unit_text)},
                )
                n += 1
        for t, sys_v, dia_v, mean_v in self.data.nibp_readings():
            comps = []
            for code, loinc, disp in NIBP_COMPONENTS:
                value = {mdc.NIBP_SYS: sys_v, mdc.NIBP_DIA: dia_v, mdc.NIBP_MEAN: mean_v}[code]
                if value is None:
                    continue
                comps.append(
                    {
                        "code": {
                            "coding": [{"system": LOINC, "code": loinc, "display": disp}, _mdc_coding(code)],
                            "text": disp,
                        },
                        "valueQuantity": _qty(value, "mm[Hg]", "mmHg"),
                    }
                )
            self._vital_obs(
                f"nibp:{int(t)}",
                [{"system": LOINC, "code": NIBP_PANEL[0], "display": NIBP_PANEL[1]}, _mdc_coding(mdc.NIBP)],
                "NIBP",
                t,
                {"component": comps},
            )
            n += 1
        return n

    def _amend_note(self, e: EntryView) -> list[dict[str, Any]]:
        notes = []
        for a in e.amendments:
            ad = a.get("data") or {}
            notes.append(
                {
                    "time": iso_utc(epoch(a.get("at")) or 0.0),
                    "text": f"Amended by {a.get('user', '')}: {ad.get('reason', '')}",
                }
            )
        return notes

    def scales(self) -> int:
        n = 0
        for e in self.data.of_kind("observation", "questionnaire"):
            d = e.data
            title = str(d.get("title") or d.get("scale") or "scale")
            codings = []
            if d.get("loinc"):
                codings.append({"system": LOINC, "code": str(d["loinc"]), "display": f"{title} total score"})
            if d.get("scale"):
                codings.append({"system": SCALE_SYSTEM, "code": str(d["scale"]), "display": title})
            res: dict[str, Any] = {
                "status": "amended" if e.amended else "final",
                "category": [{"coding": [{"system": OBS_CATEGORY, "code": "survey", "display": "Survey"}]}],
                "code": {"coding": codings, "text": title} if codings else {"text": title},
                **self.common(),
                "encounter": {"reference": self.encounter_ref},
                "effectiveDateTime": iso_utc(e.at or 0.0),
                "performer": [{"display": str(e.raw.get("user", ""))}],
            }
            if isinstance(d.get("total"), int):
                res["valueInteger"] = d["total"]
            items = d.get("items") if isinstance(d.get("items"), dict) else {}
            res["component"] = [
                {"code": {"text": f"{title} item {k}"}, "valueInteger": int(v)}
                for k, v in items.items()
                if isinstance(v, int)
            ]
            if not res["component"]:
                del res["component"]
            notes = []
            if d.get("band"):
                notes.append({"text": f"Band: {d['band']}"})
            for f in d.get("flags") or []:
                if isinstance(f, dict) and f.get("message"):
                    notes.append({"text": f"Flag: {f['message']}"})
            notes += self._amend_note(e)
            if notes:
                res["note"] = notes
            self.add("Observation", f"scale:{e.id}", res)
            n += 1
        return n

    def medication(self) -> dict[str, str]:
        """Dosing as MedicationAdministration(s); returns the refs by entry id (for AdverseEvent suspects)."""
        refs: dict[str, str] = {}
        drug = self.data.drug.capitalize()
        for e in self.data.of_kind("esketamine_dose"):
            d = e.data
            mg = float(d.get("device_mg", 28))
            res = {
                "status": "completed",
                "medicationCodeableConcept": {"text": drug},
                **self.common(),
                "context": {"reference": self.encounter_ref},
                "effectiveDateTime": iso_utc(e.at or 0.0),
                "dosage": {
                    "text": f"nasal device {d.get('device_number', '?')} of "
                    f"{d.get('devices_planned', '?')}, {mg:g} mg",
                    "route": {"text": "nasal"},
                    "dose": _qty(mg, "mg", "mg"),
                },
            }
            if d.get("lot"):
                res["note"] = [{"text": f"Lot {d['lot']}"}]
            refs[e.id] = self.add("MedicationAdministration", f"dose:{e.id}", res)
        starts = self.data.of_kind("infusion_start")
        if starts:
            start = starts[0]
            sd = start.data
            stops = self.data.of_kind("infusion_stop")
            stop = stops[-1] if stops else None
            td = stop.data if stop else {}
            status = (
                "in-progress" if stop is None else ("completed" if td.get("completed", True) else "stopped")
            )
            period = {"start": iso_utc(start.at or 0.0)}
            if stop is not None and stop.at is not None:
                period["end"] = iso_utc(stop.at)
            dose = td.get("dose_given_mg", sd.get("dose_mg"))
            dosage: dict[str, Any] = {"route": {"text": str(sd.get("route") or "IV")}}
            if dose is not None:
                dosage["dose"] = _qty(float(dose), "mg", "mg")
            if sd.get("rate_ml_h") is not None:
                dosage["rateQuantity"] = _qty(float(sd["rate_ml_h"]), "mL/h", "mL/h")
            text = f"{sd.get('dose_mg', '?')} mg planned"
            if sd.get("mg_per_kg") is not None and sd.get("weight_kg") is not None:
                text += f" ({sd['mg_per_kg']:g} mg/kg x {sd['weight_kg']:g} kg)"
            if sd.get("duration_min") is not None:
                text += f" over {sd['duration_min']:g} min"
            if dose is not None and stop is not None:
                text += f"; {float(dose):g} mg given"
            dosage["text"] = text
            notes = []
            for ev in self.data.of_kind("infusion_pause", "infusion_resume", "infusion_rate"):
                notes.append({"time": iso_utc(ev.at or 0.0), "text": entry_text(ev)})
            if stop is not None and not td.get("completed", True):
                notes.append({"text": f"Stopped early: {td.get('reason', '')}"})
            res = {
                "status": status,
                "medicationCodeableConcept": {"text": drug},
                **self.common(),
                "context": {"reference": self.encounter_ref},
                "effectivePeriod": period,
                "dosage": dosage,
            }
            if notes:
                res["note"] = notes
            refs[start.id] = self.add("MedicationAdministration", f"infusion:{start.id}", res)
        return refs

    def adverse_events(self, suspects: Iterable[str]) -> int:
        suspects = list(suspects)
        n = 0
        for e in self.data.of_kind("side_effect"):
            d = e.data
            grade = d.get("grade") if isinstance(d.get("grade"), int) else None
            key = f"ae:{e.id}"
            res: dict[str, Any] = {
                "actuality": "actual",
                "event": {"text": str(d.get("name", ""))},
                **self.common(),
                "encounter": {"reference": self.encounter_ref},
                "date": iso_utc(epoch(d.get("onset")) or e.at or 0.0),
                "recordedDate": iso_utc(epoch(e.raw.get("entered_at")) or e.at or 0.0),
                "recorder": {"display": str(e.raw.get("user", ""))},
            }
            if grade in SEVERITY:
                res["severity"] = {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                            "code": SEVERITY[grade],
                        }
                    ],
                    "text": f"CTCAE grade {grade} ({d.get('grade_label', '')})",
                }
                res["seriousness"] = {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                            "code": "serious" if grade >= 3 else "non-serious",
                        }
                    ]
                }
                res["extension"] = [{"url": EXT_GRADE, "valueInteger": grade}]
            if d.get("outcome") in OUTCOME:
                res["outcome"] = {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                            "code": OUTCOME[d["outcome"]],
                        }
                    ],
                    "text": str(d["outcome"]),
                }
            iv = d.get("intervention")
            if isinstance(iv, dict):
                words = (
                    f"{iv.get('drug')} {iv.get('dose', '')} {iv.get('route', '')}"
                    if iv.get("type") == "drug"
                    else str(iv.get("action", ""))
                ).strip()
                if iv.get("time"):
                    words += f" at {iv['time']}"
                res.setdefault("extension", []).append({"url": EXT_INTERVENTION, "valueString": words})
                if iv.get("type") == "drug":
                    ae_ref = self.ref("AdverseEvent", key)
                    self.add(
                        "MedicationAdministration",
                        f"intervention:{e.id}",
                        {
                            "status": "completed",
                            "medicationCodeableConcept": {"text": str(iv.get("drug", ""))},
                            **self.common(),
                            "context": {"reference": self.encounter_ref},
                            "effectiveDateTime": iso_utc(epoch(iv.get("time")) or e.at or 0.0),
                            "dosage": {
                                "text": f"{iv.get('dose', '')} {iv.get('route', '')}".strip(),
                                "route": {"text": str(iv.get("route", ""))},
                            },
                            "supportingInformation": [{"reference": ae_ref}],
                            "note": [{"text": f"Given for {d.get('name', '')}"}],
                        },
                    )
            if suspects:
                res["suspectEntity"] = [{"instance": {"reference": r}} for r in suspects]
            if e.amended:
                res.setdefault("extension", []).append(
                    {
                        "url": "urn:chairside:fhir:extension:amended",
                        "valueString": "; ".join(
                            str((a.get("data") or {}).get("reason", "")) for a in e.amendments
                        ),
                    }
                )
            self.add("AdverseEvent", key, res)
            n += 1
        return n

    def provenance(self) -> int:
        targets = [{"reference": e["fullUrl"]} for e in self.entries]
        n = 0
        for e in self.data.signatures():
            d = e.data
            meaning = str(d.get("meaning", "authored"))
            code, display, agent_type = SIGNATURE_TYPES.get(meaning, SIGNATURE_TYPES["authored"])
            when = iso_utc(epoch(d.get("signed_at")) or e.at or 0.0)
            who = {
                "display": str(d.get("signer_name", "")),
                "identifier": {"system": "urn:chairside:user", "value": str(d.get("username", ""))},
            }
            seal = str(d.get("seal", ""))
            self.add(
                "Provenance",
                f"signature:{e.id}",
                {
                    "target": targets,
                    "recorded": when,
                    "activity": {
                        "text": f"signature ({meaning}) over {d.get('entries_signed', '?')} entries"
                    },
                    "agent": [
                        {
                            "type": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": agent_type,
                                    }
                                ]
                            },
                            "who": who,
                        }
                    ],
                    "signature": [
                        {
                            "type": [
                                {"system": "urn:iso-astm:E1762-95:2013", "code": code, "display": display}
                            ],
                            "when": when,
                            "who": who,
                            "sigFormat": "text/plain",
                            "data": base64.b64encode(seal.encode()).decode(),
                        }
                    ],
                },
            )
            n += 1
        return n


def build_bundle(data: SessionData, progress: ProgressReporter | None = None) -> dict[str, Any]:
    """The FHIR R4 Bundle of one session as a JSON-ready dict."""
    b = _Builder(data)
    step = progress.step if progress else (lambda what, n=1: None)
    b.patient()
    b.encounter()
    step("patient and encounter")
    b.vitals()
    step("vital signs")
    b.scales()
    meds = b.medication()
    step("scales and medication")
    b.adverse_events(meds.values())
    b.provenance()
    step("adverse events and signatures")
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": b.uid("bundle"),
        "identifier": {"system": SESSION_SYSTEM, "value": f"session-{data.session_id}"},
        "type": "collection",
        "timestamp": iso_utc(epoch(data.record.get("exported_at")) or 0.0),
        "entry": b.entries,
    }
    meta = b.meta()
    if meta:
        bundle = {
            "resourceType": "Bundle",
            "id": bundle["id"],
            "meta": meta,
            **{k: v for k, v in bundle.items() if k not in ("resourceType", "id")},
        }
    return bundle


def write(
    record: dict[str, Any], out: Path, db: Database | None = None, progress: Progress | None = None
) -> None:
    """Write the session as a FHIR R4 Bundle (JSON) to ``out`` (``-``: standard output)."""
    rep = ProgressReporter(progress, 6)
    data = SessionData(record, db)
    rep.step("numerics read")
    text = json.dumps(build_bundle(data, rep), indent=1, ensure_ascii=False) + "\n"
    if str(out) == "-":
        import sys

        sys.stdout.write(text)
    else:
        with atomic_path(Path(out)) as tmp:
            tmp.write_text(text, encoding="utf-8")
    rep.finish("FHIR bundle written")
