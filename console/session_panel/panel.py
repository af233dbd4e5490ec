"""The session panel: the clinician's side panel at the chair.

It shows the state of a :class:`~console.session.SessionController` and forwards the clinician's taps to it; the
controller owns the session and its rules (pre-check before dosing, baseline ratings, confirmed start and stop,
discharge before sign-off, next patient) and answers a forbidden step with one plain sentence, which the panel
shows at its top. Start, stop and each nasal device are confirmed in a strip inside the panel, and sign-off is
a page of the panel: nothing is ever laid over the live monitor or the alarm banner.

Entries go to the entry outbox (written by the chair's writer thread); starting a session, a correction and the
signature are requested from the controller and run off the GUI thread (the writer, and a worker for the
password KDF): while one is under way the panel says so ("Signing…") with the buttons that would repeat or
contradict it disabled, and a 50 ms timer (running only then) picks up its outcome. Nothing here sleeps, polls a
port or waits on I/O. One 1 Hz QTimer (running only while the panel is visible and a session is open) moves the
countdowns on and records ``check_overdue`` once per late check. A refused or failed write is shown in plain words at the
top of the panel and next to the form, and the form keeps everything typed, so nothing is lost.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.clinical._common import field, to_epoch
from console.clinical.amendments import EffectiveEntry
from console.clinical.discharge import CriterionResult
from console.clinical.protocols import DosePlan, HoldCheck, Protocol, ProtocolLibrary
from console.clinical.rems import RemsForm, fill_rems
from console.clinical.scales import ScaleLibrary
from console.clinical.schedule import DeviceGate, ScheduleStatus, Timeline
from console.clinical.side_effects import Catalogue, load_catalogue
from console.session import Intent, Lanes, Outcome, Phase, Refused, SessionController
from console.session_panel.amend_form import NOT_AMENDABLE, AmendForm
from console.session_panel.confirm import ConfirmStrip
from console.session_panel.discharge_form import DischargeForm
from console.session_panel.dosing import DosingControls
from console.session_panel.forms import FormPage, NoteForm, has_input, scroll
from console.session_panel.header import SessionHeader
from console.session_panel.precheck_form import PrecheckForm
from console.session_panel.start_form import StartRequest, StartSessionForm
from console.session_panel.style import MESSAGE_STYLES, PANEL_QSS
from console.session_panel.summary import entry_summary
from console.session_panel.signoff import PENDING, SignoffPage
from widgets.countdown import CountdownLabel
from widgets.scale_form import ScaleForm
from widgets.side_effect_form import SideEffectForm
from widgets.tap_row import TOUCH_MIN

#: quick actions: key, button text, shortcut
QUICK_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("moaas", "MOAA/S", "F2"),
    ("cadss6", "CADSS-6", "F3"),
    ("side_effect", "Side effect", "F4"),
    ("note", "Note", "F5"),
    ("bp", "Take BP now", "F6"),
)
PAGE_START, PAGE_SESSION, PAGE_FORM, PAGE_SIGN, PAGE_PRECHECK = 0, 1, 2, 3, 4
#: missed checks listed under the countdown (all of them are in the entry list as check_overdue)
MISSED_SHOWN = 3
#: how often the outcome of a background intent (start, correction, signature) is looked for while one runs
PENDING_POLL_MS = 50
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
                 outbox: Any = None, lanes: Lanes | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionPanel")
        self.setStyleSheet(PANEL_QSS)
        self.svc = service
        self.take_bp = take_bp
        self.catalogue = catalogue or load_catalogue()
        self.clock = clock
        #: the session's state and rules; the panel only shows it and forwards clicks
        self.ctl = SessionController(service, outbox=outbox, protocols=protocols, scales=scales, clock=clock,
                                     latest_vitals=latest_vitals, devices=devices, demo=demo, lanes=lanes)
        self.ctl.listeners.append(self.entry_added.emit)
        self.protocols = self.ctl.protocols
        self.scales = self.ctl.scales
        user = getattr(service, "user", None)
        self.user_name = user_name or getattr(user, "full_name", None) or getattr(user, "username", None) or ""
        #: REMS form details the record does not hold: {"provider": {name, phone, email}, "setting": {name, address}}
        self.rems_context = dict(rems_context or {})

        self.status: ScheduleStatus | None = None
        self.precheck: PrecheckForm | None = None
        self.dosing: DosingControls | None = None
        self.discharge: DischargeForm | None = None
        #: the form whose "discard?" question is on show in the confirm strip
        self._asking_discard: str | None = None

        self.timer = QTimer(self)
        self.timer.setObjectName("sessionPanelTick")
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        #: runs only while a start, correction or signature is under way (see :meth:`poll_background`)
        self.pending_timer = QTimer(self)
        self.pending_timer.setObjectName("sessionPanelPending")
        self.pending_timer.setInterval(PENDING_POLL_MS)
        self.pending_timer.timeout.connect(self.poll_background)
        #: the correction form being saved, and whether the session was signed when it was sent
        self._amend_key: str | None = None
        self._amend_was_sealed = False
        self._pending_shown = ""

        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        self.header = SessionHeader()
        self.header.next_patient_button.clicked.connect(self.next_patient)
        # the header's parts, by their old names
        self.title_label, self.demo_badge = self.header.title_label, self.header.demo_badge
        self.protocol_label, self.plan_label = self.header.protocol_label, self.header.plan_label
        self.state_label, self.next_label = self.header.state_label, self.header.next_label
        self.next_patient_button = self.header.next_patient_button
        root.addWidget(self.header)
        self.message_label = QLabel()
        self.message_label.setObjectName("panelMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)
        self.message_kind = ""
        root.addWidget(self.message_label)
        self.confirm = ConfirmStrip()
        root.addWidget(self.confirm)
        self.stack = QStackedWidget()
        root.addWidget(self.stack, 1)

        self.start_form = StartSessionForm(self.protocols, chair=chair)
        self.start_form.start_requested.connect(self.start_from_request)
        self.stack.addWidget(scroll(self.start_form))
        self.stack.addWidget(self._build_session_page())
        self.forms = FormPage()
        self.forms.save_button.clicked.connect(self.save_form)
        self.forms.back_button.clicked.connect(self.close_form)
        # Discard and Escape ask first when typed text would be lost; Enter (Ctrl+Enter in a multi-line field) saves
        self.forms.discard_button.clicked.connect(self.ask_discard)
        self.forms.leave_requested.connect(self.ask_discard)
        self.forms.save_requested.connect(self.save_form)
        # the form page's parts, by their old names
        self.form_title, self.form_area, self.form_error = self.forms.title, self.forms.area, self.forms.error
        self.save_button, self.back_button = self.forms.save_button, self.forms.back_button
        self.discard_button = self.forms.discard_button
        self.stack.addWidget(self.forms)
        self.signoff = SignoffPage(self._sign, self.user_name or "(signed-in user)", clock=clock)
        self.signoff.signed.connect(self._signed)
        self.signoff.cancelled.connect(self.close_form)
        self.stack.addWidget(scroll(self.signoff))
        # the stepped pre-check gets the whole page below the header: in a tab under the quick actions a step
        # had about 185 px on a 1366x768 screen (issue 12)
        self.precheck_page = QWidget()
        QVBoxLayout(self.precheck_page).setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(scroll(self.precheck_page))  # a scroll bar only on a screen smaller than 1366x768
        self.stack.setCurrentIndex(PAGE_START)
        self._build_actions()
        self._update_header()

    # ------------------------------------------------------------------------------------------------ state
    # the controller's state, read-only here (the station reads ``panel.protocol``)
    @property
    def session(self) -> Any:
        return self.ctl.session

    @property
    def patient(self) -> Any:
        return self.ctl.patient

    @property
    def protocol(self) -> Protocol | None:
        return self.ctl.protocol

    @property
    def plan(self) -> DosePlan | None:
        return self.ctl.plan

    @property
    def signed(self) -> bool:
        return self.ctl.signed

    @property
    def sealed(self) -> bool:
        return self.ctl.sealed

    @property
    def demo(self) -> bool:
        return self.ctl.demo

    @property
    def outbox(self) -> Any:
        return self.ctl.outbox

    @property
    def session_id(self) -> Any:
        return self.ctl.session_id

    @property
    def phase(self) -> Phase:
        return self.ctl.phase

    def entries(self) -> list[Any]:
        """Entries of the open session as this panel knows them (oldest first)."""
        return self.ctl.entries()

    def effective(self) -> list[EffectiveEntry]:
        """Entries with corrections applied: what the schedule, checklist and forms judge."""
        return self.ctl.effective()

    def timeline(self) -> Timeline:
        return self.ctl.timeline()

    def hold_check(self) -> HoldCheck | None:
        return self.ctl.hold_check()

    def device_gate(self, now: float | None = None) -> DeviceGate | None:
        return self.ctl.device_gate(now)

    # ------------------------------------------------------------------------------------------------ building
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
        # on a 768-px-high screen the list gives its room to the tabs first (a line and a half is still shown)
        self.entry_list.setMinimumHeight(TOUCH_MIN)
        self.entry_list.setToolTip("Double-click an entry to correct it (the original is kept)")
        self.entry_list.itemDoubleClicked.connect(
            lambda item: self.open_amend(self.entries()[self.entry_list.count() - 1 - self.entry_list.row(item)]))
        layout.addWidget(self.entry_list, 1)
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

    def _refused(self, exc: Refused, kind: str = "warning") -> None:
        """Show a refusal at the top, and beside the open form (which keeps what was typed)."""
        self.show_message(exc.reason, kind)
        if self.forms.key is not None:
            self.forms.show_error(exc.reason)

    def _do(self, intent: Callable[[], Any], *, kind: str = "warning") -> Any | None:
        """Run one controller intent: its result, or ``None`` with the refusal shown."""
        try:
            return intent()
        except Refused as exc:
            stored = "NOT saved" in exc.reason or "Not allowed" in exc.reason
            self._refused(exc, "error" if stored else kind)
            return None

    def _confirm(self, entry: Any) -> None:
        """Tell the clinician the entry is in the record, or kept on this computer until the record is back."""
        if hasattr(entry, "hash") or self.outbox is None:
            self.show_message(f"Saved: {entry_summary(entry).strip()}", "info")
            return
        waiting = len(self.outbox.pending)
        self.show_message(f"The record database is unavailable: {entry_summary(entry).strip()} is kept on this "
                          f"computer and will be saved automatically ({waiting} waiting).", "warning")

    def _saved(self, entry: Any | None) -> Any | None:
        """After a controller write: confirm it (keeping a standing urgent message) and refresh."""
        if entry is not None and self.message_kind != "urgent":
            self._confirm(entry)
        self.refresh()
        return entry

    # ------------------------------------------------------------------------------------------------ session
    def start_from_request(self, req: StartRequest) -> bool:
        """Find or add the patient and start the session (off the GUI thread): ``False`` with the reason shown
        when it is refused or failed, ``True`` when it started or is under way."""
        try:
            today = _dt.datetime.fromtimestamp(self.clock()).date()
            self.ctl.request_begin(req.patient_code, req.protocol, req.plan, req.chair, name=req.name,
                                   birth_date=req.birth_date, sex=req.sex, weight_kg=req.weight_kg,
                                   details=self.start_form.details(req, today) | {"demo": self.ctl.demo_user})
        except Refused as exc:
            self.start_form.error_label.setText(exc.reason)
            self.show_message(exc.reason, "error")
            return False
        outcome = self._requested()
        return outcome is None or outcome.ok

    def _began(self, outcome: Outcome) -> None:
        if not outcome.ok:  # the form keeps what was typed
            self.start_form.error_label.setText(outcome.error)
            self.show_message(outcome.error, "error")
            return
        self.start_form.error_label.setText("")
        self._opened()
        self.clear_message()
        self.session_started.emit(outcome.value)

    # ------------------------------------------------------------------------------------------------ background
    def _requested(self) -> Outcome | None:
        """After a request to the controller: its outcome when it is already there (no chair runtime), else
        ``None`` with the pending state shown and polled."""
        outcome = self.poll_background()
        if self.ctl.pending is not None:
            self.pending_timer.start()
        return outcome

    def poll_background(self) -> Outcome | None:
        """Show the pending intent's state, and apply its outcome once it has one (GUI thread, on a timer)."""
        outcome = self.ctl.poll()
        if self.ctl.pending is None:
            self.pending_timer.stop()
        self._show_pending()
        if outcome is not None:
            {Intent.BEGIN: self._began, Intent.AMEND: self._amended, Intent.SIGN: self._sign_ended}[
                outcome.intent](outcome)
        return outcome

    def _show_pending(self) -> None:
        """Say what is under way (and that the record is busy), and disable what would repeat or contradict it."""
        intent = self.ctl.pending.intent if self.ctl.pending is not None else None
        busy = self.ctl.busy_reason()
        text = f"{intent.value} {busy}".strip() if intent is not None else ""
        if text == self._pending_shown:
            return
        shown, self._pending_shown = self._pending_shown, text
        self.start_form.setEnabled(intent is not Intent.BEGIN)  # what was typed stays, unchangeable meanwhile
        self.signoff.set_pending(text if intent is Intent.SIGN else "")
        self.signoff.status_label.setToolTip(self.ctl.busy_detail())
        self._enable_entry_buttons(self.session is not None and not self.sealed and intent is not Intent.SIGN)
        self._show_amend_pending()
        if text and self.message_kind != "urgent":
            self.show_message(text, "warning" if busy else "info")
            self.message_label.setToolTip(self.ctl.busy_detail())  # the record's own words, on demand
        elif not text:
            self.message_label.setToolTip("")
            if shown and self.message() == shown:
                self.clear_message()  # "Signing…" is over; the outcome says what happened

    def _show_amend_pending(self) -> None:
        saving = self._amend_key is not None and self.forms.key == self._amend_key
        self.forms.save_button.setEnabled(not saving)
        self.forms.discard_button.setEnabled(not saving)
        widget = self.forms.draft(self._amend_key) if self._amend_key is not None else None
        if widget is not None:
            widget.setEnabled(False)

    def open_session(self, session: Any, patient: Any = None) -> None:
        """Show an existing session (resumed after a restart): protocol and dose from its recorded details."""
        details = dict(getattr(session, "details", {}) or {})
        protocol = self.protocols.get(session.protocol_id)
        weight = details.get("weight_kg")
        plan = self._recorded_plan(details.get("dose_plan"))
        if plan is None:
            try:
                plan = protocol.plan(weight)
            except ValueError:
                plan = DosePlan(0.0)  # nothing recorded to rebuild it from; the header then shows no dose
        entries = list(self.svc.entries(getattr(session, "id", session)))
        self.ctl.open(session, patient, protocol, plan, weight, details.get("age_years"), entries)
        self._opened()

    @staticmethod
    def _recorded_plan(raw: Any) -> DosePlan | None:
        """The dose plan stored in the session details at start, if it is readable."""
        if not isinstance(raw, dict) or not isinstance(raw.get("dose_mg"), (int, float)):
            return None
        try:
            return DosePlan(**{k: v for k, v in raw.items() if k in DosePlan.__slots__})
        except TypeError:
            return None

    def _opened(self) -> None:
        self.forms.clear()
        self.confirm.cancel()
        self._build_tabs()
        self._enable_entry_buttons(not self.sealed)
        self.stack.setCurrentIndex(PAGE_SESSION)
        if self.isVisible() and not self.sealed:
            self.timer.start()
        self.refresh()

    def _enable_entry_buttons(self, on: bool) -> None:
        for b in (*self.quick.values(), *self.more_ratings.values()):
            b.setEnabled(on)
        self.quick["bp"].setEnabled(on and self.take_bp is not None)

    def _build_tabs(self) -> None:
        while self.tabs.count():
            w = self.tabs.widget(0)
            self.tabs.removeTab(0)
            if w is not None:
                w.deleteLater()
        assert self.protocol is not None and self.plan is not None
        old = self.precheck
        if old is not None:
            self.precheck_page.layout().removeWidget(old)  # type: ignore[union-attr]  # built with a layout
            old.deleteLater()
        self.precheck = PrecheckForm(self.scales, route=self.protocol.route)
        self.precheck_page.layout().addWidget(self.precheck)  # type: ignore[union-attr]
        self.precheck.save_requested.connect(self.save_precheck)
        self.precheck.close_requested.connect(self.close_precheck)
        self.precheck.take_bp_button.clicked.connect(self.take_bp_now)
        self.precheck.take_bp_button.setEnabled(self.take_bp is not None)
        self.precheck.phq9.changed.connect(self._questionnaire_changed)
        self.precheck.gad7.changed.connect(self._questionnaire_changed)
        # a saved pre-check is not stored twice, unless identity or consent is missing: only a new one fixes that
        if any(field(e, "kind") == "precheck" for e in self.effective()) and \
                not any(h.blocking for h in self.ctl.holds()):
            self.precheck.saved.add("precheck")
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
        self.discharge.departure_requested.connect(self.record_departure)
        self.discharge.signoff_requested.connect(self.open_signoff)
        self.discharge.confirmations_changed.connect(self._update_discharge)
        self.tabs.addTab(scroll(self._precheck_tab()), "Pre-check")
        self.tabs.addTab(scroll(self.dosing), "Dosing")
        self.tabs.addTab(scroll(self.discharge), "Discharge")


    def _precheck_tab(self) -> QWidget:
        """The Pre-check tab: one large button that opens the stepped form and says whether it is saved (one
        line, so it shows even when a small screen leaves the tabs little room)."""
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(2, 4, 2, 4)
        self.open_precheck_button = QPushButton("Pre-check: open")
        self.open_precheck_button.setObjectName("primary")
        self.open_precheck_button.clicked.connect(self.open_precheck)
        col.addWidget(self.open_precheck_button)
        col.addStretch(1)
        return page

    def open_precheck(self) -> PrecheckForm | None:
        """Show the stepped pre-check on its own page (the header and the confirm strip stay above it)."""
        if self.precheck is None or self.sealed:
            return None
        self._drop_discard_question()
        self.forms.leave()
        self.stack.setCurrentIndex(PAGE_PRECHECK)
        self.precheck.setFocus()
        return self.precheck

    def close_precheck(self) -> None:
        """Back to the session page; what was entered in the pre-check stays for later."""
        if self.stack.currentIndex() == PAGE_PRECHECK:
            self.stack.setCurrentIndex(PAGE_SESSION if self.session is not None else PAGE_START)

    def _update_precheck_state(self) -> None:
        if self.precheck is None:
            return
        saved = "precheck" in self.precheck.saved
        self.open_precheck_button.setText("Pre-check saved: open again" if saved else "Pre-check: open and fill in")

    # ------------------------------------------------------------------------------------------------ refresh
    def tick(self) -> None:
        """Once a second: read the live values, move the countdowns on, log newly overdue checks once."""
        if self.session is None or self.sealed:
            return
        self.ctl.observe_vitals()
        problems = self.ctl.log_overdue()
        if problems:
            self.show_message("\n".join(problems), "error")
        self.refresh()

    def refresh(self) -> None:
        """Recompute everything shown from the controller, the live values and the clock."""
        if self.session is None or self.protocol is None:
            self._update_header()
            return
        now = self.clock()
        latest = self.ctl.vitals()
        self.ctl.observe_vitals(latest)
        timeline = self.timeline()
        self.status = self.ctl.schedule(now)
        if self.sealed:
            self.countdown.show_nothing("Session signed: no checks due")
            self.overdue_label.setVisible(False)
        else:
            assert self.status is not None
            self._update_due(self.status)
        if self.precheck is not None:
            self.precheck.show_vitals(latest)
            self._update_precheck_state()
        if self.dosing is not None:
            self.dosing.update_state(timeline, self.ctl.holds(), self.ctl.start_refusal(), self.device_gate(now),
                                     self.ctl.current_rate(), now)
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
        self.header.show_state(self.ctl, timeline, self.clock() if now is None else now)

    def _update_entry_list(self) -> None:
        texts = [entry_summary(e) for e in reversed(self.entries())]
        if [self.entry_list.item(i).text() for i in range(self.entry_list.count())] != texts:
            self.entry_list.clear()
            self.entry_list.addItems(texts)

    def discharge_results(self) -> list[CriterionResult]:
        return self.ctl.discharge_results(self.discharge.confirmations() if self.discharge else {})

    def rems_form(self) -> RemsForm | None:
        """The esketamine REMS monitoring form filled from this session (``None`` for other protocols)."""
        if self.protocol is None or not self.protocol.uses_devices:
            return None
        p = self.patient
        patient = {"name": getattr(p, "name", None), "birth_date": getattr(p, "birth_date", None),
                   "sex": getattr(p, "sex", None)}
        readings = [(t, s, d) for t, (s, d) in self.ctl.bp_readings.items()]
        return fill_rems(self.effective(), patient=patient, provider=self.rems_context.get("provider"),
                         setting=self.rems_context.get("setting"), bp_readings=readings)

    def _update_discharge(self) -> None:
        if self.discharge is not None and self.session is not None:
            self.discharge.show_results(self.discharge_results())
            rems = self.rems_form()
            self.discharge.show_rems(None if rems is None else rems.missing)
            self.discharge.show_signoff(self.ctl.sign_refusal())

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
        widget = self.forms.draft(key)
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
                widget = ScaleForm(scale, baseline_total=self._baseline_total(key))
                title = scale.title
            self.forms.add(key, widget, title)
        self._show_form(key, widget)
        widget.setFocus()
        return widget

    def _show_form(self, key: str, widget: QWidget) -> None:
        title = str(widget.property("formTitle"))
        if isinstance(widget, ScaleForm):  # which check the rating will answer
            point = self.ctl.rating_point(widget.scale.id)
            title += " - baseline" if point == "baseline" else f" - for {point}" if point else " - extra rating"
        self._drop_discard_question()
        self.forms.show_form(key, title)
        self._show_amend_pending()  # Save and Discard are off only on a correction being saved
        self.stack.setCurrentIndex(PAGE_FORM)

    def _baseline_total(self, scale_id: str) -> int | None:
        """The last total of ``scale_id`` recorded before dosing started (the pre-dose score)."""
        start = self.timeline().start
        if start is None:
            return None
        best = None
        for e in self.effective():
            at = to_epoch(e.at)
            if e.kind == "observation" and (e.data or {}).get("scale") == scale_id and at is not None \
                    and at <= start:
                best = e.data.get("total")
        return best

    def open_amend(self, entry: Any) -> AmendForm | None:
        """Show the correction form for ``entry`` (allowed after sign-off too; the session then needs a new
        signature)."""
        if self.session is None:
            return None
        if field(entry, "kind") in NOT_AMENDABLE:
            self.show_message(f"A {field(entry, 'kind')} entry cannot be corrected.", "warning")
            return None
        key = f"amend:{field(entry, 'id')}"
        widget = self.forms.draft(key)
        if widget is None:
            # start from what the entry now reads: a correction is a complete payload, so a form filled from
            # the original would quietly undo an earlier correction
            current = next((e for e in self.effective() if e.id == field(entry, "id")), entry)
            widget = AmendForm(current, self.scales)
            self.forms.add(key, widget, "Correct an entry")
        self._show_form(key, widget)
        return widget if isinstance(widget, AmendForm) else None

    def current_form(self) -> QWidget | None:
        return self.forms.current()

    def close_form(self) -> None:
        """Back to the session; an unsaved form stays as a draft."""
        self._drop_discard_question()
        self.forms.leave()
        self.stack.setCurrentIndex(PAGE_SESSION if self.session is not None else PAGE_START)

    def discard_form(self) -> None:
        """Drop the open form and what was typed into it (no question asked: see :meth:`ask_discard`)."""
        self.forms.drop_current()
        self.close_form()

    def ask_discard(self) -> bool:
        """Leave the open form without saving: at once when nothing was entered, otherwise only after the
        clinician confirms in the confirm strip (a page of the panel, so the monitor and Acknowledge stay
        usable). ``True`` when the form was left at once."""
        widget = self.current_form()
        if widget is None:
            return False
        if not has_input(widget):
            self.discard_form()
            return True
        key = self._asking_discard = self.forms.key
        title = self.forms.title.text() or "this form"
        self.confirm.ask(f"Discard {title}? What you entered will be lost.", "Discard",
                         lambda: self._discard_if_open(key), cancel_text="Keep editing")
        return False

    def _drop_discard_question(self) -> None:
        # a pending "discard?" belongs to the form on show: leaving it (or showing another) withdraws the question
        if self._asking_discard is not None:
            self._asking_discard = None
            if self.confirm.pending:
                self.confirm.cancel()

    def _discard_if_open(self, key: str | None) -> None:
        # the question was about one form: if another one is open by now, that one is not thrown away
        self._asking_discard = None
        if key is not None and self.forms.key == key:
            self.discard_form()

    def save_form(self) -> Any | None:
        """Validate and store the open form; on success drop the draft, otherwise keep it and say why."""
        widget = self.current_form()
        if widget is None:
            return None
        if isinstance(widget, AmendForm):
            return self._save_amendment(widget)
        if isinstance(widget, ScaleForm):
            try:
                result = widget.result()
            except ValueError as exc:
                self.forms.show_error(str(exc))
                return None
            entry = self._do(lambda: self.ctl.record_rating(widget.scale, result,
                                                            baseline_total=widget.baseline_total))
        else:
            try:
                data = widget.data()  # type: ignore[attr-defined]
            except ValueError as exc:
                self.forms.show_error(str(exc))
                return None
            kind, what = ("side_effect", "the side effect") if isinstance(widget, SideEffectForm) else \
                ("note", "the note")
            entry = self._do(lambda: self.ctl.add_entry(kind, data, what))
        if entry is None:
            return None
        self.discard_form()
        flags = (field(entry, "data") or {}).get("flags") or []
        if flags:
            urgent = any(f.get("urgent") for f in flags)
            self.show_message("\n".join(f["message"] for f in flags), "urgent" if urgent else "warning")
        else:
            self._confirm(entry)
        self.refresh()
        return entry

    def _save_amendment(self, widget: AmendForm) -> Any | None:
        """Send the correction (committed off the GUI thread); the stored entry when it is already in, else
        ``None`` (the form stays, disabled, until the outcome)."""
        try:
            reason, data = widget.amendment()
        except ValueError as exc:
            self.forms.show_error(str(exc))
            return None
        was_sealed = self.sealed
        if self._do(lambda: self.ctl.request_amend(field(widget.entry, "id"), reason, data)) is None:
            return None
        self._amend_key, self._amend_was_sealed = self.forms.key, was_sealed
        self._pending_shown = ""  # the form to disable is known only now
        outcome = self._requested()
        return outcome.value if outcome is not None else None

    def _amended(self, outcome: Outcome) -> None:
        key, self._amend_key = self._amend_key, None
        widget = self.forms.draft(key) if key is not None else None
        if widget is not None:
            widget.setEnabled(True)
        self._show_amend_pending()
        if not outcome.ok:  # the form keeps the reason and the corrected values
            if self.forms.key == key:
                self.forms.show_error(outcome.error)
            self.show_message(outcome.error, "error")
            return
        if key is not None and self.forms.key == key:
            self.discard_form()
        elif key is not None:
            self.forms.drop(key)
        if self._amend_was_sealed:
            self.show_message("Correction saved. The session was signed: sign it again.", "warning")
        else:
            self.show_message("Correction saved; the original entry is kept in the record.", "info")
        self.refresh()

    # -- pre-check ---------------------------------------------------------------------------------------------
    def save_precheck(self) -> bool:
        assert self.precheck is not None
        try:
            parts = self.precheck.collect(self.ctl.vitals(), self.ctl.weight_kg)
        except ValueError as exc:
            self.precheck.error_label.setText(str(exc))
            self.show_message(f"Pre-check not saved: {exc}", "warning")
            return False
        before = len(self.entries())
        try:
            self.ctl.save_precheck(parts)
        except Refused as exc:
            # what was stored before the failure is not stored twice on a retry
            for kind, data in parts[:len(self.entries()) - before]:
                self.precheck.saved.add("precheck" if kind == "precheck" else data["scale"])
            self.precheck.error_label.setText(exc.reason)
            self.show_message(exc.reason, "error")
            self.refresh()
            return False
        for kind, data in parts:
            self.precheck.saved.add("precheck" if kind == "precheck" else data["scale"])
        self.precheck.error_label.setText("")
        holds = self.ctl.holds()
        blocking = [h.message for h in holds if h.blocking]
        if blocking:
            # identity and consent are confirmed only by a new pre-check: let it be saved again
            self.precheck.saved.discard("precheck")
        flags = [f["message"] for _, d in parts for f in d.get("flags", []) if f.get("urgent")]
        if flags:
            self.show_message("\n".join(flags), "urgent")
        elif blocking:
            self.show_message("Pre-check saved. Dosing cannot start:\n" + "\n".join(blocking), "error")
        elif holds:
            self.show_message("Pre-check saved with: " + "; ".join(h.message for h in holds), "warning")
        else:
            self.show_message("Pre-check saved.", "info")
        self.close_precheck()
        self.refresh()
        return True

    # -- dosing ------------------------------------------------------------------------------------------------
    def _dosing(self, intent: Callable[[], Any]) -> Any | None:
        entry = self._do(intent)
        if entry is None:
            if self.dosing is not None:
                self.dosing.block_label.setText(self.message())
            self.refresh()
            return None
        if self.dosing is not None:
            self.dosing.clear_inputs()
        return self._saved(entry)

    def record_override(self, key: str, reason: str = "") -> Any | None:
        """A reason for proceeding despite the hold ``key``."""
        return self._dosing(lambda: self.ctl.record_hold_reason(key, reason))

    def start_dosing(self) -> bool:
        """Start pressed: say why not, or ask for confirmation in the strip (never a dialog)."""
        refusal = self.ctl.start_refusal()
        if refusal:
            self.show_message(refusal, "warning")
            self.refresh()
            return False
        assert self.protocol is not None and self.plan is not None
        if self.protocol.uses_devices:
            return self._ask_device("")
        what = "Give the IM injection" if self.protocol.mode == "bolus" else "Start the infusion"
        self.confirm.ask(f"{what} now? {self.plan.summary()}", what,
                         lambda: self._dosing(lambda: self.ctl.start_infusion(confirmed=True)))
        return True

    def pause_infusion(self, reason: str) -> Any | None:
        return self._dosing(lambda: self.ctl.pause_infusion(reason))

    def resume_infusion(self) -> Any | None:
        return self._dosing(self.ctl.resume_infusion)

    def change_rate(self, rate: str, reason: str) -> Any | None:
        return self._dosing(lambda: self.ctl.change_rate(rate, reason))

    def stop_infusion(self, reason: str = "") -> bool:
        """Stop pressed: show what would be recorded (dose, volume, stopped early) and ask for confirmation."""
        if not self.timeline().running:
            self._do(lambda: self.ctl.stop_infusion(reason=reason))  # says why not
            return False
        summary = self.ctl.stop_summary()
        if not summary.completed and not reason.strip():
            self.show_message(f"{summary.text()}: give the reason for stopping early, then Stop.", "warning")
            if self.dosing is not None:
                self.dosing.block_label.setText(self.message())
                self.dosing.stop_reason.setFocus()
            return False
        self.confirm.ask(f"Stop the infusion now? {summary.text()}.", "Stop infusion",
                         lambda: self._dosing(lambda: self.ctl.stop_infusion(confirmed=True, reason=reason)))
        return True

    def give_device(self, lot: str = "") -> bool:
        return self._ask_device(lot)

    def _ask_device(self, lot: str) -> bool:
        gate = self.device_gate()
        if gate is None:
            return False
        refusal = self.ctl.start_refusal() if gate.devices_given == 0 else None
        if refusal or not gate.allowed:
            self.show_message(refusal or gate.reason, "warning")
            self.refresh()
            return False
        text = f"Device {gate.devices_given + 1} of {gate.devices_planned}"
        self.confirm.ask(f"Give {text.lower()} now{f' (lot {lot})' if lot.strip() else ''}?", f"{text} given",
                         lambda: self._dosing(lambda: self.ctl.give_device(lot, confirmed=True)))
        return True

    # -- discharge and sign-off --------------------------------------------------------------------------------
    def record_discharge(self) -> Any | None:
        assert self.discharge is not None
        form = self.discharge
        entry = self._do(lambda: self.ctl.record_discharge(
            form.confirmations(), ready_minutes=form.ready_minutes.value(),
            override_reason=form.override_reason.text(), notes=form.notes.text()))
        if entry is not None:
            self.show_message("Discharge recorded. Sign off the session when the record is complete.", "info")
        self.refresh()
        return entry

    def record_departure(self, how: str, details: str) -> Any | None:
        entry = self._do(lambda: self.ctl.record_departure(how, details))
        if entry is not None:
            self.show_message("Recorded how the patient left. Sign off the session when the record is complete.",
                              "info")
        self.refresh()
        return entry

    def open_signoff(self) -> SignoffPage | None:
        """The sign-off page in the side panel (the monitor and its alarms stay in view)."""
        if self.session is None:
            return None
        refusal = self.ctl.sign_refusal()
        if refusal:
            self.show_message(refusal, "warning")
            return None
        code = getattr(self.patient, "code", "") if self.patient is not None else ""
        self.signoff.reset(f"Session {self.session_id} {code}: {len(self.entries())} entries")
        self.forms.leave()
        self.stack.setCurrentIndex(PAGE_SIGN)
        self.signoff.password.setFocus()
        return self.signoff

    def _sign(self, password: str, meaning: str) -> Any:
        """The sign-off page's ``sign``: the signature goes on off the GUI thread (see :meth:`_sign_ended`)."""
        self.ctl.request_sign(password, meaning)
        self._requested()
        return PENDING

    def _sign_ended(self, outcome: Outcome) -> None:
        if not outcome.ok:  # wrong password, or the record refused: not signed, the page says why
            self.signoff.fail(outcome.error)
            if self.stack.currentIndex() != PAGE_SIGN:
                self.show_message(outcome.error, "error")
            return
        self.signoff.finish(outcome.value)  # -> _signed
        if outcome.note:
            self.show_message(f"Session signed, but: {outcome.note}", "error")

    def _signed(self, entry: Any) -> None:
        self.timer.stop()
        self._enable_entry_buttons(False)
        self.confirm.cancel()
        self.stack.setCurrentIndex(PAGE_SESSION)
        self.show_message("Session signed and sealed. Corrections from now on are amendments with a reason. "
                          "Press Next patient when the chair is free.", "info")
        self.refresh()
        self.session_signed.emit(entry)

    def next_patient(self) -> bool:
        """After sign-off: clear the session and its countdown and show the start form."""
        try:
            self.ctl.next_patient()
        except Refused as exc:
            self._refused(exc)
            return False
        self.new_session()
        return True

    def new_session(self) -> None:
        """Back to the start form (the controller has no session)."""
        if self.session is not None:
            return
        self.timer.stop()
        self.status = None
        self.confirm.cancel()
        self.forms.clear()
        self.countdown.show_nothing("")
        self.overdue_label.setVisible(False)
        self.entry_list.clear()
        self._enable_entry_buttons(True)
        self.start_form.error_label.setText("")
        self.stack.setCurrentIndex(PAGE_START)
        self.clear_message()
        self._update_header()

    # ------------------------------------------------------------------------------------------------ Qt events
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.session is not None and not self.sealed:
            self.timer.start()
        if self.ctl.pending is not None:
            self.pending_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()  # a hidden panel needs no countdown, and tests must leave no timer running
        self.pending_timer.stop()  # the intent goes on; its outcome is shown when the panel is shown again
        super().hideEvent(event)
