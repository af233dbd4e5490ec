"""The review window: trends and markers, hover texts, lazy wave windows, log, audit tab, verify, export,
read-only for auditors, threads stopped on close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QPlainTextEdit, QPushButton, QTextEdit
from sqlalchemy import text

from console.clinical._common import to_epoch
from console.record import PermissionDenied
from console.review.review_window import ReviewWindow
from devices import mdc

from .conftest import ReviewRecord, tamper


@pytest.fixture
def window_for(qtbot, db, auditor):
    made: list[ReviewWindow] = []

    def make(session_id: int, database=None) -> ReviewWindow:
        d = database or db
        w = ReviewWindow(
            d, auditor if database is None else d.authenticate("audrey", "correct horse 1"), session_id
        )
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def test_trends_show_the_stored_numerics_and_nibp_bars(window_for, db, review_record: ReviewRecord) -> None:
    a = review_record.a
    w = window_for(a.session_id)
    x, y = w.trend.curves["HR"].getData()
    hr = db.numerics(a.session_id, mdc.HEART_RATE)
    assert np.array_equal(x, hr.host_time) and np.array_equal(y, hr.value)
    sx, sy = w.trend.curves["SPO2"].getData()
    assert sx.size == 3000 and np.nanmin(sy) >= 90
    bars = w.trend.nibp_bars.opts
    assert len(bars["x"]) == 10
    assert np.array_equal(np.asarray(bars["y"]) + np.asarray(bars["top"]), w.trend_data.nibp.sys)
    lo, hi = w.trend.visible_range()
    assert lo <= a.start and hi >= a.end - 60  # the whole session is shown on opening


def test_markers_sit_at_entry_times_and_hover_shows_the_entry(
    window_for, db, auditor, review_record: ReviewRecord
) -> None:
    c = review_record.c
    w = window_for(c.session_id)
    entries = db.service(auditor).entries(c.session_id)
    xs, _ = w.trend.markers.getData()
    assert sorted(xs.tolist()) == sorted(to_epoch(e.at) for e in entries)
    tip = w.trend.marker_tip_at(c.t0 + 2760)
    assert tip is not None and "vomiting, grade 3" in tip and "by simulation (clinician)" in tip
    # the scatter's own hover tooltip is built from the same text
    point = next(p for p in w.trend.markers.points() if p.pos().x() == c.t0 + 2760)
    assert w.trend.markers.opts["tip"](x=point.pos().x(), y=point.pos().y(), data=point.data()) == tip
    assert w.trend.marker_tip_at(c.t0 + 1500, within=30) is None


def test_clicking_the_trend_loads_exactly_that_wave_window(
    qtbot, window_for, db, review_record: ReviewRecord
) -> None:
    a = review_record.a
    w = window_for(a.session_id)
    t = a.start + 1800.0
    plot = w.trend.plots["HR"]
    scene_pos = plot.vb.mapViewToScene(QPointF(t, 80.0))
    view_pos = w.trend.mapFromScene(scene_pos)
    qtbot.mouseClick(w.trend.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert w.waves.window_start is not None
    clicked = w.trend.cursor_time()
    assert clicked == pytest.approx(t, abs=(a.end - a.start) / 500)  # one pixel or so
    start = w.waves.window_start
    assert start == pytest.approx(clicked - 5.0)
    x, y = w.waves.shown_samples(mdc.ECG_II)
    stored = db.waves(a.session_id, mdc.ECG_II, start, start + 10)
    assert np.array_equal(y, stored.samples)
    assert np.allclose(x, stored.times() - start)
    assert "full resolution" in w.waves.title.text()


def test_wave_scroll_moves_the_window(window_for, db, review_record: ReviewRecord) -> None:
    a = review_record.a
    w = window_for(a.session_id)
    w.trend.select_time(a.start + 600)
    w.waves.scroll.setValue(w.waves.scroll.value() + 10)
    assert w.waves.window_start == pytest.approx(a.start + 605)
    _, y = w.waves.shown_samples(mdc.PLETH)
    assert np.array_equal(y, db.waves(a.session_id, mdc.PLETH, a.start + 605, a.start + 615).samples)


def test_next_and_previous_event_buttons_and_keys(qtbot, window_for, review_record: ReviewRecord) -> None:
    c = review_record.c
    w = window_for(c.session_id)
    times = sorted({m.t for m in w.markers})
    first = w.step_event(+1)
    assert first is not None and first.t == times[0]
    qtbot.keyClick(w, Qt.Key.Key_N)
    assert w.trend.cursor_time() == times[1]
    w.next_button.click()
    assert w.trend.cursor_time() == times[2]
    qtbot.keyClick(w, Qt.Key.Key_P)
    assert w.trend.cursor_time() == times[1]
    assert "#" in w.event_label.text()


def test_log_tab_shows_amendment_beside_original(window_for, review_record: ReviewRecord) -> None:
    c = review_record.c
    w = window_for(c.session_id)
    table = w.log_table
    seqs = [table.cell_text(r, 0).strip() for r in range(table.rowCount())]
    assert table.rowCount() == 14
    i = seqs.index("8")
    assert "CADSS-6 10" in table.cell_text(i, 6) and table.cell_text(i, 8) == "amended by #13"
    assert seqs[i + 1].endswith("13") and table.cell_text(i + 1, 8) == "amends #8"
    assert "miscounted item 6" in table.cell_text(i + 1, 6)
    late_row = seqs.index("14")
    assert table.cell_text(late_row, 7) == "LATE"
    assert table.cell_text(late_row, 3) == "simulation" and table.cell_text(late_row, 4) == "clinician"
    assert table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers


def test_verify_intact_and_audit_tab_records_it(qtbot, window_for, review_record: ReviewRecord) -> None:
    w = window_for(review_record.a.session_id)
    actions = [w.audit_table.cell_text(r, 3) for r in range(w.audit_table.rowCount())]
    assert "login" in actions and "user_add" in actions
    with qtbot.waitSignal(w.verified, timeout=20000) as sig:
        w.verify_button.click()
    message, ok = sig.args
    assert ok and message.startswith("Record intact:") and w.verify_label.text() == message
    last = w.audit_table.rowCount() - 1
    assert w.audit_table.cell_text(last, 3) == "verify"
    assert w.audit_table.cell_text(last, 1) == "audrey"
    assert w.audit_table.cell_text(last, 4) == f"session {review_record.a.session_id}"
    w.audit_only_session.setChecked(True)
    targets = {w.audit_table.cell_text(r, 4) for r in range(w.audit_table.rowCount())}
    assert targets == {f"session {review_record.a.session_id}"}
    w.audit_only_session.setChecked(False)
    w.audit_kind.setCurrentIndex(w.audit_kind.findData("login"))
    shown = {w.audit_table.cell_text(r, 3) for r in range(w.audit_table.rowCount())}
    assert shown == {"login"}
    w.audit_kind.setCurrentIndex(w.audit_kind.findData("configuration"))
    shown = {w.audit_table.cell_text(r, 3) for r in range(w.audit_table.rowCount())}
    assert shown == {"user_add"}
    assert not w.jobs.busy


def test_verify_reports_the_first_tampered_entry(
    qtbot, window_for, db_copy, review_record: ReviewRecord
) -> None:
    c = review_record.c
    # a side effect downgraded behind the application's back (raw SQL)
    tamper(
        db_copy,
        "UPDATE entries SET data_json = replace(data_json, :a, :b) WHERE session_id = :s AND seq = 9",
        a='"grade":3',
        b='"grade":2',
        s=c.session_id,
    )
    with db_copy.engine.connect() as conn:
        changed = conn.execute(
            text("SELECT data_json FROM entries WHERE session_id = :s AND seq = 9"), {"s": c.session_id}
        ).scalar()
    assert '"grade":2' in changed
    w = window_for(c.session_id, db_copy)
    with qtbot.waitSignal(w.verified, timeout=20000) as sig:
        w.start_verify()
    message, ok = sig.args
    assert not ok
    assert message.startswith("NOT INTACT: entry #9 first fails: changed: its content differs")
    assert "now reads: Side effect: vomiting, grade 2" in message  # what the tampered row says now
    assert "NOT INTACT" in w.verify_label.text()


def test_auditor_has_no_write_controls_and_the_service_refuses(
    window_for, db, auditor, review_record: ReviewRecord
) -> None:
    c = review_record.c
    w = window_for(c.session_id)
    editable = [e for e in w.findChildren(QLineEdit) if not e.isReadOnly()]
    editable += [
        e for kind in (QTextEdit, QPlainTextEdit) for e in w.findChildren(kind) if not e.isReadOnly()
    ]
    assert editable == []
    words = {b.text().lower() for b in w.findChildren(QPushButton)}
    assert not any(k in t for t in words for k in ("sign", "amend", "add", "save", "delete", "edit"))
    assert "read-only" in w.readonly_badge.text().lower()
    svc = db.service(auditor)
    with pytest.raises(PermissionDenied):
        svc.add_entry(c.session_id, "note", {"text": "auditor note"})
    with pytest.raises(PermissionDenied):
        svc.amend(c.session_id, c.ids["late_note"], "reason", {"text": "changed"})
    with pytest.raises(PermissionDenied):
        svc.sign(c.session_id, "correct horse 1")
    assert len(svc.entries(c.session_id)) == 14


def test_demo_session_is_marked(window_for, review_record: ReviewRecord) -> None:
    w = window_for(review_record.a.session_id)
    assert w.demo_badge.isVisible() and "DEMO" in w.demo_badge.text()
    assert "DEMO" in w.windowTitle()


def test_export_runs_in_the_background_and_errors_are_plain(
    qtbot, window_for, tmp_path: Path, review_record: ReviewRecord
) -> None:
    w = window_for(review_record.c.session_id)
    out = tmp_path / "c.json"
    with qtbot.waitSignal(w.exportFinished, timeout=30000) as sig:
        w.start_export("json", out)
    assert sig.args == [f"Exported to {out}", True]
    assert out.is_file() and out.stat().st_size > 0
    assert not w.progress.isVisible()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    bad = blocker / "c.json"  # a folder that is a file: cannot be written
    with qtbot.waitSignal(w.exportFinished, timeout=30000) as sig:
        w.start_export("json", bad)
    message, ok = sig.args
    assert not ok and message.startswith("Export failed:") and "Traceback" not in message
    assert w.status.text() == message and w.export_button.isEnabled()


def test_closing_stops_the_background_threads(
    qtbot, window_for, tmp_path: Path, review_record: ReviewRecord
) -> None:
    w = window_for(review_record.a.session_id)
    w.start_verify()
    assert w.jobs.busy
    w.close()
    assert not w.jobs.busy


def test_zoom_and_pan_move_every_row_together(window_for, review_record: ReviewRecord) -> None:
    a = review_record.a
    w = window_for(a.session_id)
    w.trend.show_range(a.start + 600, a.start + 900)
    for key in ("EVENTS", "HR", "SPO2", "RR", "ETCO2", "NIBP"):
        lo, hi = w.trend.plots[key].viewRange()[0]
        assert (lo, hi) == pytest.approx((a.start + 600, a.start + 900))
    assert w.trend.plots["HR"].viewRange()[1] == [30.0, 170.0]  # y stays fixed
    w.all_button.click()
    lo, hi = w.trend.visible_range()
    assert lo <= a.start and hi >= a.end - 60


def test_scrubbing_the_cursor_loads_the_waves_where_it_is_dropped(window_for, db, review_record) -> None:
    a = review_record.a
    w = window_for(a.session_id)
    w.trend.select_time(a.start + 300)
    line = w.trend.cursors[2]
    line.setValue(a.start + 2000)  # dragged...
    assert w.trend.cursors[0].value() == a.start + 2000  # every row's cursor follows
    line.sigPositionChangeFinished.emit(line)  # ...and dropped
    assert w.waves.window_start == pytest.approx(a.start + 1995)
    _, y = w.waves.shown_samples(mdc.RESP_WAVE)
    assert np.array_equal(y, db.waves(a.session_id, mdc.RESP_WAVE, a.start + 1995, a.start + 2005).samples)


def test_export_progress_reaches_the_bar(
    qtbot, window_for, tmp_path: Path, monkeypatch, review_record
) -> None:
    from console import exports

    def fake_export(db, session_id, fmt, out, progress=None, *, exported_by=None):
        for i, what in enumerate(("reading the record", "drawing trends", "writing"), start=1):
            progress(i, 3, what)
        Path(out).write_text(f"{fmt} of session {session_id} by {exported_by.username}")

    monkeypatch.setattr(exports, "export_session", fake_export)
    w = window_for(review_record.c.session_id)
    out = tmp_path / "c.pdf"
    with qtbot.waitSignal(w.exportFinished, timeout=30000) as sig:
        w.format_combo.setCurrentIndex(w.format_combo.findData("pdf"))
        w.start_export(w.format_combo.currentData(), out)
    assert sig.args[1] is True
    assert out.read_text() == f"pdf of session {review_record.c.session_id} by audrey"
    assert (w.progress.maximum(), w.progress.value()) == (3, 3)


def test_a_session_without_vitals_spans_to_its_last_entry(window_for, review_record) -> None:
    c = review_record.c
    w = window_for(c.session_id)
    lo, hi = w.trend.visible_range()
    # the last marker (the amendment) is 3200 s after the start; the late note describes 3000 s
    assert lo <= c.t0 and hi >= c.t0 + 3200 + 60
    assert w.trend.curves["HR"].getData()[0] is None or w.trend.curves["HR"].getData()[0].size == 0


def test_unparseable_entry_data_still_opens_and_fails_verification(
    qtbot, window_for, db_copy, review_record
) -> None:
    c = review_record.c
    tamper(
        db_copy,
        "UPDATE entries SET data_json = '{\"text\": ' WHERE session_id = :s AND seq = 14",
        s=c.session_id,
    )
    w = window_for(c.session_id, db_copy)
    assert w.log_table.rowCount() == 14
    last = [w.log_table.cell_text(r, 0).strip() for r in range(14)].index("14")
    assert w.log_table.cell_text(last, 5) == "Note"
    with qtbot.waitSignal(w.verified, timeout=20000) as sig:
        w.start_verify()
    assert sig.args[1] is False and sig.args[0].startswith("NOT INTACT: entry #14 first fails: changed")
