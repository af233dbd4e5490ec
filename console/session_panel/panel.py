"""The session panel: the clinician's side panel at the chair.

It talks only to a record service (``create_patient``, ``start_session``, ``add_entry``, ``amend``, ``sign``,
``entries``; see ``console.record.service``), to ``latest_vitals()`` for the live monitor values and to
``take_bp()`` to start a cuff measurement. Every write is one quick local commit; nothing here sleeps, polls a
port or waits on I/O. One 1 Hz QTimer (running only while the panel is visible) moves the countdowns on and
records ``check_overdue`` once per late check.

A refused or failed write (``PermissionDenied``, ``StorageUnavailable``, bad data) is shown in plain words at the
top of the panel and next to the form, and the form keeps everything typed, so nothing is lost.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QScrollArea,
                               QSizePolicy, QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

from console.clinical._common import field, to_epoch
from console.clinical.amendments import EffectiveEntry, effective_entries
from console.clinical.discharge import CriterionResult, evaluate
from console.clinical.entries import (check_overdue_data, discharge_data, esketamine_dose_data, hold_override_data,
                                      infusion_pause_data, infusion_rate_data, infusion_resume_data,
                                      infusion_start_data, infusion_stop_data, note_data, observation_data)
from console.clinical.protocols import DosePlan, HoldCheck, Protocol, ProtocolLibrary
from console.clinical.rems import RemsForm, fill_rems
from console.clinical.scales import ScaleLibrary
from console.clinical.schedule import (DeviceGate, ScheduleStatus, Timeline, compute_schedule, device_gate,
                                       logged_overdue_keys, records_from_entries, timeline_from_entries)
from console.clinical.side_effects import Catalogue, load_catalogue
from console.clinical.vitals import bp_from_snapshot, vitals_snapshot
from console.session_panel.amend_form import NOT_AMENDABLE, AmendForm
from console.session_panel.discharge_form import DischargeForm
from console.session_panel.dosing import DosingControls
from console.session_panel.failures import failure_message
from console.session_panel.precheck_form import PrecheckForm
from console.session_panel.start_form import StartRequest, StartSessionForm, age_on
from console.session_panel.style import MESSAGE_STYLES, PANEL_QSS
from console.session_panel.summary import entry_summary
from console.signoff_dialog import SignoffDialog
from widgets.countdown import CountdownLabel
from widgets.scale_form import ScaleForm
from widgets.side_effect_form import SideEffectForm

#: quick actions: key, button text, shortcut
QUICK_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("moaas", "MOAA/S", "F2"),
    ("cadss6", "CADSS-6", "F3"),
    ("side_effect", "Side effect", "F4"),
    ("note", "Note", "F5"),
    ("bp", "Take BP now", "F6"),
)
#: a NIBP reading older than this before the session started is not taken as its baseline
BASELINE_LOOKBACK_S = 30 * 60.0
#: a failed check_overdue write is retried after this many seconds (not on every tick)
OVERDUE_RETRY_S = 30.0
PAGE_START, PAGE_SESSION, PAGE_FORM = 0, 1, 2
#: missed checks listed under the countdown (all of them are in the entry list as check_overdue)
MISSED_SHOWN = 3


def _scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    # forms are laid out to the panel's width: a sideways scroll would hide half of a question
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class NoteForm(QWidget):
    """Free-text note."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.text = QLineEdit()
        self.text.setPlaceholderText("note")
        layout.addWidget(self.text)
        layout.addStretch(1)

    def data(self) -> dict[str, Any]:
        return note_data(self.text.text())

    def is_empty(self) -> bool:
        return not self.text.text().strip()


class SessionPanel(QWidget):
    """Side panel for one chair. Give it the service, ``latest_vitals`` and ``take_bp`` callables."""

    entry_added = Signal(object)
    session_started = Signal(object)
    session_signed = Signal(object)

    def __init__(self, service: Any, *, latest_vitals: Callable[[], dict[int, Any]] | None = None,
                 take_bp: Callable[[], Any] | None = None, protocols: ProtocolLibrary | None = None,
                 scales: ScaleLibrary | None = None, catalogue: Catalogue | None = None,
                 clock: Callable[[], float] = time.time, chair: str = "",
                 devices: Callable[[], list[Any]] | None = None, demo: bool = False,
                 user_name: str | None = None, rems_context: dict[str, Any] | None = None,
                 outbox: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionPanel")
        self.setStyleSheet(PANEL_QSS)
        self.svc = service
        #: optional ``console.record.EntryOutbox``: when the database is unavailable an entry is kept on this
        #: computer and written later instead of being refused, so the clinician need not enter it again
        self.outbox = outbox
        self.latest_vitals = latest_vitals or (lambda: {})
        self.take_bp = take_bp
        self.protocols = protocols or ProtocolLibrary.builtin()
        self.scales = scales or ScaleLibrary.builtin()
        self.catalogue = catalogue or load_catalogue()
        self.clock = clock
        self.devices = devices or (lambda: [])
        user = getattr(service, "user", None)
        self.demo = bool(demo or getattr(user, "demo", False))
        self.user_name = user_name or getattr(user, "full_name", None) or getattr(user, "username", None) or ""
        #: REMS form details the record does not hold: {"provider": {name, phone, email}, "setting": {name, address}}
        self.rems_context = dict(rems_context or {})

        self.session: Any = None
        self.patient: Any = None
        self.protocol: Protocol | None = None
        self.plan: DosePlan | None = None
        self.age_years: float | None = None
        self.weight_kg: float | None = None
        self.signed = False
        #: signed at least once: no new entries, only corrections (the record refuses the rest)
        self.sealed = False
        self._entries: list[Any] = []
        self._bp_readings: dict[float, tuple[float, float]] = {}
        self._overdue_attempted: dict[str, float] = {}
        self._drafts: dict[str, QWidget] = {}
        self._form_key: str | None = None
        self.status: ScheduleStatus | None = None
        self.precheck: PrecheckForm | None = None
        self.dosing: DosingControls | None = None
        self.discharge: DischargeForm | None = None
        self.signoff_dialog: SignoffDialog | None = None

        self.timer = QTimer(self)
        self.timer.setObjectName("sessionPanelTick")
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)

        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.addWidget(self._build_header())
        self.message_label = QLabel()
        self.message_label.setObjectName("panelMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)
        self.message_kind = ""
        root.addWidget(self.message_label)
        self.stack = QStackedWidget()
        root.addWidget(self.stack, 1)

        self.start_form = StartSessionForm(self.protocols, chair=chair)
        self.start_form.start_requested.connect(self.start_from_request)
        self.stack.addWidget(_scroll(self.start_form))
        self.stack.addWidget(self._build_session_page())
        self.stack.addWidget(self._build_form_page())
        self.stack.setCurrentIndex(PAGE_START)
        self._build_actions()
        self._update_header()

    # ------------------------------------------------------------------------------------------------ building
    def _build_header(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.title_label = QLabel("No session")
        self.title_label.setObjectName("sessionTitle")
        self.title_label.setWordWrap(True)
        self.demo_badge = QLabel("DEMO")
        self.demo_badge.setObjectName("demoBadge")
        self.demo_badge.setToolTip("Demo session: simulated data, not a patient record")
        row.addWidget(self.title_label, 1)
        row.addWidget(self.demo_badge, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        self.protocol_label = QLabel("")
        self.plan_label = QLabel("")
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.state_label = QLabel("")
        self.state_label.setObjectName("sessionState")
        f = self.state_label.font()
        f.setPointSize(13)
        f.setBold(True)
        self.state_label.setFont(f)
        layout.addWidget(self.protocol_label)
        layout.addWidget(self.plan_label)
        layout.addWidget(self.state_label)
        return box

    def _build_session_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        grid = QGridLayout()
        self.quick: dict[str, QPushButton] = {}
        for n, (key, text, shortcut) in enumerate(QUICK_ACTIONS):
            b = QPushButton(f"{text}\n{shortcut}")
            b.setObjectName("quickAction")
            b.setToolTip(f"{text} ({shortcut})")
            b.clicked.connect(lambda _=False, k=key: self.trigger(k))
            grid.addWidget(b, n // 3, n % 3)
            self.quick[key] = b
        if self.take_bp is None:
            self.quick["bp"].setEnabled(False)
            self.quick["bp"].setToolTip("No monitor can take a BP on request here")
        layout.addLayout(grid)
        # the other chair-side ratings (RASS, the 0-10 detachment rating, a licensed full CADSS)
        more = QHBoxLayout()
        self.more_ratings: dict[str, QPushButton] = {}
        quick_ids = {k for k, _, _ in QUICK_ACTIONS}
        for scale in sorted(self.scales, key=lambda sc: (sc.additional_only, sc.title)):
            if scale.purpose in ("sedation", "dissociation") and scale.id not in quick_ids:
                b = QPushButton(scale.title + (" (additional)" if scale.additional_only else ""))
                b.clicked.connect(lambda _=False, k=scale.id: self.open_form(k))
                more.addWidget(b)
                self.more_ratings[scale.id] = b
        layout.addLayout(more)
        self.countdown = CountdownLabel()
        layout.addWidget(self.countdown)
        self.overdue_label = QLabel("")
        self.overdue_label.setObjectName("overdueList")
        self.overdue_label.setWordWrap(True)
        self.overdue_label.setVisible(False)
        layout.addWidget(self.overdue_label)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 4)
        entries_title = QLabel("Entries (latest first)")
        layout.addWidget(entries_title)
        self.entry_list = QListWidget()
        self.entry_list.setObjectName("entryList")
        f = self.entry_list.font()
        f.setPointSize(12)
        self.entry_list.setFont(f)
        self.entry_list.setMaximumHeight(220)
        self.entry_list.setToolTip("Double-click an entry to correct it (the original is kept)")
        self.entry_list.itemDoubleClicked.connect(
            lambda item: self.open_amend(self._entries[len(self._entries) - 1 - self.entry_list.row(item)]))
        layout.addWidget(self.entry_list, 1)
        return page

    def _build_form_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.form_title = QLabel("")
        self.form_title.setObjectName("sessionTitle")
        layout.addWidget(self.form_title)
        self.form_area = QStackedWidget()
        layout.addWidget(_scroll(self.form_area), 1)
        self.form_error = QLabel("")
        self.form_error.setObjectName("formError")
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet(MESSAGE_STYLES["error"])
        self.form_error.setVisible(False)
        layout.addWidget(self.form_error)
        row = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save_form)
        self.back_button = QPushButton("Back (keep)")
        self.back_button.setToolTip("Return to the session; what you entered is kept for later")
        self.back_button.clicked.connect(self.close_form)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard_form)
        row.addWidget(self.save_button, 2)
        row.addWidget(self.back_button, 1)
        row.addWidget(self.discard_button, 1)
        layout.addLayout(row)
        return page

    def _build_actions(self) -> None:
        self.shortcut_actions: dict[str, QAction] = {}
        for key, text, shortcut in QUICK_ACTIONS:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _=False, k=key: self.trigger(k))
            self.addAction(act)
            self.shortcut_actions[shortcut] = act

    # ------------------------------------------------------------------------------------------------ messages
    def show_message(self, text: str, kind: str = "info") -> None:
        """Show a message at the top of the panel (``info``, ``warning``, ``error`` or ``urgent``)."""
        self.message_kind = kind
        self.message_label.setText(text)
        self.message_label.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
        self.message_label.setVisible(bool(text))

    def clear_message(self) -> None:
        self.show_message("", "")

    def message(self) -> str:
        return self.message_label.text() if not self.message_label.isHidden() else ""

    # ------------------------------------------------------------------------------------------------ service
    def _submit(self, kind: str, data: dict[str, Any], what: str) -> Any | None:
        """Store one entry; on failure show why and return ``None`` (the caller keeps its form as it is).

        With an outbox, an entry the database cannot take right now is kept (journalled on disk) and written
        when storage is back; the panel says so plainly and counts it as entered.
        """
        if self.outbox is None:
            return self._write(lambda: self.svc.add_entry(self.session_id, kind, data), what)
        return self._write(lambda: self.outbox.add_entry(self.session_id, kind, data), what)

    def _confirm(self, entry: Any) -> None:
        """Tell the clinician the entry is in the record, or kept on this computer until the record is back."""
        if hasattr(entry, "hash") or self.outbox is None:
            self.show_message(f"Saved: {entry_summary(entry).strip()}", "info")
            return
        waiting = len(self.outbox.pending)
        self.show_message(f"The record database is unavailable: {entry_summary(entry).strip()} is kept on this "
                          f"computer and will be saved automatically ({waiting} waiting).", "warning")

    def _write(self, call: Callable[[], Any], what: str) -> Any | None:
        """Run one service write; on failure show why and return ``None``."""
        if self.session is None:
            self.show_message("Start a session first.", "warning")
            return None
        try:
            entry = call()
        except Exception as exc:  # noqa: BLE001 - every refusal becomes a message, the form stays filled
            text = failure_message(exc, what)
            self.show_message(text, "error")
            if self._form_key is not None:
                self.form_error.setText(text)
                self.form_error.setVisible(True)
            return None
        self._entries.append(entry)
        self.entry_added.emit(entry)
        return entry

    @property
    def session_id(self) -> Any:
        return getattr(self.session, "id", self.session)

    def entries(self) -> list[Any]:
        """Entries of the open session as this panel knows them (oldest first)."""
        return list(self._entries)

    # ------------------------------------------------------------------------------------------------ session
    def start_from_request(self, req: StartRequest) -> bool:
        """Find or add the patient and start the session; ``False`` (with the reason shown) on failure."""
        try:
            patient = None
            finder = getattr(self.svc, "find_patient", None)
            if finder is not None:
                patient = finder(req.patient_code)
            if patient is None:
                patient = self.svc.create_patient(req.patient_code, name=req.name, birth_date=req.birth_date,
                                                  sex=req.sex, weight_kg=req.weight_kg)
            today = _dt.datetime.fromtimestamp(self.clock()).date()
            birth = req.birth_date or getattr(patient, "birth_date", None)
            details = self.start_form.details(req, today)
            details["age_years"] = age_on(birth, today)
            details["demo"] = self.demo
            session = self.svc.start_session(getattr(patient, "id", patient), req.protocol.id,
                                             req.protocol.effective_version, req.chair,
                                             devices=list(self.devices()), details=details)
        except Exception as exc:  # noqa: BLE001
            text = failure_message(exc, "the session")
            self.start_form.error_label.setText(text)
            self.show_message(text, "error")
            return False
        self._open(session, patient, req.protocol, req.plan, req.weight_kg, age_on(birth, today), [])
        self.clear_message()
        self.session_started.emit(session)
        return True

    def open_session(self, session: Any, patient: Any = None) -> None:
        """Show an existing session (resumed after a restart): protocol and dose from its recorded details."""
        details = dict(getattr(session, "details", {}) or {})
        protocol = self.protocols.get(getattr(session, "protocol_id"))
        weight = details.get("weight_kg")
        plan = self._recorded_plan(details.get("dose_plan"))
        if plan is None:
            try:
                plan = protocol.plan(weight)
            except ValueError:
                plan = DosePlan(0.0)  # nothing recorded to rebuild it from; the header then shows no dose
        entries = list(self.svc.entries(getattr(session, "id", session)))
        self._open(session, patient, protocol, plan, weight, details.get("age_years"), entries)

    @staticmethod
    def _recorded_plan(raw: Any) -> DosePlan | None:
        """The dose plan stored in the session details at start, if it is readable."""
        if not isinstance(raw, dict) or not isinstance(raw.get("dose_mg"), (int, float)):
            return None
        try:
            return DosePlan(**{k: v for k, v in raw.items() if k in DosePlan.__slots__})
        except TypeError:
            return None

    def _open(self, session: Any, patient: Any, protocol: Protocol, plan: DosePlan, weight: float | None,
              age: float | None, entries: list[Any]) -> None:
        self.session, self.patient, self.protocol, self.plan = session, patient, protocol, plan
        self.weight_kg, self.age_years = weight, age
        self.demo = self.demo or bool(getattr(session, "demo", False)) or bool(getattr(patient, "demo", False))
        kinds = [field(e, "kind") for e in entries]
        self.sealed = "signature" in kinds
        # signed now = a signature after the last correction
        self.signed = self.sealed and max(i for i, k in enumerate(kinds) if k == "signature") > max(
            (i for i, k in enumerate(kinds) if k == "amendment"), default=-1)
        self._entries = list(entries)
        self._bp_readings.clear()
        self._overdue_attempted.clear()
        self._drafts.clear()
        self._build_tabs()
        self.stack.setCurrentIndex(PAGE_SESSION)
        if self.isVisible() and not self.sealed:
            self.timer.start()
        self.refresh()

    def _build_tabs(self) -> None:
        while self.tabs.count():
            w = self.tabs.widget(0)
            self.tabs.removeTab(0)
            w.deleteLater()
        assert self.protocol is not None and self.plan is not None
        self.precheck = PrecheckForm(self.scales, route=self.protocol.route)
        self.precheck.save_requested.connect(self.save_precheck)
        self.precheck.take_bp_button.clicked.connect(self.take_bp_now)
        self.precheck.take_bp_button.setEnabled(self.take_bp is not None)
        self.precheck.phq9.changed.connect(self._questionnaire_changed)
        self.precheck.gad7.changed.connect(self._questionnaire_changed)
        self.dosing = DosingControls(self.protocol, self.plan)
        self.dosing.override_requested.connect(self.record_override)
        self.dosing.start_requested.connect(self.start_dosing)
        self.dosing.pause_requested.connect(self.pause_infusion)
        self.dosing.resume_requested.connect(self.resume_infusion)
        self.dosing.rate_requested.connect(self.change_rate)
        self.dosing.stop_requested.connect(self.stop_infusion)
        self.dosing.device_requested.connect(self.give_device)
        self.discharge = DischargeForm()
        self.discharge.discharge_requested.connect(self.record_discharge)
        self.discharge.signoff_requested.connect(self.open_signoff)
        self.discharge.confirmations_changed.connect(self._update_discharge)
        self.tabs.addTab(_scroll(self.precheck), "Pre-check")
        self.tabs.addTab(_scroll(self.dosing), "Dosing")
        self.tabs.addTab(_scroll(self.discharge), "Discharge")

    # ------------------------------------------------------------------------------------------------ state
    def effective(self) -> list[EffectiveEntry]:
        """Entries with corrections applied: what the schedule, checklist and forms judge."""
        return effective_entries(self._entries)

    def timeline(self) -> Timeline:
        assert self.protocol is not None
        return timeline_from_entries(self.effective(), self.protocol)

    def _baseline_total(self, scale_id: str, timeline: Timeline) -> int | None:
        """The last total of ``scale_id`` recorded before dosing started (the pre-dose score)."""
        if timeline.start is None:
            return None
        best = None
        for e in self.effective():
            data = field(e, "data") or {}
            at = to_epoch(field(e, "at"))
            if field(e, "kind") == "observation" and data.get("scale") == scale_id and at is not None \
                    and at <= timeline.start:
                best = data.get("total")
        return best

    def _baseline_snapshot(self) -> dict[str, Any]:
        for e in reversed(self.effective()):
            if field(e, "kind") == "precheck":
                return (field(e, "data") or {}).get("baseline_vitals") or {}
        return {}

    def hold_check(self) -> HoldCheck | None:
        """The pre-dose BP check: from the recorded baseline, else the live monitor."""
        if self.protocol is None:
            return None
        bp = bp_from_snapshot(self._baseline_snapshot()) or bp_from_snapshot(vitals_snapshot(self._vitals()))
        return self.protocol.check_predose_bp(bp[0] if bp else None, bp[1] if bp else None, self.age_years)

    def hold_resolved(self) -> bool:
        return any(field(e, "kind") == "hold_override" for e in self.effective())

    def device_gate(self, now: float | None = None) -> DeviceGate | None:
        if self.protocol is None or not self.protocol.uses_devices:
            return None
        return device_gate(self.protocol, self.timeline().device_times, self.clock() if now is None else now)

    def _current_rate(self) -> float | None:
        rate = None
        for e in self.effective():
            data = field(e, "data") or {}
            if field(e, "kind") in ("infusion_start", "infusion_rate", "infusion_resume") and \
                    data.get("rate_ml_h") is not None:
                rate = data["rate_ml_h"]
        return rate

    def _vitals(self) -> dict[int, Any]:
        try:
            return dict(self.latest_vitals() or {})
        except Exception:  # noqa: BLE001 - a broken live feed must not break the panel
            return {}

    def _track_bp(self, latest: dict[int, Any]) -> None:
        bp = bp_from_snapshot(vitals_snapshot(latest))
        if bp is None or bp[2] is None:
            return
        at = bp[2]
        started = to_epoch(getattr(self.session, "started_at", None)) if self.session is not None else None
        if started is not None and at < started - BASELINE_LOOKBACK_S:
            return  # a reading from before this patient sat down
        self._bp_readings[at] = (bp[0], bp[1])

    # ------------------------------------------------------------------------------------------------ refresh
    def tick(self) -> None:
        """Once a second: read the live values, move the countdowns on, log newly overdue checks once."""
        if self.session is None or self.sealed:
            return
        self.refresh()
        assert self.status is not None
        now = self.clock()
        for c in self.status.unlogged:
            last = self._overdue_attempted.get(c.key)
            if last is not None and now - last < OVERDUE_RETRY_S:
                continue
            self._overdue_attempted[c.key] = now
            try:
                entry = self.svc.add_entry(self.session_id, "check_overdue", check_overdue_data(c))
            except Exception as exc:  # noqa: BLE001
                self.show_message(failure_message(exc, f"the overdue note for {c.label}"), "error")
                continue
            self._entries.append(entry)
            self.entry_added.emit(entry)
        if self.status.unlogged:
            self.refresh()

    def refresh(self) -> None:
        """Recompute everything shown from the entries, the live values and the clock."""
        self._update_header()
        if self.session is None or self.protocol is None:
            return
        now = self.clock()
        latest = self._vitals()
        self._track_bp(latest)
        effective = self.effective()
        timeline = timeline_from_entries(effective, self.protocol)
        titles = {s.id: s.title for s in self.scales}
        self.status = compute_schedule(self.protocol, timeline, records_from_entries(effective, self._bp_readings),
                                       now, logged=logged_overdue_keys(effective), titles=titles)
        self._update_due(self.status)
        if self.precheck is not None:
            self.precheck.show_vitals(latest)
        if self.dosing is not None:
            self.dosing.update_state(timeline, self.hold_check(), self.hold_resolved(), self.device_gate(now),
                                     self._current_rate(), now)
        self._update_discharge()
        self._update_entry_list()
        self._update_header(timeline, now)

    def _update_due(self, status: ScheduleStatus) -> None:
        late = status.overdue
        if late:
            worst = min(late, key=lambda c: c.due_at or 0.0)
            self.countdown.show_overdue(worst.label, status.now - (worst.due_at or status.now))
        elif status.next_due is not None:
            nd = status.next_due
            self.countdown.show_due(nd.label, nd.seconds_left(status.now))
        else:
            self.countdown.show_nothing("All scheduled checks done")
        missed = status.missed
        lines = [f"OVERDUE: {c.label}" for c in late] + [f"missed: {c.label}" for c in missed[-MISSED_SHOWN:]]
        if len(missed) > MISSED_SHOWN:
            lines.append(f"(and {len(missed) - MISSED_SHOWN} earlier missed checks)")
        self.overdue_label.setText("\n".join(lines))
        self.overdue_label.setStyleSheet(MESSAGE_STYLES["error"] if late else MESSAGE_STYLES["warning"])
        self.overdue_label.setVisible(bool(lines))

    def _update_header(self, timeline: Timeline | None = None, now: float | None = None) -> None:
        self.demo_badge.setVisible(self.demo)
        for label in (self.protocol_label, self.plan_label, self.state_label):
            label.setVisible(self.session is not None)
        if self.session is None:
            self.title_label.setText("No session")
            return
        code = getattr(self.patient, "code", None) or getattr(self.session, "patient_code", "") or ""
        name = getattr(self.patient, "name", None)
        chair = getattr(self.session, "chair", "")
        self.title_label.setText(" ".join(x for x in (str(code), name or "", f"- chair {chair}" if chair else "") if x))
        assert self.protocol is not None
        plan = self.plan.summary() if self.plan is not None and self.plan.dose_mg else ""
        self.protocol_label.setText(f"{self.protocol.title} ({self.protocol.version_tag})")
        self.plan_label.setText(plan)
        if timeline is None:
            return
        now = self.clock() if now is None else now
        if self.signed:
            state = "Signed"
        elif self.sealed:
            state = "Corrected after signing: sign again"
        elif timeline.discharged_at is not None:
            state = "Discharged"
        elif timeline.start is None:
            state = "Pre-check"
        elif self.protocol.uses_devices and timeline.end is None:
            planned = self.plan.devices if self.plan is not None else None
            state = f"Dosing: {len(timeline.device_times)} of {planned} devices given"
        elif timeline.running:
            state = ("PAUSED" if timeline.paused else "Infusing") + f"  {(now - timeline.start) / 60.0:.0f} min"
        else:
            state = f"Monitoring  {(now - timeline.start) / 60.0:.0f} min since dosing"
        self.state_label.setText(state)

    def _update_entry_list(self) -> None:
        texts = [entry_summary(e) for e in reversed(self._entries)]
        if [self.entry_list.item(i).text() for i in range(self.entry_list.count())] != texts:
            self.entry_list.clear()
            self.entry_list.addItems(texts)

    def discharge_results(self) -> list[CriterionResult]:
        moaas = None
        for e in self.effective():
            data = field(e, "data") or {}
            if field(e, "kind") == "observation" and data.get("scale") == "moaas":
                moaas = data.get("total")
        tolerances = self.protocol.discharge if self.protocol is not None else None
        return evaluate(self.discharge.confirmations() if self.discharge else {},
                        baseline_vitals=self._baseline_snapshot(),
                        current_vitals=vitals_snapshot(self._vitals()), last_moaas=moaas, tolerances=tolerances)

    def rems_form(self) -> RemsForm | None:
        """The esketamine REMS monitoring form filled from this session (``None`` for other protocols)."""
        if self.protocol is None or not self.protocol.uses_devices:
            return None
        p = self.patient
        patient = {"name": getattr(p, "name", None), "birth_date": getattr(p, "birth_date", None),
                   "sex": getattr(p, "sex", None)}
        readings = [(t, s, d) for t, (s, d) in self._bp_readings.items()]
        return fill_rems(self.effective(), patient=patient, provider=self.rems_context.get("provider"),
                         setting=self.rems_context.get("setting"), bp_readings=readings)

    def _update_discharge(self) -> None:
        if self.discharge is not None and self.session is not None:
            self.discharge.show_results(self.discharge_results())
            rems = self.rems_form()
            self.discharge.show_rems(None if rems is None else rems.missing)

    def _questionnaire_changed(self) -> None:
        assert self.precheck is not None
        flags = [f for sf in (self.precheck.phq9, self.precheck.gad7) for f in sf.current_flags() if f.urgent]
        if flags:
            self.show_message("\n".join(f.message for f in flags), "urgent")
        elif self.message_kind == "urgent":
            self.clear_message()

    # ------------------------------------------------------------------------------------------------ actions
    def trigger(self, key: str) -> None:
        """A quick action (button or F-key): open a form, or ask the monitor for a BP."""
        if key == "bp":
            self.take_bp_now()
        else:
            self.open_form(key)

    def take_bp_now(self) -> None:
        if self.take_bp is None:
            self.show_message("This monitor cannot take a BP on request: start it on the monitor.", "warning")
            return
        try:
            self.take_bp()
        except Exception as exc:  # noqa: BLE001
            self.show_message(f"Could not start a BP measurement: {exc}", "error")
            return
        self.show_message("BP measurement requested from the monitor.", "info")

    def open_form(self, key: str) -> QWidget | None:
        """Show the entry form ``key`` (a scale id, ``side_effect`` or ``note``), restoring an unsaved draft."""
        if self.session is None:
            self.show_message("Start a session first.", "warning")
            return None
        if self.sealed:
            self.show_message("The session is signed: double-click an entry to correct it.", "warning")
            return None
        widget = self._drafts.get(key)
        if widget is None:
            if key == "side_effect":
                widget = SideEffectForm(self.catalogue, self.protocol.route if self.protocol else None,
                                        clock=self.clock)
                title = "Side effect"
            elif key == "note":
                widget = NoteForm()
                title = "Note"
            else:
                try:
                    scale = self.scales.get(key)
                except KeyError as exc:
                    self.show_message(str(exc), "error")
                    return None
                widget = ScaleForm(scale, baseline_total=self._baseline_total(key, self.timeline()))
                title = scale.title
            widget.setProperty("formTitle", title)
            self._drafts[key] = widget
            self.form_area.addWidget(widget)
        self._form_key = key
        self.form_title.setText(str(widget.property("formTitle")))
        self.form_area.setCurrentWidget(widget)
        self.form_error.setVisible(False)
        self.stack.setCurrentIndex(PAGE_FORM)
        widget.setFocus()
        return widget

    def open_amend(self, entry: Any) -> AmendForm | None:
        """Show the correction form for ``entry`` (allowed after sign-off too; the session then needs a new
        signature)."""
        if self.session is None:
            return None
        if field(entry, "kind") in NOT_AMENDABLE:
            self.show_message(f"A {field(entry, 'kind')} entry cannot be corrected.", "warning")
            return None
        key = f"amend:{field(entry, 'id')}"
        widget = self._drafts.get(key)
        if widget is None:
            # start from what the entry now reads: a correction is a complete payload, so a form filled from
            # the original would quietly undo an earlier correction
            current = next((e for e in self.effective() if e.id == field(entry, "id")), entry)
            widget = AmendForm(current, self.scales)
            widget.setProperty("formTitle", "Correct an entry")
            self._drafts[key] = widget
            self.form_area.addWidget(widget)
        self._form_key = key
        self.form_title.setText("Correct an entry")
        self.form_area.setCurrentWidget(widget)
        self.form_error.setVisible(False)
        self.stack.setCurrentIndex(PAGE_FORM)
        return widget

    def current_form(self) -> QWidget | None:
        return self._drafts.get(self._form_key) if self._form_key else None

    def close_form(self) -> None:
        """Back to the session; an unsaved form stays as a draft."""
        self._form_key = None
        self.form_error.setVisible(False)
        self.stack.setCurrentIndex(PAGE_SESSION if self.session is not None else PAGE_START)

    def discard_form(self) -> None:
        key = self._form_key
        if key is not None:
            widget = self._drafts.pop(key, None)
            if widget is not None:
                self.form_area.removeWidget(widget)
                widget.deleteLater()
        self.close_form()

    def save_form(self) -> Any | None:
        """Validate and store the open form; on success drop the draft, otherwise keep it and say why."""
        key = self._form_key
        widget = self.current_form()
        if key is None or widget is None:
            return None
        if isinstance(widget, AmendForm):
            return self._save_amendment(widget)
        try:
            if isinstance(widget, ScaleForm):
                point = self._open_point(key)
                data = observation_data(widget.scale, widget.result(), vitals=self._vitals(),
                                        baseline_total=widget.baseline_total, point=point)
                kind, what = "observation", f"the {widget.scale.title}"
            elif isinstance(widget, SideEffectForm):
                data, kind, what = widget.data(), "side_effect", "the side effect"
            else:
                data, kind, what = widget.data(), "note", "the note"
        except ValueError as exc:
            self.form_error.setText(str(exc))
            self.form_error.setVisible(True)
            return None
        entry = self._submit(kind, data, what)
        if entry is None:
            return None
        self.discard_form()
        flags = data.get("flags") or []
        if flags:
            urgent = any(f.get("urgent") for f in flags)
            self.show_message("\n".join(f["message"] for f in flags), "urgent" if urgent else "warning")
        else:
            self._confirm(entry)
        self.refresh()
        return entry

    def _save_amendment(self, widget: AmendForm) -> Any | None:
        try:
            reason, data = widget.amendment()
        except ValueError as exc:
            self.form_error.setText(str(exc))
            self.form_error.setVisible(True)
            return None
        entry = self._write(lambda: self.svc.amend(self.session_id, field(widget.entry, "id"), reason, data),
                            "the correction")
        if entry is None:
            return None
        self.discard_form()
        if self.signed:
            self.signed = False  # an amended record needs a new signature
            self.show_message("Correction saved. The session was signed: sign it again.", "warning")
        else:
            self.show_message("Correction saved; the original entry is kept in the record.", "info")
        self.refresh()
        return entry

    def _open_point(self, scale_id: str) -> str | None:
        """The schedule point an observation answers (the first one of that scale not yet done)."""
        if self.status is None:
            return None
        for c in self.status.checkpoints:
            if c.what == scale_id and c.state in ("pending", "overdue"):
                return str(c.point) if not isinstance(c.point, float) else f"{c.point:g}"
        return None

    # -- pre-check ---------------------------------------------------------------------------------------------
    def save_precheck(self) -> bool:
        assert self.precheck is not None
        try:
            parts = self.precheck.collect(self._vitals(), self.weight_kg)
        except ValueError as exc:
            self.precheck.error_label.setText(str(exc))
            self.show_message(f"Pre-check not saved: {exc}", "warning")
            return False
        for kind, data in parts:
            what = "the pre-check" if kind == "precheck" else f"the {data['title']}"
            if self._submit(kind, data, what) is None:
                self.precheck.error_label.setText(self.message())
                self.refresh()
                return False
            self.precheck.saved.add("precheck" if kind == "precheck" else data["scale"])
        self.precheck.error_label.setText("")
        warnings = self.precheck.warnings()
        flags = [f["message"] for _, d in parts for f in d.get("flags", []) if f.get("urgent")]
        if flags:
            self.show_message("\n".join(flags), "urgent")
        elif warnings:
            self.show_message("Pre-check saved with: " + ", ".join(warnings), "warning")
        else:
            self.show_message("Pre-check saved.", "info")
        self.refresh()
        return True

    # -- dosing ------------------------------------------------------------------------------------------------
    def _dosing_submit(self, kind: str, builder: Callable[[], dict[str, Any]], what: str) -> Any | None:
        assert self.dosing is not None
        try:
            data = builder()
        except ValueError as exc:
            self.dosing.block_label.setText(str(exc))
            self.show_message(f"Not saved: {exc}", "warning")
            return None
        entry = self._submit(kind, data, what)
        if entry is not None:
            self.dosing.clear_inputs()
            self._confirm(entry)
        self.refresh()
        return entry

    def record_override(self, reason: str) -> Any | None:
        check = self.hold_check()
        if check is None or not check.hold:
            self.show_message("The pre-dose BP is within the hold limit: no override needed.", "info")
            return None
        bp = bp_from_snapshot(self._baseline_snapshot()) or bp_from_snapshot(vitals_snapshot(self._vitals()))
        return self._dosing_submit("hold_override", lambda: hold_override_data(
            check, reason, sbp=bp[0] if bp else None, dbp=bp[1] if bp else None, age_years=self.age_years),
            "the hold override")

    def _held(self) -> str | None:
        check = self.hold_check()
        if check is not None and check.hold and not self.hold_resolved():
            return check.message
        return None

    def start_dosing(self) -> Any | None:
        held = self._held()
        if held:
            self.show_message(held, "warning")
            return None
        assert self.protocol is not None and self.plan is not None
        return self._dosing_submit("infusion_start", lambda: infusion_start_data(
            self.plan, route=self.protocol.route, protocol_tag=self.protocol.version_tag), "the infusion start")

    def pause_infusion(self, reason: str) -> Any | None:
        return self._dosing_submit("infusion_pause", lambda: infusion_pause_data(reason), "the pause")

    def resume_infusion(self) -> Any | None:
        return self._dosing_submit("infusion_resume", lambda: infusion_resume_data(""), "the resume")

    def change_rate(self, rate: str, reason: str) -> Any | None:
        return self._dosing_submit("infusion_rate", lambda: infusion_rate_data(
            rate, reason, previous_rate_ml_h=self._current_rate()), "the rate change")

    def stop_infusion(self, completed: bool, reason: str) -> Any | None:
        return self._dosing_submit("infusion_stop", lambda: infusion_stop_data(completed=completed, reason=reason),
                                   "the infusion stop")

    def give_device(self, lot: str = "") -> Any | None:
        gate = self.device_gate()
        held = self._held()
        if gate is None:
            return None
        if held and gate.devices_given == 0:
            self.show_message(held, "warning")
            return None
        if not gate.allowed:
            self.show_message(gate.reason, "warning")
            return None
        return self._dosing_submit("esketamine_dose", lambda: esketamine_dose_data(
            gate.devices_given + 1, devices_planned=gate.devices_planned,
            device_mg=self.plan.device_mg or 28.0, lot=lot), "the nasal device")

    # -- discharge and sign-off --------------------------------------------------------------------------------
    def record_discharge(self) -> Any | None:
        assert self.discharge is not None
        form = self.discharge
        results = self.discharge_results()
        try:
            data = discharge_data(results, ready_minutes=form.ready_minutes.value(),
                                  override_reason=form.override_reason.text(), vitals=self._vitals(),
                                  notes=form.notes.text())
        except ValueError as exc:
            self.show_message(f"Discharge not recorded: {exc}", "warning")
            return None
        entry = self._submit("discharge", data, "the discharge")
        if entry is not None:
            self.show_message("Discharge recorded. Sign off the session when the record is complete.", "info")
        self.refresh()
        return entry

    def open_signoff(self) -> SignoffDialog | None:
        if self.session is None:
            return None
        if self.signoff_dialog is not None:
            self.signoff_dialog.deleteLater()
        code = getattr(self.patient, "code", "") if self.patient is not None else ""
        summary = f"Session {self.session_id} {code}: {len(self._entries)} entries"
        self.signoff_dialog = SignoffDialog(self._sign, self.user_name or "(signed-in user)", self,
                                            clock=self.clock, summary=summary)
        self.signoff_dialog.accepted.connect(self._signed)
        self.signoff_dialog.open()  # window-modal, never blocks the event loop
        return self.signoff_dialog

    def _sign(self, password: str, meaning: str) -> Any:
        return self.svc.sign(self.session_id, password, meaning)

    def _signed(self) -> None:
        entry = self.signoff_dialog.result_entry if self.signoff_dialog else None
        if entry is not None:
            self._entries.append(entry)
        self.signed = self.sealed = True
        self.timer.stop()
        for b in (*self.quick.values(), *self.more_ratings.values()):
            b.setEnabled(False)
        self.show_message("Session signed and sealed. Corrections from now on are amendments with a reason.", "info")
        self._update_entry_list()
        self._update_header(self.timeline())
        self.session_signed.emit(entry)

    def new_session(self) -> None:
        """Back to the start form (after sign-off)."""
        self.timer.stop()
        self.session = self.patient = self.protocol = self.plan = None
        self._entries = []
        self.signed = self.sealed = False
        for b in (*self.quick.values(), *self.more_ratings.values()):
            b.setEnabled(True)
        self.quick["bp"].setEnabled(self.take_bp is not None)
        self.stack.setCurrentIndex(PAGE_START)
        self._update_header()

    # ------------------------------------------------------------------------------------------------ Qt events
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self.session is not None and not self.sealed:
            self.timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt API)
        self.timer.stop()  # a hidden panel needs no countdown, and tests must leave no timer running
        super().hideEvent(event)

