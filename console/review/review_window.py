"""The review window: one saved session, read-only, on one timeline.

* Timeline tab: trends of HR, SpO2, RR, EtCO2 and NIBP (a bar from diastolic to systolic at each measurement)
  over the whole session, with a lane of markers for dosing, observations, side effects, alarms, amendments
  and signatures (hover shows the entry). Clicking or scrubbing loads the waveforms of that moment (10 s, full
  resolution) from the database, just for that window; the scroll bar under the waves moves the window.
  Previous/next event buttons (keys P/N, or [ and ]) jump between markers; the wheel zooms and dragging pans.
* Log tab: every entry with who, role, when entered, the time it describes and a late marker; amendments
  directly under the entry they correct, which stays as recorded.
* Audit trail tab: logins, configuration changes, verify runs, exports.
* Verify (background thread) and Export (format + file, background thread with a progress bar).

The window has no control that writes clinical data; it only reads through the service (and the audited
verify/export, which add audit-trail rows, as they must).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.app import Theme, load_theme
from console.record.records import AuditRecord, VerifyResult
from console.review.log_model import COLUMNS, log_rows, read_entries
from console.review.timeline import (
    CATEGORIES,
    CATEGORY_WORDS,
    Marker,
    describe_entry,
    local_datetime,
    markers_from_entries,
    nearest_marker,
    next_marker,
)
from console.review.trends import (
    NIBP_RANGE,
    TREND_PARAMETERS,
    WAVE_CHANNELS,
    device_alarms,
    load_trends,
    load_wave_window,
)
from console.review.workers import JobRunner
from console.session_panel.summary import KIND_WORDS
from widgets.entry_table import EntryTable
from widgets.trend_plot import MarkerLane, TrendPlot, TrendRow
from widgets.wave_viewer import WaveViewer

CATEGORY_COLOURS: dict[str, str] = {
    "infusion": "#4da3ff",
    "observation": "#c792ea",
    "side_effect": "#ff9f1a",
    "alarm": "#e8202a",
    "amendment": "#f5c400",
    "signature": "#33cc66",
    "other": "#9aa3ad",
    "overdue": "#ff5fa2",
}
CATEGORY_SYMBOLS: dict[str, str] = {
    "infusion": "s",
    "observation": "o",
    "side_effect": "d",
    "alarm": "t",
    "amendment": "star",
    "signature": "p",
    "other": "o",
    "overdue": "x",
}
AUDIT_COLUMNS: tuple[str, ...] = ("When", "User", "Role", "Action", "Target", "Detail", "Change")
OK_COLOUR, BAD_COLOUR = "#33cc66", "#ff4d4d"


def verify_text(result: VerifyResult, now_reads: str = "") -> str:
    """What the window says about a verify run, in plain words; ``now_reads`` describes what the first failing
    entry holds now (its earlier content cannot be recovered from a hash, only shown to differ)."""
    if result.ok:
        return (
            f"Record intact: {result.entries_checked} entries checked, every hash matches "
            "(nothing was changed, removed or reordered since it was written)."
        )
    p = result.first_problem
    assert p is not None
    where = f"entry #{p.seq}" if p.seq is not None else "the session header"
    more = f" ({len(result.problems)} problems in total)" if len(result.problems) > 1 else ""
    text = f"NOT INTACT: {where} first fails: {p.what}: {p.detail}{more}."
    return f"{text} The stored entry now reads: {now_reads}" if now_reads else text


AUDIT_KINDS: tuple[tuple[str, str], ...] = (
    ("", "all records"),
    ("login", "logins and failed logins"),
    ("configuration", "configuration and user changes"),
    ("verify", "verify runs"),
    ("export", "exports"),
    ("session", "session events (start, sign, resume, close)"),
)


def audit_kind(action: str) -> str:
    """The group of an audit action for the audit tab's filter."""
    if action.startswith("login") or action.endswith("_failed"):
        return "login"
    if action.startswith(("device_profile", "protocol", "user_", "config", "site")):
        return "configuration"
    if action in ("verify", "export"):
        return action
    if action.startswith("session") or action in ("sign", "patient_add"):
        return "session"
    return "other"


def _audit_change(a: AuditRecord) -> str:
    def short(v: Any) -> str:
        text = json.dumps(v, default=str, sort_keys=True)
        return text if len(text) <= 120 else text[:117] + "..."

    if a.before is None and a.after is None:
        return ""
    if a.before is None:
        return short(a.after)
    return f"{short(a.before)} -> {short(a.after)}"


class ReviewWindow(QWidget):
    """Read-only review of one session for any role (auditors included)."""

    #: emitted after a verify run with its text and whether the record is intact
    verified = Signal(str, bool)
    #: emitted when an export ends: (message, ok)
    exportFinished = Signal(str, bool)

    def __init__(
        self,
        db: Any,
        user: Any,
        session_id: int,
        *,
        theme: Theme | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.user = user
        self.svc = db.service(user)
        self.session_id = session_id
        self.theme = theme or load_theme()
        self.jobs = JobRunner(self)
        self.markers: list[Marker] = []
        self.info = self.svc.session(session_id)
        self.entries = read_entries(db, self.svc, session_id)
        self.setWindowTitle(f"Review session {session_id}" + (" (DEMO)" if self.info.demo else ""))
        self._build()
        self._load()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        th = self.theme
        info = self.info
        self.setStyleSheet(
            f"QLabel#header {{ font-size: 15pt; font-weight: bold; color: {th.text}; }}"
            f"QLabel#subheader {{ font-size: 11pt; color: {th.dim_text}; }}"
            f"QLabel#demo {{ background: {th.demo}; color: #000; font-weight: bold; "
            "font-size: 13pt; padding: 2px 10px; }"
            "QLabel#readonly { border: 1px solid #9aa3ad; color: #e8e8e8; padding: 2px 8px; }"
        )
        self.header = QLabel(
            f"Session {info.id}  \u00b7  patient {info.patient_code}  \u00b7  "
            f"{info.display_status.replace('_', ' ').upper()}"
        )
        self.header.setObjectName("header")
        started = local_datetime(info.started_at)
        ended = local_datetime(info.ended_at) if info.ended_at else "not ended"
        self.subheader = QLabel(
            f"Protocol {info.protocol_id} version {info.protocol_version}  \u00b7  chair "
            f"{info.chair or '-'}  \u00b7  started {started} by {info.started_by}  \u00b7  "
            f"ended {ended}  \u00b7  {info.entry_count} entries  \u00b7  times are local"
        )
        self.subheader.setObjectName("subheader")
        self.demo_badge = QLabel("DEMO / SIMULATED DATA - not a patient record")
        self.demo_badge.setObjectName("demo")
        self.demo_badge.setVisible(bool(info.demo))
        self.readonly_badge = QLabel(f"READ-ONLY REVIEW  ({self.user.username}, {self.user.role})")
        self.readonly_badge.setObjectName("readonly")
        # long header lines wrap instead of widening the window past a laptop screen (1366 px)
        for label in (self.header, self.subheader, self.demo_badge, self.readonly_badge):
            label.setWordWrap(True)
        self.demo_badge.setMaximumWidth(320)
        self.readonly_badge.setMaximumWidth(260)

        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.header)
        titles.addWidget(self.subheader)
        top.addLayout(titles, 1)
        top.addWidget(self.demo_badge)
        top.addWidget(self.readonly_badge)

        self.prev_button = QPushButton("\u25c0 Previous event (P)")
        self.next_button = QPushButton("Next event (N) \u25b6")
        self.all_button = QPushButton("Whole session")
        self.verify_button = QPushButton("Verify integrity")
        self.format_combo = QComboBox()
        from console import exports

        for f in exports.formats():  # the one export registry (the CLI lists the same)
            self.format_combo.addItem(f.title, f.name)
        self.export_button = QPushButton("Export...")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(220)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setVisible(False)  # shown once there is something to say (export, no further event)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verify_label = QLabel("Integrity not checked in this window yet.")
        self.verify_label.setWordWrap(True)
        self.verify_label.setStyleSheet(f"color: {th.dim_text}; font-size: 11pt;")
        bar = QHBoxLayout()
        for w in (self.prev_button, self.next_button, self.all_button):
            bar.addWidget(w)
        bar.addWidget(self.verify_label, 1)  # beside the buttons: one row less on a 768-high screen
        bar.addWidget(self.verify_button)
        bar.addWidget(QLabel("Export as"))
        bar.addWidget(self.format_combo)
        bar.addWidget(self.export_button)
        bar.addWidget(self.progress)

        # timeline tab
        lanes = [
            MarkerLane(c, CATEGORY_WORDS[c], CATEGORY_COLOURS[c], CATEGORY_SYMBOLS[c]) for c in CATEGORIES
        ]
        rows = [TrendRow(key, label, "", rng, th.colour(key)) for key, _, label, _, rng in TREND_PARAMETERS]
        nibp = TrendRow("NIBP", "NIBP", "", NIBP_RANGE, th.colour("NIBP"), height=2)
        self.trend = TrendPlot(rows, lanes, nibp_row=nibp, background=th.background, text_colour=th.dim_text)
        self.waves = WaveViewer(
            [(c, label, th.colour(key)) for c, label, key in WAVE_CHANNELS],
            background=th.background,
            text_colour=th.dim_text,
        )
        self.event_label = QLabel(
            "Hover a marker to see its entry; click anywhere to see that moment's waveforms."
        )
        self.event_label.setWordWrap(True)
        self.event_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.event_label.setStyleSheet(f"color: {th.text}; background: {th.panel}; padding: 4px;")
        legend = "  ".join(
            f"<span style='color:{CATEGORY_COLOURS[c]}'>\u25a0 {CATEGORY_WORDS[c]}</span>" for c in CATEGORIES
        )
        units = ", ".join(f"{label} {unit}" for _, _, label, unit, _ in TREND_PARAMETERS)
        self.legend = QLabel(
            legend + f"  <span style='color:{th.colour('NIBP')}'>\u2502 NIBP sys-dia</span>"
            f"  <span style='color:{th.dim_text}'>\u00b7  units: {units}, NIBP mmHg</span>"
        )
        self.legend.setWordWrap(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.trend)
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.event_label)
        ll.addWidget(self.waves, 1)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([560, 400])
        timeline = QWidget()
        tl = QVBoxLayout(timeline)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.legend)
        tl.addWidget(split, 1)

        # log and audit tabs
        self.log_table = EntryTable(COLUMNS, stretch_column=6)
        self.audit_only_session = QCheckBox("Only this session's records")
        self.audit_table = EntryTable(AUDIT_COLUMNS, stretch_column=6)
        audit = QWidget()
        al = QVBoxLayout(audit)
        self.audit_kind = QComboBox()
        for key, kind_label in AUDIT_KINDS:
            self.audit_kind.addItem(kind_label, key)
        audit_bar = QHBoxLayout()
        audit_bar.addWidget(QLabel("Show"))
        audit_bar.addWidget(self.audit_kind)
        audit_bar.addWidget(self.audit_only_session)
        audit_bar.addStretch(1)
        al.addLayout(audit_bar)
        al.addWidget(self.audit_table, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(timeline, "Timeline")
        self.tabs.addTab(self.log_table, "Log")
        self.tabs.addTab(audit, "Audit trail")

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(bar)
        lay.addWidget(self.status)
        lay.addWidget(self.tabs, 1)

        self.prev_button.clicked.connect(lambda: self.step_event(-1))
        self.next_button.clicked.connect(lambda: self.step_event(+1))
        self.all_button.clicked.connect(
            lambda: self.trend.set_span(self.trend_data.start, self.trend_data.end)
        )
        self.verify_button.clicked.connect(self.start_verify)
        self.export_button.clicked.connect(self._ask_export)
        self.audit_only_session.toggled.connect(lambda _: self._load_audit())
        self.audit_kind.currentIndexChanged.connect(lambda _: self._load_audit())
        self.trend.timeSelected.connect(self.show_moment)
        self.trend.markers.sigHovered.connect(self._on_marker_hover)
        self.waves.windowRequested.connect(self.load_waves)
        for keys, step in (("N", 1), ("]", 1), ("P", -1), ("[", -1)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda s=step: self.step_event(s))

    # ------------------------------------------------------------------ data
    def _load(self) -> None:
        from console.clinical._common import to_epoch

        start = to_epoch(self.info.started_at) or 0.0
        end = to_epoch(self.info.ended_at) if self.info.ended_at else None
        self.trend_data = load_trends(self.db, self.session_id, start, end)
        for key, ser in self.trend_data.series.items():
            self.trend.set_series(key, ser.t, ser.y)
        n = self.trend_data.nibp
        self.trend.set_nibp(n.t, n.sys, n.dia)
        self.markers = markers_from_entries(self.entries, device_alarms(self.db, self.session_id))
        self.trend.set_markers(
            [m.t for m in self.markers], [m.category for m in self.markers], [m.text for m in self.markers]
        )
        if self.markers and end is None:
            # a session without an end time (interrupted) spans at least to its last entry
            self.trend_data.end = max(self.trend_data.end, self.markers[-1].t + 60.0)
        self.trend.set_span(self.trend_data.start, self.trend_data.end)
        self.waves.set_span(self.trend_data.start, self.trend_data.end)
        rows = log_rows(self.entries)
        texts = {m.entry_id: m.text for m in self.markers if m.entry_id}
        self.log_table.set_rows(
            [r.cells() for r in rows],
            ["amendment" if r.is_amendment else "amended" if r.is_amended else "" for r in rows],
            [r.late for r in rows],
            [texts.get(r.entry_id, "") for r in rows],
        )
        self.log = rows
        self._load_audit()

    def _load_audit(self) -> None:
        records = self.svc.audit_trail()
        kind = self.audit_kind.currentData()
        if kind:
            records = [a for a in records if audit_kind(a.action) == kind]
        if self.audit_only_session.isChecked():
            target = f"session {self.session_id}"
            records = [a for a in records if a.target == target]
        self.audit_records = records
        self.audit_table.set_rows(
            [
                (local_datetime(a.at), a.username, a.role, a.action, a.target, a.detail, _audit_change(a))
                for a in records
            ]
        )
        self.audit_table.scrollToBottom()  # the newest records are last: keep them in view

    # ------------------------------------------------------------------ timeline interaction
    def show_moment(self, t: float) -> None:
        """Cursor to ``t``, the nearest marker's entry described, and the waves around ``t`` loaded."""
        self.trend.set_cursor(t)
        a, b = self.trend.visible_range()
        m = nearest_marker(self.markers, t, max(1.0, (b - a) * 0.01))
        self.event_label.setText(m.text if m else f"{local_datetime(t)}: no entry at this moment")
        self.load_waves(self.waves.window_for(t))

    def _say(self, text: str, colour: str | None = None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour};" if colour else "")
        self.status.setVisible(bool(text))

    def load_waves(self, start: float) -> None:
        """Read just the waves of [start, start + 10 s) from the database and show them."""
        win = load_wave_window(self.db, self.session_id, start, start + self.waves.window_s)
        self.waves.show_window(start, win.channels)

    def step_event(self, direction: int) -> Marker | None:
        """Move to the next (+1) or previous (-1) marker from the cursor; pans the trend if needed."""
        cur = self.trend.cursor_time()
        if cur is None:
            cur = self.trend_data.start - 1.0 if direction > 0 else self.trend_data.end + 1.0
        m = next_marker(self.markers, cur, direction)
        if m is None:
            self._say("No further event in that direction.")
            return None
        a, b = self.trend.visible_range()
        if not a <= m.t <= b:
            half = (b - a) / 2
            self.trend.show_range(m.t - half, m.t + half)
        self.show_moment(m.t)
        self.event_label.setText(m.text)
        return m

    def _on_marker_hover(self, _item: Any, points: Any, _ev: Any) -> None:
        if len(points):
            self.event_label.setText(str(points[0].data()))

    # ------------------------------------------------------------------ verify
    def start_verify(self) -> None:
        """Run ``Database.verify`` for this session in a background thread (the run is audit logged)."""
        if self.jobs.busy:
            return
        self.verify_button.setEnabled(False)
        self.verify_label.setText("Verifying the hash chain ...")
        db, sid, user = self.db, self.session_id, self.user
        svc = self.svc

        def run(progress: Any) -> tuple[VerifyResult, str]:
            result = db.verify(sid, actor=user)
            p = result.first_problem
            now_reads = ""
            if p is not None and p.entry_id:
                try:
                    e = svc.entry(p.entry_id)
                    now_reads = (
                        f"{KIND_WORDS.get(e.kind, e.kind)}: {describe_entry(e)} (describes "
                        f"{local_datetime(e.at)}, entered {local_datetime(e.entered_at)} by {e.username})"
                    )
                except Exception:  # noqa: BLE001 - a row too damaged to read is reported by the chain anyway
                    now_reads = "(the entry cannot be read)"
            return result, now_reads

        self.jobs.start(
            run,
            on_success=self._verified,
            on_failure=self._verify_failed,
        )

    def _verified(self, outcome: tuple[VerifyResult, str]) -> None:
        result, now_reads = outcome
        text = verify_text(result, now_reads)
        colour = OK_COLOUR if result.ok else BAD_COLOUR
        self.verify_label.setText(text)
        self.verify_label.setStyleSheet(f"color: {colour}; font-size: 12pt; font-weight: bold;")
        self.verify_button.setEnabled(True)
        self._load_audit()
        self.verified.emit(text, result.ok)

    def _verify_failed(self, message: str) -> None:
        self.verify_label.setText(f"Verification could not run: {message}")
        self.verify_label.setStyleSheet(f"color: {BAD_COLOUR}; font-size: 12pt;")
        self.verify_button.setEnabled(True)
        self.verified.emit(message, False)

    # ------------------------------------------------------------------ export
    def _ask_export(self) -> None:
        from console import exports

        fmt = self.format_combo.currentData()
        suffix = exports.get(fmt).suffix
        path, _ = QFileDialog.getSaveFileName(
            self, "Export session", f"session-{self.session_id}-{fmt}{suffix}"
        )
        if path:
            self.start_export(fmt, Path(path))

    def start_export(self, fmt: str, path: Path) -> None:
        """Export this session as ``fmt`` to ``path`` in a background thread with a progress bar."""
        if self.jobs.busy:
            self._say("Another job is still running; wait for it to finish.")
            return
        self.export_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._say(f"Exporting as {fmt} to {path} ...")
        db, sid, user = self.db, self.session_id, self.user

        def run(progress: Any) -> Path:
            from console import exports

            exports.export_session(db, sid, fmt, path, progress, exported_by=user)
            return path

        self.jobs.start(
            run, on_success=self._exported, on_failure=self._export_failed, on_progress=self._export_progress
        )

    def _export_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, total))
        self._say(f"Exporting: {what}")

    def _exported(self, path: Path) -> None:
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        msg = f"Exported to {path}"
        self._say(msg, OK_COLOUR)
        self._load_audit()
        self.exportFinished.emit(msg, True)

    def _export_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        msg = f"Export failed: {message}"
        self._say(msg, BAD_COLOUR)
        self.exportFinished.emit(msg, False)

    def keyPressEvent(self, event: Any) -> None:
        """N/] and P/[ step between events also when the shortcut did not get the key (no active window)."""
        step = {
            Qt.Key.Key_N: 1,
            Qt.Key.Key_BracketRight: 1,
            Qt.Key.Key_P: -1,
            Qt.Key.Key_BracketLeft: -1,
        }.get(Qt.Key(event.key()))
        if step is not None and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.step_event(step)
            event.accept()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        self.jobs.stop_all()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop background jobs (waits for a running verify/export to end)."""
        self.jobs.stop_all()
