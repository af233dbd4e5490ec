"""The session browser and the patient course view (Qt)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from PySide6.QtCore import QDate

from console.review.browser import SessionBrowser
from console.review.course_view import PatientCourseView

from .conftest import T_B, ReviewRecord


def _browser(qtbot, db, user) -> SessionBrowser:
    b = SessionBrowser(db, user)
    qtbot.addWidget(b)
    return b


def test_browser_lists_sessions_with_flags_and_filters(
    qtbot, db, auditor, review_record: ReviewRecord
) -> None:
    a, b, c = review_record.a.session_id, review_record.b.session_id, review_record.c.session_id
    br = _browser(qtbot, db, auditor)
    assert br.shown_ids() == [c, b, a]  # newest first
    row_c = br.shown_ids().index(c)
    assert "grade>=3 x1" in br.table.item(row_c, 7).text() and "1 amended" in br.table.item(row_c, 7).text()
    assert br.table.item(row_c, 8).text() == "DEMO"
    br.flag_boxes["severe"].setChecked(True)
    assert br.shown_ids() == [c]
    br.flag_boxes["severe"].setChecked(False)
    br.status.setCurrentIndex(br.status.findData("signed"))
    assert br.shown_ids() == [a]
    br.status.setCurrentIndex(br.status.findData("interrupted"))
    assert br.shown_ids() == [c, b]
    br.status.setCurrentIndex(0)
    br.patient.setText("P-2")
    assert br.shown_ids() == [c]
    br.patient.clear()
    br.chair.setCurrentIndex(br.chair.findData("Chair 1"))
    assert br.shown_ids() == [b, a]
    br.chair.setCurrentIndex(0)
    day_b = datetime.fromtimestamp(T_B).date()
    br.date_from.setDate(QDate(day_b.year, day_b.month, day_b.day))
    br.date_to.setDate(QDate(day_b.year, day_b.month, day_b.day))
    br.use_dates.setChecked(True)
    assert br.shown_ids() == [b]
    assert br.count.text() == "1 of 3 sessions shown"
    assert br.model.computations == 1  # filtering never recomputed the flags


def test_sorting_by_clicking_a_header(qtbot, db, auditor, review_record: ReviewRecord) -> None:
    br = _browser(qtbot, db, auditor)
    br.table.horizontalHeader().sectionClicked.emit(2)  # patient
    codes = [br.table.item(r, 2).text() for r in range(br.table.rowCount())]
    assert codes == ["P-1", "P-1", "P-2"]
    br.table.horizontalHeader().sectionClicked.emit(2)
    assert br.table.item(0, 2).text() == "P-2"


def test_open_session_and_course_signals(qtbot, db, auditor, review_record: ReviewRecord) -> None:
    br = _browser(qtbot, db, auditor)
    row = br.shown_ids().index(review_record.c.session_id)
    with qtbot.waitSignal(br.openSession) as sig:
        br.table.cellDoubleClicked.emit(row, 0)
    assert sig.args == [review_record.c.session_id]
    br.table.selectRow(row)
    with qtbot.waitSignal(br.openCourse) as sig:
        br.course_button.click()
    assert sig.args == [review_record.c.patient_id]


def test_course_view_shows_values_and_score_trends(qtbot, db, auditor, review_record: ReviewRecord) -> None:
    patient = db.service(auditor).find_patient("P-1")
    view = PatientCourseView(db, auditor, patient.id)
    qtbot.addWidget(view)
    assert view.table.rowCount() == 2
    first = [view.table.item(0, c).text() for c in range(view.table.columnCount())]
    assert first[0] == str(review_record.a.session_id)
    assert first[2:6] == ["14", "11", "12", "4"]
    assert first[9] == "nausea (grade 2)"
    assert view.table.item(1, 10).text() == "35 planned"
    assert first[11].startswith("signed (amended)") and first[11].endswith("DEMO")
    x, y = view.phq_plot.curve.getData()
    assert np.array_equal(x, [1.0, 2.0]) and np.array_equal(y, [14.0, 9.0])
    _, g = view.gad_plot.curve.getData()
    assert np.array_equal(g, [11.0, 6.0])
    with qtbot.waitSignal(view.openSession) as sig:
        view.table.cellDoubleClicked.emit(1, 0)
    assert sig.args == [review_record.b.session_id]


def test_course_view_bp_cells(qtbot, db, auditor, review_record: ReviewRecord) -> None:
    view = PatientCourseView(db, auditor, review_record.c.patient_id)
    qtbot.addWidget(view)
    cells = [view.table.item(0, c).text() for c in range(view.table.columnCount())]
    assert cells[6:9] == ["130/80", "165/100", "+35/+20"]
    assert cells[4] == "14" and cells[5] == "3" and cells[10] == "30"


def test_open_review_wires_browser_course_and_review(qtbot, db, auditor, review_record: ReviewRecord) -> None:
    from console.review import open_review
    from console.review.review_window import ReviewWindow

    browser = open_review(db, auditor)
    qtbot.addWidget(browser)
    try:
        browser.openSession.emit(review_record.c.session_id)
        browser.openCourse.emit(review_record.c.patient_id)
        course = next(c for c in browser._children if isinstance(c, PatientCourseView))
        course.openSession.emit(review_record.c.session_id)
        windows = [c for c in browser._children if isinstance(c, ReviewWindow)]
        assert [w.session_id for w in windows] == [review_record.c.session_id] * 2
        assert all(w.isVisible() and w.user.role == "auditor" for w in windows)
        browser.openSession.emit(9999)
        assert browser.count.text() == "Session 9999 cannot be opened: no session with id 9999"
        assert len(browser._children) == 3
    finally:
        for child in browser._children:
            child.close()
