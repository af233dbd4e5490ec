"""The countdown, the browser's overdue flag and the PDF's table tell the same story about a session's checks.

A simulated 60-minute session runs the protocol's script compressed in time: its rating saved for the 40-minute
point is taken at minute 20 of dosing. Before the checks were matched by their point, the PDF listed
"MOAA/S at 40 min: missed" beside that rating and the browser flagged "4 overdue".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from console.clinical import ProtocolLibrary, ScaleLibrary
from console.clinical import entries as build
from console.clinical.discharge import evaluate
from console.clinical.schedule import flagged_checks
from console.exports import export_session
from console.record import open_database, passwords
from console.record.simulation import PROTOCOL_ID, SimClock, simulate_session
from console.review.browser_model import BrowserModel
from console.session import SessionController

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is needed to read the PDF back"
)
T0 = 1_700_000_000.0
STATES = ("done", "missed", "not done", "overdue", "pending", "waiting")


def pdf_check_states(pdf: Path) -> dict[str, str]:
    """The "Vitals at each scheduled check" table of the PDF: check label -> state as printed."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    section = text.split("Vitals at each scheduled check", 1)[1]
    out: dict[str, str] = {}
    row = re.compile(r"^\s*(BP|MOAA/S|CADSS-6)\b(.*?)\s{2,}.*?\b(" + "|".join(STATES) + r")\b")
    for line in section.splitlines():
        m = row.match(line)
        if m is None:
            if out and line.strip() and not line.startswith(" ") and "check" not in line:
                break  # the next section
            continue
        out[(m.group(1) + m.group(2)).strip()] = m.group(3)
    return out


def test_countdown_browser_and_pdf_agree_on_a_simulated_60_minute_session(tmp_path: Path) -> None:
    passwords.use_fast_hashing(True)
    os.environ["CHAIRSIDE_FAST_HASH"] = "1"
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    sid = simulate_session(url, minutes=60).session_id
    db = open_database(url)
    try:
        svc = db.service(db.simulation_login())
        info = svc.session(sid)
        entries = list(svc.entries(sid))
        forty = [e for e in entries if e.kind == "observation" and e.data.get("point") == "40"]
        assert {e.data["scale"] for e in forty} == {"moaas", "cadss6"}

        # the countdown: the session's controller at the session's end
        browser = BrowserModel(db, svc)
        bp_times = browser._bp_times([sid])[sid]
        protocol = ProtocolLibrary.builtin().get(PROTOCOL_ID)
        end = max(e.at.timestamp() for e in entries)
        ctl = SessionController(svc, clock=lambda: end)
        weight = info.details["dose"]["weight_kg"]
        ctl.open(info, None, protocol, protocol.plan(weight), weight, None, entries)
        ctl.bp_readings = {t: (0.0, 0.0) for t in bp_times}
        status = ctl.schedule()
        assert status is not None
        assert status.get("moaas@40").state == status.get("cadss6@40").state == "done"
        countdown_flagged = {c.label for c in flagged_checks(status, finished=True)}

        # the browser
        (row,) = [r for r in browser.refresh() if r.info.id == sid]

        # the PDF
        out = tmp_path / "report.pdf"
        export_session(db, sid, "pdf", out)
        pdf = pdf_check_states(out)
    finally:
        db.close()
        passwords.use_fast_hashing(False)
    assert pdf["MOAA/S at 40 min"] == pdf["CADSS-6 at 40 min"] == "done"
    pdf_flagged = {label for label, state in pdf.items() if state in ("missed", "not done", "overdue")}
    assert pdf_flagged == countdown_flagged
    assert row.flags.overdue == len(pdf_flagged)


def _countdown(svc, sid: int, bp_times: list[float]) -> tuple[SessionController, set[str]]:
    """The session's controller at the session's last entry, and the checks its countdown flags."""
    info = svc.session(sid)
    entries = list(svc.entries(sid))
    protocol = ProtocolLibrary.builtin().get(info.protocol_id)
    end = max(e.at.timestamp() for e in entries)
    ctl = SessionController(svc, clock=lambda: end)
    ctl.open(info, None, protocol, protocol.plan(70.0), 70.0, None, entries)
    ctl.bp_readings = {t: (0.0, 0.0) for t in bp_times}
    status = ctl.schedule()
    assert status is not None
    return ctl, {c.label for c in flagged_checks(status, finished=True)}


def test_they_agree_on_what_was_missed_and_a_late_rating_saved_for_its_point(tmp_path: Path) -> None:
    """Written entry by entry: no BP after the baseline, the 40-minute MOAA/S saved 6 minutes late for its
    point, no 40-minute CADSS-6."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    clock = SimClock(T0)
    db = open_database(url, clock=clock)
    scales = ScaleLibrary.builtin()
    protocol = ProtocolLibrary.builtin().get("iv-ketamine-0.5")

    def at(minute: float) -> None:
        clock.t = T0 + minute * 60.0

    try:
        svc = db.service(db.simulation_login())
        patient = svc.create_patient("P-9", weight_kg=70.0)
        sid = svc.start_session(patient.id, protocol.id, protocol.effective_version, "Chair 9").id
        at(1)
        svc.add_entry(sid, "precheck", build.precheck_data(identity_confirmed=True, consent_on_file=True,
                                                           fasting=True, escort_arranged=True))
        at(3)
        svc.add_entry(sid, "observation", build.observation_data(scales.get("moaas"), {"score": 5},
                                                                 point="baseline"))
        svc.add_entry(sid, "observation", build.observation_data(
            scales.get("cadss6"), dict.fromkeys(("1", "2", "6", "7", "15", "22"), 0), point="baseline"))
        at(5)
        svc.add_entry(sid, "infusion_start", build.infusion_start_data(protocol.plan(70.0), route="IV"))
        at(45)
        svc.add_entry(sid, "infusion_stop", build.infusion_stop_data(dose_given_mg=35.0, volume_given_ml=35.0))
        at(51)
        svc.add_entry(sid, "observation", build.observation_data(scales.get("moaas"), {"score": 5}, point="40"))
        at(80)
        results = evaluate({"alert_oriented": True}, last_moaas=5)
        svc.add_entry(sid, "discharge", build.discharge_data(results, override_reason="reviewed at the chair"))

        ctl, countdown_flagged = _countdown(svc, sid, [])
        browser = BrowserModel(db, svc)
        (row,) = [r for r in browser.refresh() if r.info.id == sid]
        out = tmp_path / "report.pdf"
        export_session(db, sid, "pdf", out)
        pdf = pdf_check_states(out)
    finally:
        db.close()
    status = ctl.schedule()
    assert status is not None
    assert status.get("moaas@40").state == status.get("moaas@end").state == "done"
    assert pdf["MOAA/S at 40 min"] == pdf["MOAA/S at end of dosing"] == "done"
    assert pdf["CADSS-6 at 40 min"] in ("missed", "not done")
    pdf_flagged = {label for label, state in pdf.items() if state in ("missed", "not done", "overdue")}
    assert {"CADSS-6 at 40 min", "CADSS-6 at end of dosing", "BP at 10 min", "MOAA/S before discharge"} <= \
        pdf_flagged
    assert pdf_flagged == countdown_flagged
    assert row.flags.overdue == len(pdf_flagged)
