"""Dosing controls: the holds from the pre-check, infusion start/pause/resume/rate/stop, IM injection, and the
esketamine device button with the 5-minute spacing enforced (disabled, with the reason shown, until allowed).

The widget only collects what the clinician chose and emits it; the session controller decides (start and stop
are confirmed in the panel's confirm strip) and the panel calls :meth:`DosingControls.update_state` again.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.clinical.protocols import DosePlan, Protocol
from console.clinical.schedule import DeviceGate, Timeline
from console.session.state import Hold

PAUSE_REASONS = ["Nausea", "Blood pressure rise", "Distressing dissociation", "Patient request", "IV site problem"]
RATE_REASONS = ["Side effects", "Blood pressure rise", "Dose adjustment per protocol"]


def _reason_combo(items: list[str]) -> QComboBox:
    c = QComboBox()
    c.setEditable(True)
    c.addItems(items)
    c.setCurrentIndex(-1)
    edit = c.lineEdit()
    if edit is not None:  # always, for an editable combo box
        edit.setPlaceholderText("reason (choose or type)")
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(10)
    return c


class DosingControls(QWidget):
    """Controls for one protocol; signals carry what the clinician entered."""

    override_requested = Signal(str, str)     # hold key, reason
    start_requested = Signal()
    pause_requested = Signal(str)             # reason
    resume_requested = Signal()
    rate_requested = Signal(str, str)         # new rate text, reason
    stop_requested = Signal(str)              # reason (needed when stopped before the planned dose)
    device_requested = Signal(str)            # lot

    def __init__(self, protocol: Protocol, plan: DosePlan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.protocol = protocol
        self.plan = plan
        layout = QVBoxLayout(self)
        self.plan_label = QLabel(plan.summary())
        self.plan_label.setWordWrap(True)
        f = self.plan_label.font()
        f.setPointSize(14)
        f.setBold(True)
        self.plan_label.setFont(f)
        layout.addWidget(self.plan_label)
        self.state_label = QLabel("Not started")
        self.state_label.setObjectName("dosingState")
        self.state_label.setFont(f)
        layout.addWidget(self.state_label)

        # a hold from the pre-check (not fasting, no escort, BP above the limit): shown until a reason is recorded
        self.hold_box = QGroupBox("Dosing on hold")
        hl = QVBoxLayout(self.hold_box)
        self.hold_label = QLabel()
        self.hold_label.setObjectName("reason")
        self.hold_label.setWordWrap(True)
        self.hold_reason = QLineEdit()
        self.hold_reason.setPlaceholderText("reason for proceeding (required)")
        self.override_button = QPushButton("Record reason and proceed")
        hl.addWidget(self.hold_label)
        hl.addWidget(self.hold_reason)
        hl.addWidget(self.override_button)
        self.hold_box.setVisible(False)
        layout.addWidget(self.hold_box)
        #: the hold the box is about now
        self.hold_key = ""
        self.override_button.clicked.connect(
            lambda: self.override_requested.emit(self.hold_key, self.hold_reason.text()))

        self.block_label = QLabel()
        self.block_label.setObjectName("reason")
        self.block_label.setWordWrap(True)

        if protocol.uses_devices:
            form = QFormLayout()
            self.lot = QLineEdit()
            self.lot.setPlaceholderText("lot number")
            form.addRow("Lot", self.lot)
            layout.addLayout(form)
            self.device_button = QPushButton("Give device 1")
            self.device_button.setObjectName("primary")
            self.device_button.clicked.connect(lambda: self.device_requested.emit(self.lot.text()))
            layout.addWidget(self.device_button)
            layout.addWidget(self.block_label)
        else:
            bolus = protocol.mode == "bolus"
            self.start_button = QPushButton("Give IM injection" if bolus else "Start infusion")
            self.start_button.setObjectName("primary")
            self.start_button.clicked.connect(self.start_requested)
            layout.addWidget(self.start_button)
            layout.addWidget(self.block_label)
            self.infusion_box = QGroupBox("Infusion")
            il = QVBoxLayout(self.infusion_box)
            # each action on two short rows (what and why / the button), so the side panel never needs
            # to be wider than a column of the main window
            self.pause_reason = _reason_combo(PAUSE_REASONS)
            self.pause_button = QPushButton("Pause")
            self.resume_button = QPushButton("Resume")
            il.addWidget(self.pause_reason)
            row = QHBoxLayout()
            row.addWidget(self.pause_button)
            row.addWidget(self.resume_button)
            il.addLayout(row)
            self.rate = QLineEdit()
            self.rate.setPlaceholderText("mL/h")
            self.rate.setMaximumWidth(110)
            self.rate_reason = _reason_combo(RATE_REASONS)
            self.rate_button = QPushButton("Change rate")
            row = QHBoxLayout()
            row.addWidget(self.rate)
            row.addWidget(self.rate_reason, 1)
            il.addLayout(row)
            il.addWidget(self.rate_button)
            self.stop_reason = QLineEdit()
            self.stop_reason.setPlaceholderText("reason, if stopped before the planned dose")
            self.stop_button = QPushButton("Stop infusion…")
            il.addWidget(self.stop_reason)
            il.addWidget(self.stop_button)
            layout.addWidget(self.infusion_box)
            self.infusion_box.setVisible(not bolus)
            self.pause_button.clicked.connect(lambda: self.pause_requested.emit(self.pause_reason.currentText()))
            self.resume_button.clicked.connect(self.resume_requested)
            self.rate_button.clicked.connect(
                lambda: self.rate_requested.emit(self.rate.text(), self.rate_reason.currentText()))
            self.stop_button.clicked.connect(lambda: self.stop_requested.emit(self.stop_reason.text()))
        layout.addStretch(1)

    def update_state(self, timeline: Timeline, holds: list[Hold], start_refusal: str | None,
                     gate: DeviceGate | None, rate_ml_h: float | None, now: float) -> None:
        """Enable what may be done now; say why the rest is not possible (the controller's own words)."""
        open_hold = next((h for h in holds if not h.blocking and not h.resolved), None)
        held = start_refusal is not None and not timeline.started
        self.hold_box.setVisible(open_hold is not None and not timeline.started and
                                 not any(h.blocking for h in holds))
        if open_hold is not None:
            self.hold_key = open_hold.key
            self.hold_label.setText(open_hold.message)
        if self.protocol.uses_devices:
            assert gate is not None
            given = gate.devices_given
            self.device_button.setText(f"Give device {min(given + 1, gate.devices_planned)} of "
                                       f"{gate.devices_planned} ({self.plan.device_mg:g} mg)")
            # the first device is the start of dosing: a tap on it while held says why
            self.device_button.setEnabled(gate.allowed)
            if held and given == 0:
                self.block_label.setText(start_refusal or "")
            else:
                self.block_label.setText("" if gate.allowed else gate.reason)
            if given:
                mins = (now - timeline.start) / 60.0 if timeline.start else 0
                self.state_label.setText(f"{given} of {gate.devices_planned} devices given; "
                                         f"{mins:.0f} min since the first")
            return
        started = timeline.started
        # enabled while not started: a tap on a held start says why (a disabled button says nothing)
        self.start_button.setEnabled(not started)
        self.block_label.setText((start_refusal or "") if not started else "")
        running = timeline.running and not timeline.paused
        self.pause_button.setEnabled(running)
        self.resume_button.setEnabled(timeline.running and timeline.paused)
        self.rate_button.setEnabled(timeline.running)
        self.stop_button.setEnabled(timeline.running)
        if timeline.start is None:
            self.state_label.setText("Not started")
        elif self.protocol.mode == "bolus":
            self.state_label.setText(f"Injection given {(now - timeline.start) / 60.0:.0f} min ago")
        elif timeline.end is not None:
            self.state_label.setText(f"Stopped after {(timeline.end - timeline.start) / 60.0:.0f} min")
        else:
            rate = f" at {rate_ml_h:g} mL/h" if rate_ml_h is not None else ""
            state = "PAUSED" if timeline.paused else "Running"
            self.state_label.setText(f"{state}{rate}, {(now - timeline.start) / 60.0:.0f} min since start")

    def clear_inputs(self) -> None:
        """After a successful save: empty the reason fields (never before, so nothing typed is lost)."""
        self.hold_reason.clear()
        if self.protocol.uses_devices:
            return
        self.pause_reason.setCurrentIndex(-1)
        self.pause_reason.setEditText("")
        self.rate.clear()
        self.rate_reason.setCurrentIndex(-1)
        self.rate_reason.setEditText("")
        self.stop_reason.clear()
