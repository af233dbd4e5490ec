"""The PDF session report: what a clinician reads on each page (text extracted with poppler's pdftotext)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from console.exports import export_session
from console.record import Database
from tests.exports.session_factory import Built, build_session
from tests.exports.test_formats import _check_progress, _progress_log, _tamper

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is needed to read the PDF back"
)


def pages(pdf: Path) -> list[str]:
    """The text of every page."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return out.stdout.split("\f")[:-1]


def test_report_has_every_section_and_page_numbers(db: Database, built: Built, tmp_path: Path) -> None:
    calls, progress = _progress_log()
    out = tmp_path / "report.pdf"
    export_session(db, built.session_id, "pdf", out, progress)
    _check_progress(calls)
    text = pages(out)
    n = len(text)
    assert n >= 2
    for i, page in enumerate(text, start=1):
        assert f"page {i} of {n}" in page
        assert "P-0042" in page  # the patient on every page
        assert "DEMO" not in page and "INTEGRITY CHECK FAILED" not in page
    whole = "\n".join(text)
    for heading in (
        "Dose and infusion timeline",
        "Vital-sign trend",
        "Vitals at each scheduled check",
        "Observations and questionnaires",
        "Side effects",
        "Alarms",
        "Discharge",
        "Amendments (original beside amendment)",
        "Signatures",
    ):
        assert heading in whole
    assert "Ada Example" in whole and "IV racemic ketamine 0.5 mg/kg" in whole
    assert "Record integrity: verified" in whole
    assert re.search(r"Dosing started: 35\.0 mg \(0\.5 mg/kg x 70 kg\) IV at 52\.5 mL/h", whole)
    assert "PHQ-9" in whole and "GAD-7" in whole and "CADSS-6" in whole
    # the side effect as recorded (grade 1) and, beside it, the amendment to grade 2 with its reason
    assert "1 (mild)" in whole and "AMENDED" in whole and "grade entered wrongly" in whole
    assert "Side effect: Nausea, grade 2" in whole
    assert "ondansetron 4 mg IV" in whole
    assert "SpO2 89 < 92 %" in whole and "30 s" in whole
    assert "Dr Jane Smith" in whole and "authored" in whole
    assert "REMS" not in whole  # IV ketamine has no REMS form


def test_report_renders_to_images(db: Database, built: Built, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed")
    out = tmp_path / "report.pdf"
    export_session(db, built.session_id, "pdf", out)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(out), str(tmp_path / "p")], check=True
    )
    png = next(tmp_path.glob("p*.png"))
    assert png.stat().st_size > 10_000  # a page with a chart, not a blank one


def test_demo_session_is_marked_on_every_page(db: Database, tmp_path: Path) -> None:
    b = build_session(db, demo=True, waves=False, minutes=4)
    out = tmp_path / "demo.pdf"
    export_session(db, b.session_id, "pdf", out)
    for page in pages(out):
        assert "DEMO - simulated or demonstration session, NOT a patient record" in page


def test_failed_verification_is_on_every_page(db: Database, built: Built, tmp_path: Path) -> None:
    _tamper(db, built.session_id)
    out = tmp_path / "tampered.pdf"
    export_session(db, built.session_id, "pdf", out)
    text = pages(out)
    for page in text:
        assert "INTEGRITY CHECK FAILED" in page
    assert "Record integrity: verified" not in "\n".join(text)


def test_esketamine_report_includes_the_rems_form(db: Database, tmp_path: Path) -> None:
    b = build_session(db, esketamine=True, waves=False, minutes=8)
    out = tmp_path / "esk.pdf"
    export_session(db, b.session_id, "pdf", out)
    whole = "\n".join(pages(out))
    assert "Esketamine REMS patient monitoring form" in whole
    assert "LOT-A1" in whole and "56 mg" in whole
    assert "To complete before submitting" in whole and "Monitoring provider name" in whole
    assert "Nasal device 1 of 2 (28 mg), lot LOT-A1" in whole


def test_unsigned_session_says_so(db: Database, tmp_path: Path) -> None:
    b = build_session(db, waves=False, minutes=3, sign=False)
    out = tmp_path / "unsigned.pdf"
    export_session(db, b.session_id, "pdf", out)
    assert "This session has not been signed." in "\n".join(pages(out))


def test_a_very_long_note_is_cut_in_the_table_not_fatal(db: Database, tmp_path: Path) -> None:
    """A 9000-character note cannot fit one table row on a page; the report still builds and says where the
    full text is."""
    b = build_session(db, waves=False, minutes=3, sign=False)
    svc = db.service(b.user)
    svc.add_entry(b.session_id, "note", {"text": "word " * 1800})
    out = tmp_path / "long.pdf"
    export_session(db, b.session_id, "pdf", out)
    words = " ".join("\n".join(pages(out)).split())
    assert "more characters: full text in the JSON/CSV export]" in words


def test_an_escalated_alarm_is_one_row_with_its_rise_in_priority(db: Database, tmp_path: Path) -> None:
    """A desaturation that started medium and became high is one alarm condition: the report shows one row
    whose priority says "medium → high", with when and why, never a medium alarm and a stray second row."""
    from devices import mdc

    b = build_session(db, waves=False, minutes=3, sign=False)
    svc = db.service(b.user)
    t0 = b.t0 + 60

    def alarm(event: str, priority: str, at: float, message: str, value: float, limit: float,
              **extra: object) -> None:
        svc.add_entry(b.session_id, "alarm", {
            "event": event, "time": at, "alarm_id": 77, "key": f"low|{mdc.SPO2}|sim",
            "category": "physiological", "priority": priority, "mdc": mdc.SPO2, "parameter": "SpO2",
            "message": message, "value": value, "unit": "%", "limit": limit, "limit_text": f"< {limit:g}",
            "values": {}, "started": t0, "source": "sim", "demo": False, "protocol_version": "t", "user": None,
            **extra}, at=at)

    alarm("start", "medium", t0, "SpO2 90 < 92 %", 90, 92)
    alarm("escalate", "high", t0 + 20, "SpO2 84 < 88 %", 84, 88, reason="priority raised from medium: < 88")
    alarm("end", "high", t0 + 80, "SpO2 84 < 88 %", 95, 88, duration_s=80.0, worst_value=84)
    out = tmp_path / "escalated.pdf"
    export_session(db, b.session_id, "pdf", out)
    words = " ".join("\n".join(pages(out)).split())
    rows = [line for line in "\n".join(pages(out)).splitlines() if "SpO2 90 < 92 % (worst 84)" in line]
    assert len(rows) == 1 and " medium " in rows[0]
    assert "→ high" in words  # the priority cell wraps under "medium"
    assert words.count("SpO2 84 < 88") == 1  # the escalation is inside the condition's row, not a row of its own
    assert "SpO2 90 < 92 % (worst 84)" in words
