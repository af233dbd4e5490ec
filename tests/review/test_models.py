"""Qt-free review models: browser filters and flags, course values, markers, log rows, trend arrays."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from console.clinical._common import to_epoch
from console.review.browser_model import BrowserFilter, BrowserModel
from console.review.course import course_rows
from console.review.log_model import log_rows
from console.review.timeline import markers_from_entries, next_marker
from console.review.trends import load_nibp, load_trends, load_wave_window
from devices import mdc
from devices.model import State

from .conftest import PASSWORD, T_B, ReviewRecord, tamper


@pytest.fixture
def model(db, auditor) -> BrowserModel:
    m = BrowserModel(db, db.service(auditor))
    m.refresh()
    return m


def _ids(rows) -> list[int]:
    return sorted(r.id for r in rows)


def test_status_filter(model: BrowserModel, review_record: ReviewRecord) -> None:
    a, b, c = review_record.a.session_id, review_record.b.session_id, review_record.c.session_id
    assert _ids(model.query(BrowserFilter(status="signed"))) == [a]
    assert _ids(model.query(BrowserFilter(status="interrupted"))) == sorted([b, c])
    assert model.query(BrowserFilter(status="in_progress")) == []


def test_flag_filters(model: BrowserModel, review_record: ReviewRecord, db) -> None:
    a, c = review_record.a.session_id, review_record.c.session_id
    assert _ids(model.query(BrowserFilter(flags=frozenset({"severe"})))) == [c]
    assert _ids(model.query(BrowserFilter(flags=frozenset({"amendments"})))) == sorted([a, c])
    alarm_sessions = sorted(
        {
            e.session_id
            for sid in (a, review_record.b.session_id, c)
            for e in db.service(db.authenticate("audrey", PASSWORD)).entries(sid)
            if e.kind == "alarm"
        }
    )
    assert alarm_sessions == [a]  # the hypertensive session reached 180 mmHg
    assert _ids(model.query(BrowserFilter(flags=frozenset({"alarms"})))) == [a]
    # C has no BP reading between 5 and 45 min after its start: its 10-minute BP checks were missed
    assert c in _ids(model.query(BrowserFilter(flags=frozenset({"overdue"}))))
    assert model.row(c).flags.overdue >= 3
    assert model.query(BrowserFilter(flags=frozenset({"integrity"}))) == []
    assert _ids(model.query(BrowserFilter(flags=frozenset({"severe", "amendments"})))) == [c]


def test_date_patient_chair_filters_and_sort(model: BrowserModel, review_record: ReviewRecord) -> None:
    b = review_record.b.session_id
    day_b = datetime.fromtimestamp(T_B).date()
    assert _ids(model.query(BrowserFilter(date_from=day_b, date_to=day_b))) == [b]
    assert _ids(model.query(BrowserFilter(date_from=date(2000, 1, 1), date_to=date(2000, 1, 2)))) == []
    assert _ids(model.query(BrowserFilter(patient="p-1"))) == sorted([review_record.a.session_id, b])
    assert _ids(model.query(BrowserFilter(chair="Chair 2"))) == [review_record.c.session_id]
    assert _ids(model.query(BrowserFilter(clinician="simulation"))) == _ids(model.rows)
    assert model.query(BrowserFilter(clinician="nobody")) == []
    newest_first = [r.id for r in model.query(sort="started_at")]
    assert newest_first == [review_record.c.session_id, b, review_record.a.session_id]
    by_patient = [r.info.patient_code for r in model.query(sort="patient", descending=False)]
    assert by_patient == sorted(by_patient)
    with pytest.raises(ValueError):
        model.query(sort="colour")


def test_filtering_does_not_recompute_flags(model: BrowserModel) -> None:
    for _ in range(5):
        model.query(BrowserFilter(status="signed"))
    assert model.computations == 1
    model.refresh()
    assert model.computations == 2


def test_integrity_flag_after_raw_tampering(db_copy, review_record: ReviewRecord) -> None:
    c = review_record.c.session_id
    tamper(
        db_copy,
        "UPDATE entries SET data_json = replace(data_json, 'vomiting', 'nausea') "
        "WHERE session_id = :s AND kind = 'side_effect'",
        s=c,
    )
    m = BrowserModel(db_copy, db_copy.service(db_copy.authenticate("audrey", PASSWORD)))
    m.refresh()
    assert [r.id for r in m.query(BrowserFilter(flags=frozenset({"integrity"})))] == [c]
    assert "entry #9" in m.row(c).flags.integrity_problem
    assert "changed" in m.row(c).flags.integrity_problem


def test_course_values_from_known_entries(db, auditor, review_record: ReviewRecord) -> None:
    rows = course_rows(db, db.service(auditor), review_record.c.patient_id)
    assert len(rows) == 1
    r = rows[0]
    assert (r.phq9, r.gad7) == (20, 15)
    assert r.peak_cadss == 14  # the amended total, not the 10 first written
    assert r.lowest_moaas == 3
    assert r.baseline_bp == (130.0, 80.0)
    assert r.peak_bp == (165.0, 100.0)
    assert r.bp_rise == (35.0, 20.0)
    assert r.side_effects == ("vomiting (grade 3)",)
    assert (r.dose_mg, r.dose_basis) == (30.0, "given")
    assert r.amended and r.status == "interrupted"


def test_course_of_a_patient_lists_every_session_oldest_first(
    db, auditor, review_record: ReviewRecord
) -> None:
    rows = course_rows(db, db.service(auditor), db.service(auditor).find_patient("P-1").id)
    assert [r.session_id for r in rows] == [review_record.a.session_id, review_record.b.session_id]
    assert [(r.phq9, r.gad7) for r in rows] == [(14, 11), (9, 6)]
    assert rows[0].peak_cadss == 12 and rows[0].lowest_moaas == 4
    nibp = load_nibp(db, review_record.a.session_id)
    assert rows[0].peak_bp is not None and rows[0].peak_bp[0] >= float(nibp.sys.max()) >= 180
    assert rows[0].side_effects == ("nausea (grade 2)",)
    assert rows[1].side_effects == ()  # B ended before its scripted side effect
    assert (rows[0].dose_mg, rows[0].dose_basis) == (35.0, "given")
    assert (rows[1].dose_mg, rows[1].dose_basis) == (35.0, "planned")  # B ended before the infusion did


def test_markers_at_entry_times_with_texts(db, auditor, review_record: ReviewRecord) -> None:
    c = review_record.c
    entries = db.service(auditor).entries(c.session_id)
    markers = markers_from_entries(entries)
    assert [m.t for m in markers] == sorted(to_epoch(e.at) for e in entries)
    by_id = {m.entry_id: m for m in markers}
    se = by_id[c.ids["side_effect"]]
    assert se.t == c.t0 + 2760 and se.category == "side_effect"
    assert "vomiting, grade 3" in se.text and "simulation (clinician)" in se.text
    late = by_id[c.ids["late_note"]]
    assert late.t == c.t0 + 3000 and "LATE ENTRY" in late.text
    original = by_id[c.ids["cadss40"]]
    assert "CADSS-6 10" in original.text and "AMENDED by #13" in original.text
    assert "now reads: CADSS-6 14" in original.text and original.data is not None
    assert original.data["total"] == 14 and original.amended
    amend = by_id[c.ids["amendment"]]
    assert amend.category == "amendment" and "miscounted item 6" in amend.text and "CADSS-6 14" in amend.text
    assert next_marker(markers, c.t0 + 2700, +1) is se
    assert next_marker(markers, c.t0 + 2760, -1).t == c.t0 + 2700


def test_log_puts_amendments_beside_their_original(db, auditor, review_record: ReviewRecord) -> None:
    c = review_record.c
    rows = log_rows(db.service(auditor).entries(c.session_id))
    assert sorted(r.seq for r in rows) == list(range(1, 15))  # nothing hidden
    i = next(i for i, r in enumerate(rows) if r.entry_id == c.ids["cadss40"])
    assert rows[i].is_amended and rows[i].relation == "amended by #13"
    assert "CADSS-6 10" in rows[i].what  # the original stays as recorded
    assert rows[i + 1].is_amendment and rows[i + 1].seq == 13 and rows[i + 1].relation == "amends #8"
    late = next(r for r in rows if r.entry_id == c.ids["late_note"])
    assert late.late and late.cells()[7] == "LATE"
    assert late.described != late.entered


def test_trend_arrays_match_the_stored_numerics(db, review_record: ReviewRecord) -> None:
    a = review_record.a
    data = load_trends(db, a.session_id, a.start, a.end)
    hr = db.numerics(a.session_id, mdc.HEART_RATE)
    assert np.array_equal(data.series["HR"].t, hr.host_time)
    assert np.array_equal(data.series["HR"].y, hr.value, equal_nan=True)
    assert data.series["SPO2"].t.size == 50 * 60
    raw = db.numerics(a.session_id, mdc.NIBP_SYS)
    done = raw.host_time[(raw.state & State.MEASURING.value) == 0]
    assert np.array_equal(data.nibp.t, done)
    assert len(data.nibp) == 10  # every 5 min from 30 s, each once
    assert np.all(np.isfinite(data.nibp.dia)) and np.all(data.nibp.sys > data.nibp.dia)


def test_wave_window_is_exactly_the_stored_samples(db, review_record: ReviewRecord) -> None:
    a = review_record.a
    start = a.start + 1234.5
    win = load_wave_window(db, a.session_id, start, start + 10)
    stored = db.waves(a.session_id, mdc.ECG_II, start, start + 10)
    t, y = win.channels[mdc.ECG_II]
    assert y.size == 5000 and np.array_equal(y, stored.samples)
    assert t[0] >= start and t[-1] < start + 10
    assert set(win.channels) == {mdc.ECG_II, mdc.PLETH, mdc.RESP_WAVE, mdc.CO2_WAVE}
    assert load_wave_window(db, review_record.b.session_id, start, start + 10).channels == {}


def test_monitor_alarms_become_markers_and_flag_the_session(db_copy, review_record: ReviewRecord) -> None:
    b = review_record.b
    tamper(
        db_copy,
        "INSERT INTO vital_events (session_id, kind, code, text, priority, active, mdc, source, host_time) "
        "VALUES (:s, 'alarm', 'spo2_low', 'SpO2 LOW 88', 3, 1, 150456, 'monitor', :t)",
        s=b.session_id,
        t=b.start + 600.5,
    )
    from console.review.trends import device_alarms

    alarms = device_alarms(db_copy, b.session_id)
    assert alarms == [(b.start + 600.5, "SpO2 LOW 88")]
    svc = db_copy.service(db_copy.authenticate("audrey", PASSWORD))
    markers = markers_from_entries(svc.entries(b.session_id), alarms)
    m = next(m for m in markers if m.kind == "device_alarm")
    assert m.t == b.start + 600.5 and m.category == "alarm" and "SpO2 LOW 88" in m.text
    model = BrowserModel(db_copy, svc)
    model.refresh()
    assert model.row(b.session_id).flags.alarms == 1
