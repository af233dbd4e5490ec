"""CSV, FHIR, EDF+, VitalDB and REMS exports of a recorded session: read back and compared with the record."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from console.exports import FORMATS, export_session, writer_for
from console.exports._common import ExportError, SessionData
from console.exports.vital import read_vital
from console.record import Database
from console.record.exporting import build_record
from devices import mdc
from devices.model import WaveBlock
from tests.exports.session_factory import PASSWORD, Built, build_session


def _progress_log() -> tuple[list[tuple[int, int, str]], object]:
    calls: list[tuple[int, int, str]] = []
    return calls, lambda done, total, what: calls.append((done, total, what))


def _check_progress(calls: list[tuple[int, int, str]]) -> None:
    assert calls, "progress was never reported"
    assert calls[-1][0] == calls[-1][1], "the last report says the export is complete"
    fractions = [d / t for d, t, _ in calls]
    assert fractions == sorted(fractions), "progress never goes backwards"


def _tamper(db: Database, session_id: int) -> None:
    """Change one stored entry behind the service's back, as someone with full SQL access could: drop the
    database's append-only triggers (SQLite) first."""
    with db.write_engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS entries_no_update")
        conn.execute(
            text(
                "UPDATE entries SET data_json = replace(data_json, 'Nausea', 'Headache') "
                "WHERE session_id = :s AND kind = 'side_effect'"
            ),
            {"s": session_id},
        )


# ---------------------------------------------------------------------------------------------- registry
def test_every_format_is_registered_once_with_a_writer() -> None:
    assert list(FORMATS) == ["pdf", "csv", "fhir", "edf", "vital", "json", "rems"]
    for name in FORMATS:
        assert callable(writer_for(name))


def test_unknown_format_names_the_known_ones(db: Database, built: Built, tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="pdf"):
        export_session(db, built.session_id, "docx", tmp_path / "x.docx")
    assert not (tmp_path / "x.docx").exists()


# ---------------------------------------------------------------------------------------------- CSV
def test_csv_zip_numerics_at_1hz_match_the_record(db: Database, built: Built, tmp_path: Path) -> None:
    calls, progress = _progress_log()
    out = tmp_path / "s.zip"
    export_session(db, built.session_id, "csv", out, progress)
    _check_progress(calls)
    with zipfile.ZipFile(out) as z:
        names = sorted(z.namelist())
        assert names == [
            f"session-{built.session_id}-entries.csv",
            f"session-{built.session_id}-numerics.csv",
        ]
        numerics = z.read(names[1]).decode()
        entries = z.read(names[0]).decode()
    comments = [ln for ln in numerics.splitlines() if ln.startswith("#")]
    assert not any("DEMO" in c for c in comments)
    assert any("integrity: intact" in c for c in comments)
    rows = list(csv.DictReader(ln for ln in numerics.splitlines() if not ln.startswith("#")))
    assert list(rows[0])[:3] == ["utc", "local", "elapsed_s"]
    assert "HR (/min)" in rows[0] and "NBP sys (mm[Hg])" in rows[0]

    hr = db.numerics(built.session_id, mdc.HEART_RATE)
    by_utc = {r["utc"]: r for r in rows}
    from console.exports._common import iso_local, iso_utc

    for t, v in list(zip(hr.host_time, hr.value))[5:60:7]:
        row = by_utc[iso_utc(float(np.floor(t)))]
        assert float(row["HR (/min)"]) == pytest.approx(v)
        assert row["local"] == iso_local(float(np.floor(t)))
    # NIBP: a value only in the second a measurement finished (6 in 6 minutes, one a minute)
    sys_cells = [r["NBP sys (mm[Hg])"] for r in rows if r["NBP sys (mm[Hg])"]]
    assert len(sys_cells) == len(db.numerics(built.session_id, mdc.NIBP_DIA))
    # seconds strictly increase (one row per second, none invented)
    times = [r["utc"] for r in rows]
    assert times == sorted(set(times))

    entry_rows = list(csv.DictReader(ln for ln in entries.splitlines() if not ln.startswith("#")))
    record = build_record(db, built.session_id)
    assert [int(r["seq"]) for r in entry_rows] == [e["seq"] for e in record["entries"]]
    amendment = next(r for r in entry_rows if r["kind"] == "amendment")
    assert amendment["amends"] == built.side_effect_id
    assert "grade entered wrongly" in amendment["summary"]
    assert json.loads(next(r for r in entry_rows if r["kind"] == "side_effect")["data_json"])["grade"] == 1


def test_csv_path_gives_two_files(db: Database, built: Built, tmp_path: Path) -> None:
    out = tmp_path / "numerics.csv"
    export_session(db, built.session_id, "csv", out)
    assert out.read_text().startswith("# Chairside session")
    assert (tmp_path / "numerics-entries.csv").read_text().count("\nsignature,") == 0  # seq first
    assert ",signature," in (tmp_path / "numerics-entries.csv").read_text()


# ---------------------------------------------------------------------------------------------- FHIR
def _bundle(db: Database, sid: int, tmp_path: Path) -> dict:
    out = tmp_path / "b.json"
    export_session(db, sid, "fhir", out)
    doc = json.loads(out.read_text())
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(doc)  # raises on anything R4(B) does not allow
    return doc


def _resources(doc: dict, rtype: str) -> list[dict]:
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == rtype]


def _codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def test_fhir_bundle_validates_and_carries_the_vitals(db: Database, built: Built, tmp_path: Path) -> None:
    doc = _bundle(db, built.session_id, tmp_path)
    assert doc["type"] == "collection"
    assert "meta" not in doc  # not a demo, intact
    [patient] = _resources(doc, "Patient")
    assert patient["gender"] == "female" and patient["birthDate"] == "1980-05-17"
    [enc] = _resources(doc, "Encounter")
    assert enc["status"] == "finished" and enc["class"]["code"] == "AMB"
    assert enc["participant"] == [{"individual": {"display": "Dr Jane Smith"}}]

    obs = _resources(doc, "Observation")
    vitals = [o for o in obs if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    hr = [o for o in vitals if ("http://loinc.org", "8867-4") in _codes(o["code"])]
    assert all(("urn:iso:std:iso:11073:10101", "147842") in _codes(o["code"]) for o in hr)
    assert {o["valueQuantity"]["code"] for o in hr} == {"/min"}
    assert {o["valueQuantity"]["system"] for o in hr} == {"http://unitsofmeasure.org"}
    # one per minute: the first value of each clock minute
    data = SessionData(build_record(db, built.session_id), db)
    tr = data.trends[mdc.HEART_RATE]
    minutes = np.unique(np.floor(tr.t / 60))
    assert len(hr) == len(minutes)
    first = hr[0]
    assert first["valueQuantity"]["value"] == pytest.approx(float(tr.value[0]))
    spo2 = [o for o in vitals if ("http://loinc.org", "59408-5") in _codes(o["code"])]
    assert spo2 and ("http://loinc.org", "2708-6") in _codes(spo2[0]["code"])
    etco2 = [o for o in vitals if ("http://loinc.org", "19891-1") in _codes(o["code"])]
    assert etco2 and etco2[0]["valueQuantity"]["code"] == "mm[Hg]"
    assert ("urn:iso:std:iso:11073:10101", "151728") in _codes(etco2[0]["code"])

    nibp = [o for o in vitals if ("http://loinc.org", "85354-9") in _codes(o["code"])]
    readings = data.nibp_readings()
    assert len(nibp) == len(readings) == 6
    comp = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in nibp[0]["component"]}
    assert comp["8480-6"]["value"] == readings[0][1] and comp["8462-4"]["value"] == readings[0][2]
    assert comp["8480-6"]["code"] == "mm[Hg]"
    assert "valueQuantity" not in nibp[0]


def test_fhir_scales_dosing_adverse_event_and_signature(db: Database, built: Built, tmp_path: Path) -> None:
    doc = _bundle(db, built.session_id, tmp_path)
    obs = _resources(doc, "Observation")
    surveys = [o for o in obs if o["category"][0]["coding"][0]["code"] == "survey"]
    phq = next(o for o in surveys if ("http://loinc.org", "44261-6") in _codes(o["code"]))
    assert phq["valueInteger"] == 8 and len(phq["component"]) == 9
    gad = next(o for o in surveys if ("http://loinc.org", "70274-6") in _codes(o["code"]))
    assert gad["valueInteger"] == 14
    moaas = [o for o in surveys if o["code"]["text"] == "MOAA/S"]
    assert [o["valueInteger"] for o in moaas] == [5, 5]
    assert not any(c[0] == "http://loinc.org" for o in moaas for c in _codes(o["code"]))
    cadss = next(o for o in surveys if o["code"]["text"] == "CADSS-6")
    assert cadss["valueInteger"] == 5

    [infusion] = [
        m
        for m in _resources(doc, "MedicationAdministration")
        if m["medicationCodeableConcept"]["text"].lower().startswith("ketamine")
    ]
    assert infusion["status"] == "completed"
    assert infusion["dosage"]["dose"] == {
        "value": 35.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert infusion["dosage"]["rateQuantity"]["value"] == 52.5
    assert infusion["dosage"]["rateQuantity"]["code"] == "mL/h"
    assert infusion["effectivePeriod"]["start"] < infusion["effectivePeriod"]["end"]

    [ae] = _resources(doc, "AdverseEvent")
    assert ae["event"]["text"] == "Nausea"
    # the amendment raised the grade from 1 to 2: the export carries the corrected grade
    assert ae["severity"]["coding"][0]["code"] == "moderate" and "grade 2" in ae["severity"]["text"]
    assert ae["outcome"]["coding"][0]["code"] == "resolved"
    assert any("ondansetron 4 mg IV" in x.get("valueString", "") for x in ae["extension"])
    assert ae["suspectEntity"][0]["instance"]["reference"] == next(
        e["fullUrl"] for e in doc["entry"] if e["resource"] is infusion
    )

    [prov] = _resources(doc, "Provenance")
    sig = prov["signature"][0]
    assert sig["who"]["display"] == "Dr Jane Smith"
    assert sig["type"][0]["code"] == "1.2.840.10065.1.12.1.1"
    refs = {t["reference"] for t in prov["target"]}
    assert next(e["fullUrl"] for e in doc["entry"] if e["resource"]["resourceType"] == "Encounter") in refs


def test_fhir_demo_session_is_tagged_everywhere(db: Database, tmp_path: Path) -> None:
    b = build_session(db, demo=True, waves=False, minutes=3)
    doc = _bundle(db, b.session_id, tmp_path)
    assert {"system": "urn:chairside:fhir:tag", "code": "DEMO"}.items() <= doc["meta"]["tag"][0].items()
    for e in doc["entry"]:
        assert any(t["code"] == "DEMO" for t in e["resource"]["meta"]["tag"]), e["resource"]["resourceType"]
        assert e["resource"]["meta"]["security"][0]["code"] == "HTEST"


# ---------------------------------------------------------------------------------------------- EDF
def test_edf_reads_back_with_samples_and_annotations(db: Database, built: Built, tmp_path: Path) -> None:
    import pyedflib

    calls, progress = _progress_log()
    out = tmp_path / "s.edf"
    export_session(db, built.session_id, "edf", out, progress)
    _check_progress(calls)
    r = pyedflib.EdfReader(str(out))
    try:
        assert r.getSignalLabels() == ["ECG II", "Pleth", "Resp", "CO2"]
        assert list(r.getSampleFrequencies()) == [500.0, 125.0, 62.5, 62.5]
        assert r.datarecord_duration == 2.0
        assert r.getPatientCode() == "P-0042"
        onsets, _, texts = r.readAnnotations()
        start = r.getStartdatetime().timestamp()
        ecg = db.waves(built.session_id, mdc.ECG_II)
        x = r.readSignal(0)
        step = (r.getPhysicalMaximum(0) - r.getPhysicalMinimum(0)) / 65535
        i0 = round((ecg.segment_t0[0] - start) * 500)
        n = ecg.samples.shape[0]
        assert np.max(np.abs(x[i0 : i0 + n] - ecg.samples)) <= step
        assert r.getPhysicalDimension(0) == "mV"
    finally:
        r.close()
    texts = list(texts)
    assert "Infusion start 35.0mg 52.5mL/h" in texts
    assert "SE Nausea grade 2 (amended)" in texts
    assert "Alarm start SpO2 89 < 92 %" in texts
    i = texts.index("Infusion start 35.0mg 52.5mL/h")
    assert onsets[i] == pytest.approx(built.t0 + 60 - start, abs=0.01)
    assert not any(t.startswith("GAP") for t in texts)


def _session_with_gap(db: Database) -> int:
    user = db.demo_login()
    svc = db.service(user)
    p = svc.create_patient("GAP-1")
    sid = svc.start_session(p.id, "iv-ketamine-0.5", "1", "Chair 1").id
    t0 = float(int(time.time())) - 60.0
    rec = db.vitals_recorder(sid)
    try:
        a = np.sin(np.arange(5000) / 50.0)
        rec.submit([WaveBlock(mdc.ECG_II, "ECG II", t0, 500.0, a, "mV")])
        rec.submit([WaveBlock(mdc.ECG_II, "ECG II", t0 + 20.0, 500.0, a, "mV", gap=True)])
    finally:
        rec.close()
    return sid


def test_edf_marks_gaps_and_demo(db: Database, tmp_path: Path) -> None:
    import pyedflib

    sid = _session_with_gap(db)
    out = tmp_path / "gap.edf"
    export_session(db, sid, "edf", out)
    r = pyedflib.EdfReader(str(out))
    try:
        onsets, durations, texts = r.readAnnotations()
        x = r.readSignal(0)
        assert r.getPatientAdditional() == "DEMO_not_a_patient"
    finally:
        r.close()
    texts = list(texts)
    assert texts[0] == "DEMO - not a patient record" and onsets[0] == 0
    gap = texts.index("GAP ECG II (10.0 s no data)")
    assert onsets[gap] == pytest.approx(10.0) and durations[gap] == pytest.approx(10.0)
    stored = db.waves(sid, mdc.ECG_II).samples
    assert np.all(x[5000:10000] == pytest.approx(0.0, abs=1e-4))  # the fill is 0, flagged by the annotation
    assert x[:5000] == pytest.approx(stored[:5000], abs=1e-4)
    assert x[10000:15000] == pytest.approx(stored[5000:], abs=1e-4)


def test_edf_without_waves_says_so_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    b = build_session(db, waves=False, minutes=2)
    out = tmp_path / "none.edf"
    with pytest.raises(ExportError, match="no recorded waveforms"):
        export_session(db, b.session_id, "edf", out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------------------- VitalDB
def test_vital_file_reads_back_with_vitaldb(db: Database, built: Built, tmp_path: Path) -> None:
    out = tmp_path / "s.vital"
    export_session(db, built.session_id, "vital", out)
    vf = read_vital(out)
    names = set(vf.get_track_names())
    assert {
        "Chairside/ECG_II",
        "Chairside/PLETH",
        "Chairside/HR",
        "Chairside/PLETH_SPO2",
        "Chairside/NIBP_SBP",
        "Chairside/ETCO2",
        "Chairside/EVENT",
    } <= names
    hr = db.numerics(built.session_id, mdc.HEART_RATE)
    recs = vf.trks["Chairside/HR"].recs
    assert [r["val"] for r in recs] == pytest.approx(list(hr.value))
    assert recs[0]["dt"] == np.floor(hr.host_time[0])
    ecg = db.waves(built.session_id, mdc.ECG_II)
    trk = vf.trks["Chairside/ECG_II"]
    assert trk.srate == 500.0 and trk.unit == "mV"
    got = np.concatenate([r["val"] for r in trk.recs])
    assert got[: ecg.samples.shape[0]] == pytest.approx(ecg.samples.astype(np.float32))
    events = [r["val"] for r in vf.trks["Chairside/EVENT"].recs]
    assert any(e.startswith("Dosing started: 35.0 mg") for e in events)
    assert not any("DEMO" in e for e in events)
    assert vf.devs["Chairside"].type == "Chairside"


def test_vital_demo_and_gap(db: Database, tmp_path: Path) -> None:
    sid = _session_with_gap(db)
    out = tmp_path / "gap.vital"
    export_session(db, sid, "vital", out)
    vf = read_vital(out)
    assert vf.devs["Chairside"].type == "Chairside DEMO"
    assert vf.trks["Chairside/EVENT"].recs[0]["val"].startswith("DEMO")
    x = vf.get_track_samples("Chairside/ECG_II", 1 / 500)
    assert np.isnan(x[5000:10000]).all()  # the gap stays a gap
    stored = db.waves(sid, mdc.ECG_II).samples
    assert x[:5000] == pytest.approx(stored[:5000], abs=1e-6)
    assert x[10000:15000] == pytest.approx(stored[5000:], abs=1e-6)


# ---------------------------------------------------------------------------------------------- REMS
def test_rems_form_for_an_esketamine_session(db: Database, tmp_path: Path) -> None:
    b = build_session(db, esketamine=True, waves=False, minutes=8)
    out = tmp_path / "rems.json"
    export_session(db, b.session_id, "rems", out)
    doc = json.loads(out.read_text())
    values = {f["key"]: f["value"] for f in doc["fields"]}
    assert values["dose"] == "56 mg" and values["dose_mg"] == 56.0
    assert values["lot_numbers"] == "LOT-A1"
    assert values["patient_name"] == "Ada Example" and values["patient_sex"] == "female"
    assert values["concomitant_opioids"] is False
    assert values["bp_before_administration"] is not None
    assert values["serious_adverse_events"] == "none"  # nausea was grade 2 after the amendment
    assert "Monitoring provider name" in doc["missing"] and "Healthcare setting address" in doc["missing"]
    assert doc["complete"] is False and "banner" not in doc


def test_rems_refused_for_iv_ketamine(db: Database, built: Built, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not an esketamine session"):
        export_session(db, built.session_id, "rems", tmp_path / "r.json")


# ------------------------------------------------------------------------------------- integrity, atomicity
def test_failed_verification_is_stated_in_every_format(db: Database, built: Built, tmp_path: Path) -> None:
    import pyedflib

    _tamper(db, built.session_id)
    export_session(db, built.session_id, "csv", tmp_path / "t.csv")
    first = (tmp_path / "t.csv").read_text().splitlines()[0]
    assert first.startswith("# INTEGRITY CHECK FAILED")
    doc = _bundle(db, built.session_id, tmp_path)
    assert any(t["code"] == "INTEGRITY-FAILED" for t in doc["meta"]["tag"])
    for e in doc["entry"]:
        assert any(t["code"] == "INTEGRITY-FAILED" for t in e["resource"]["meta"]["tag"])
    export_session(db, built.session_id, "edf", tmp_path / "t.edf")
    r = pyedflib.EdfReader(str(tmp_path / "t.edf"))
    try:
        assert "INTEGRITY CHECK FAILED" in list(r.readAnnotations()[2])
        assert "INTEGRITY-FAILED" in r.getRecordingAdditional()
    finally:
        r.close()
    export_session(db, built.session_id, "vital", tmp_path / "t.vital")
    events = [x["val"] for x in read_vital(tmp_path / "t.vital").trks["Chairside/EVENT"].recs]
    assert events[0].startswith("INTEGRITY CHECK FAILED")


def test_demo_csv_and_rems_say_demo(db: Database, tmp_path: Path) -> None:
    b = build_session(db, demo=True, esketamine=True, waves=False, minutes=3)
    export_session(db, b.session_id, "csv", tmp_path / "d.csv")
    for name in ("d.csv", "d-entries.csv"):
        assert (tmp_path / name).read_text().splitlines()[0] == (
            "# DEMO - simulated or demonstration session, not a patient record")
    export_session(db, b.session_id, "rems", tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["demo"] is True and doc["banner"].startswith("DEMO")


def test_failure_mid_write_leaves_the_old_file_and_no_temporary(
    db: Database, built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyedflib

    out = tmp_path / "s.edf"
    out.write_bytes(b"previous export")

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyedflib.EdfWriter, "writeSamples", broken)
    with pytest.raises(OSError, match="No space"):
        export_session(db, built.session_id, "edf", out)
    assert out.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name != "record.sqlite3" and "sqlite" not in p.name] == [
        "s.edf"
    ]


def test_export_is_audit_logged(db: Database, built: Built, tmp_path: Path) -> None:
    export_session(db, built.session_id, "fhir", tmp_path / "a.json")
    trail = db.audit_trail(action="export")
    assert trail and trail[-1].detail.startswith("format fhir to ")


def test_command_line_exports_csv(
    db: Database, built: Built, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.cli import main

    url = str(db.engine.url)
    out = tmp_path / "cli.zip"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{PASSWORD}\n"))
    assert main(["export", str(built.session_id), "--db", url, "--format", "csv", "--out", str(out),
                 "--user", "jsmith"]) == 0
    assert zipfile.ZipFile(out).namelist()
    assert (
        main(
            [
                "export",
                str(built.session_id),
                "--db",
                url,
                "--format",
                "rems",
                "--out",
                str(tmp_path / "r.json"),
                "--user",
                "jsmith",
            ]
        )
        == 2
    )
    assert "not an esketamine session" in capsys.readouterr().err


def test_csv_rows_parse(db: Database, built: Built, tmp_path: Path) -> None:
    """Spreadsheet tools read the numerics once the comment lines are skipped."""
    export_session(db, built.session_id, "csv", tmp_path / "n.csv")
    body = "\n".join(ln for ln in (tmp_path / "n.csv").read_text().splitlines() if not ln.startswith("#"))
    rows = list(csv.reader(io.StringIO(body)))
    assert len({len(r) for r in rows}) == 1 and len(rows) > 300


def test_a_simulated_session_exports_in_every_format(tmp_path: Path) -> None:
    """``chairside simulate-session``'s output (a DEMO session) goes through every format."""
    from console.record import open_database
    from console.record.simulation import simulate_session

    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    sid = simulate_session(url, minutes=5).session_id
    with open_database(url) as db:
        for fmt, name in (("pdf", "s.pdf"), ("csv", "s.zip"), ("fhir", "s.json"), ("edf", "s.edf"),
                          ("vital", "s.vital")):
            export_session(db, sid, fmt, tmp_path / name)
            assert (tmp_path / name).stat().st_size > 1000, fmt
        with pytest.raises(ExportError):
            export_session(db, sid, "rems", tmp_path / "r.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert all(any(t["code"] == "DEMO" for t in e["resource"]["meta"]["tag"]) for e in doc["entry"])
    assert read_vital(tmp_path / "s.vital").devs["Chairside"].type == "Chairside DEMO"


def test_an_empty_session_exports_what_it_has(db: Database, tmp_path: Path) -> None:
    """A session with no entries and no vitals (started, then abandoned): the chart formats still work, the
    signal formats say there is nothing to write and leave no file."""
    svc = db.service(db.demo_login())
    sid = svc.start_session(svc.create_patient("E-1").id, "unknown-protocol", "7", "").id
    for fmt in ("pdf", "csv", "fhir"):
        export_session(db, sid, fmt, tmp_path / f"e.{fmt}")
        assert (tmp_path / f"e.{fmt}").stat().st_size > 0
    for fmt, words in (("edf", "no recorded waveforms"), ("vital", "no recorded vital signs")):
        with pytest.raises(ExportError, match=words):
            export_session(db, sid, fmt, tmp_path / f"e.{fmt}")
        assert not (tmp_path / f"e.{fmt}").exists()
    written = sorted(p.name for p in tmp_path.iterdir() if "sqlite" not in p.name)
    assert written == ["e-entries.csv", "e.csv", "e.fhir", "e.pdf"]  # and no temporary file left behind


class _Cancelled(Exception):
    pass


@pytest.mark.parametrize(("fmt", "step"), [("pdf", "pages laid out"), ("csv", "entries formatted"),
                                          ("fhir", "vital signs"), ("edf", "samples written"),
                                          ("vital", "events")])
def test_cancelling_from_progress_writes_nothing(db: Database, built: Built, tmp_path: Path, fmt: str,
                                                 step: str) -> None:
    """The review UI cancels by raising from its progress callback (here at a step where the temporary file
    may already exist): no file and no temporary file are left."""
    seen: list[str] = []

    def progress(done: int, total: int, what: str) -> None:
        seen.append(what)
        if what == step:
            raise _Cancelled

    out = tmp_path / f"c.{fmt}"
    with pytest.raises(_Cancelled):
        export_session(db, built.session_id, fmt, out, progress)
    assert seen[-1] == step
    assert [p.name for p in tmp_path.iterdir() if "sqlite" not in p.name] == []


def test_entry_summaries_read_like_a_chart() -> None:
    from console.exports._common import EntryView, entry_text, epoch, fmt_local

    t = "2026-11-25T14:14:00+00:00"
    drug = EntryView({"kind": "intervention", "data": {"type": "drug", "drug": "ondansetron", "dose": "4 mg",
                                                       "route": "IV", "time": t, "indication": "nausea"}})
    hhmm = fmt_local(epoch(t), with_date=False)
    assert entry_text(drug) == f"Intervention: ondansetron 4 mg IV at {hhmm} for nausea"
    stop = EntryView({"kind": "infusion_stop", "data": {"completed": False, "reason": "BP 182/104",
                                                        "dose_given_mg": 21.5}})
    assert entry_text(stop) == "Infusion stopped early: BP 182/104; dose given 21.5 mg"
    rate = EntryView({"kind": "infusion_rate", "data": {"rate_ml_h": 30.0, "previous_rate_ml_h": 52.5,
                                                        "reason": "nausea"}})
    assert entry_text(rate) == "Rate changed from 52.5 to 30.0 mL/h: nausea"
