"""The session panel's header: who is in the chair, the protocol and dose, where the session stands, what to do
next, and after sign-off the big Next patient button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from console.clinical.schedule import Timeline
from console.session import Phase, SessionController

#: what to do next, shown under the session state, per phase
NEXT_STEP: dict[Phase, str] = {
    Phase.CHOSEN: "Next: the pre-check (identity, consent, baseline vitals) - save it.",
    Phase.PRECHECKED: "Next: baseline ratings before dosing (MOAA/S F2, CADSS-6 F3).",
    Phase.READY: "Next: start dosing on the Dosing tab.",
    Phase.DOSING: "Dosing: ratings and checks as the countdown asks.",
    Phase.PAUSED: "Infusion PAUSED: resume or stop it on the Dosing tab.",
    Phase.MONITORING: "Monitoring: record the discharge when the patient is ready.",
    Phase.DISCHARGED: "Next: sign the session (Discharge tab).",
    Phase.SIGNED: "Signed. Press Next patient when the chair is free.",
}


class SessionHeader(QWidget):
    """Shows a :class:`SessionController`'s session; :meth:`show_state` refreshes it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
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
        self.protocol_label.setWordWrap(True)  # a long protocol title wraps: clinical text is never cut
        self.plan_label = QLabel("")
        self.plan_label.setObjectName("dosePlan")
        self.plan_label.setWordWrap(True)  # dose, volume and rate in full ("= 35.0 mL at 1..." was cut)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.state_label = QLabel("")
        self.state_label.setObjectName("sessionState")
        f = self.state_label.font()
        f.setPointSize(13)
        f.setBold(True)
        self.state_label.setFont(f)
        self.next_label = QLabel("")
        self.next_label.setObjectName("nextStep")
        self.next_label.setWordWrap(True)
        for label in (self.protocol_label, self.plan_label, self.state_label, self.next_label):
            layout.addWidget(label)
        self.next_patient_button = QPushButton("Next patient")
        self.next_patient_button.setObjectName("primary")
        self.next_patient_button.setMinimumHeight(52)
        self.next_patient_button.setVisible(False)
        layout.addWidget(self.next_patient_button)

    def show_state(self, ctl: SessionController, timeline: Timeline | None, now: float) -> None:
        """Title, plan and state of ``ctl``'s session (the state line only when ``timeline`` is given)."""
        self.demo_badge.setVisible(ctl.demo)
        for label in (self.protocol_label, self.plan_label, self.state_label, self.next_label):
            label.setVisible(ctl.session is not None)
        self.next_patient_button.setVisible(ctl.session is not None and ctl.signed)
        if ctl.session is None or ctl.protocol is None:
            self.title_label.setText("No session")
            return
        code = getattr(ctl.patient, "code", None) or getattr(ctl.session, "patient_code", "") or ""
        name = getattr(ctl.patient, "name", None)
        chair = getattr(ctl.session, "chair", "")
        self.title_label.setText(" ".join(x for x in (str(code), name or "", f"- chair {chair}" if chair else "") if x))
        self.protocol_label.setText(f"{ctl.protocol.title} ({ctl.protocol.version_tag})")
        self.plan_label.setText(ctl.plan.summary() if ctl.plan is not None and ctl.plan.dose_mg else "")
        if timeline is None:
            return
        phase = ctl.phase
        self.next_label.setText(NEXT_STEP.get(phase, ""))
        if phase is Phase.READY:
            refusal = ctl.start_refusal()
            if refusal:  # a hold still to resolve
                self.next_label.setText(f"Before dosing: {refusal}")
        self.state_label.setText(self._state(ctl, phase, timeline, now))

    def _state(self, ctl: SessionController, phase: Phase, timeline: Timeline, now: float) -> str:
        assert ctl.protocol is not None
        if ctl.signed:
            return "Signed"
        if ctl.sealed:
            self.next_label.setText("Sign the session again (Discharge tab).")
            return "Corrected after signing: sign again"
        if phase is Phase.DISCHARGED:
            return "Discharged"
        if timeline.start is None:
            return "Pre-check"
        if ctl.protocol.uses_devices and timeline.end is None:
            planned = ctl.plan.devices if ctl.plan is not None else None
            return f"Dosing: {len(timeline.device_times)} of {planned} devices given"
        if timeline.running:
            return ("PAUSED" if timeline.paused else "Infusing") + f"  {(now - timeline.start) / 60.0:.0f} min"
        return f"Monitoring  {(now - timeline.start) / 60.0:.0f} min since dosing"
