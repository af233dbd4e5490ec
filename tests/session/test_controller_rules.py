"""A hurried clinician presses anything in any order: whatever reaches the record still keeps the rules.

Hypothesis drives the controller with random sequences of intents (confirmed or not, with or without reasons,
the clock moving on in between). After every step the stored entries are checked against the workflow's
promises, whatever the controller allowed or refused.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from console.clinical import ProtocolLibrary, ScaleLibrary
from console.clinical.entries import precheck_data
from console.session import Refused, SessionController, infusion_given
from devices import mdc
from devices.model import State
from tests.session_panel.conftest import Clock
from tests.session_panel.fake_service import FakeService

LIB = ProtocolLibrary.builtin()
SCALES = ScaleLibrary.builtin()
PROTOCOL = LIB.get("iv-ketamine-0.5")
PLAN = PROTOCOL.plan(70.0)
ANSWERS = {"moaas": {"score": 5}, "cadss6": dict.fromkeys(("1", "2", "6", "7", "15", "22"), 0)}
HOLD_FIELDS = {"fasting": "fasting", "escort": "escort_arranged"}


class Workflow(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.svc = FakeService(self.clock)
        bp = {mdc.NIBP_SYS: (128.0, State.NONE, self.clock()), mdc.NIBP_DIA: (82.0, State.NONE, self.clock())}
        self.ctl = SessionController(self.svc, clock=self.clock, latest_vitals=lambda: bp, scales=SCALES,
                                     protocols=LIB)
        self.patients = 0

    def _try(self, call: Any) -> None:
        try:
            call()
        except Refused as exc:
            assert exc.reason and "\n" not in exc.reason.strip()

    @rule()
    def begin(self) -> None:
        self.patients += 1
        self._try(lambda: self.ctl.begin(f"P-{self.patients}", PROTOCOL, PLAN, "1", weight_kg=70.0))

    @rule(identity=st.booleans(), consent=st.booleans(), fasting=st.booleans(), escort=st.booleans())
    def precheck(self, identity: bool, consent: bool, fasting: bool, escort: bool) -> None:
        data = precheck_data(identity_confirmed=identity, consent_on_file=consent, fasting=fasting,
                             escort_arranged=escort, baseline_vitals=self.ctl.vitals())
        self._try(lambda: self.ctl.save_precheck([("precheck", data)]))

    @rule(fasting=st.booleans())
    def get_ready(self, fasting: bool) -> None:
        """The usual way to the start (so that random runs reach dosing often): pre-check and baseline ratings."""
        self.precheck(True, True, fasting, True)
        for scale in ANSWERS:
            self.rating(scale, None)

    @rule(scale=st.sampled_from(["moaas", "cadss6"]), point=st.sampled_from([None, "baseline", "40", "end"]))
    def rating(self, scale: str, point: str | None) -> None:
        self._try(lambda: self.ctl.record_rating(SCALES.get(scale), ANSWERS[scale], point=point))

    @rule(key=st.sampled_from(["fasting", "escort", "bp", "consent", "identity"]),
          reason=st.sampled_from(["", "ok", "escort confirmed by phone"]))
    def hold_reason(self, key: str, reason: str) -> None:
        self._try(lambda: self.ctl.record_hold_reason(key, reason))

    @rule(confirmed=st.booleans())
    def start(self, confirmed: bool) -> None:
        self._try(lambda: self.ctl.start_infusion(confirmed=confirmed))

    @rule(minutes=st.sampled_from([0.5, 3, 10, 25]))
    def wait(self, minutes: float) -> None:
        self.clock.advance(minutes)

    @rule(pause=st.booleans())
    def pause_or_resume(self, pause: bool) -> None:
        self._try(lambda: self.ctl.pause_infusion("Nausea") if pause else self.ctl.resume_infusion())

    @rule(rate=st.sampled_from(["30", "80"]))
    def change_rate(self, rate: str) -> None:
        self._try(lambda: self.ctl.change_rate(rate, "Blood pressure rise"))

    @rule(confirmed=st.booleans(), reason=st.sampled_from(["", "patient request"]))
    def stop(self, confirmed: bool, reason: str) -> None:
        self._try(lambda: self.ctl.stop_infusion(confirmed=confirmed, reason=reason))

    @rule()
    def start_and_stop_soon(self) -> None:
        """Start confirmed and, a little later, stop confirmed with a reason: the stop's arithmetic gets tried."""
        self.start(True)
        self.clock.advance(7)
        self.stop(True, "patient request")

    @rule(regular=st.booleans())
    def discharge(self, regular: bool) -> None:
        if regular:
            self._try(lambda: self.ctl.record_discharge({}, override_reason="reviewed at the chair"))
        else:
            self._try(lambda: self.ctl.record_departure("transferred", "to the ward"))

    @rule(password=st.sampled_from(["secret", "wrong", ""]))
    def sign(self, password: str) -> None:
        self._try(lambda: self.ctl.sign(password))

    @rule()
    def next_patient(self) -> None:
        self._try(self.ctl.next_patient)

    # -- the promises, checked on what the record holds ---------------------------------------------------------
    @invariant()
    def every_session_in_the_record_keeps_the_rules(self) -> None:
        for session in self.svc.sessions.values():
            self._check(session.entries)

    def _check(self, entries: list[Any]) -> None:
        kinds = [e.kind for e in entries]
        if "infusion_start" in kinds:
            i = kinds.index("infusion_start")
            before = entries[:i]
            prechecks = [e.data for e in before if e.kind == "precheck"]
            assert prechecks, "dosing started without a saved pre-check"
            pre = prechecks[-1]
            assert pre["identity_confirmed"] and pre["consent_on_file"]
            overridden = {e.data["limit"] for e in before if e.kind == "hold_override"}
            for key, name in HOLD_FIELDS.items():
                assert pre[name] or key in overridden, f"{key} hold without a reason"
            baseline = {e.data["scale"] for e in before if e.kind == "observation"
                        and e.data.get("point") == "baseline"}
            assert baseline == {"moaas", "cadss6"}
            after = entries[i:]
            assert all(e.data.get("point") != "baseline" for e in after if e.kind == "observation")
        for n, e in enumerate(entries):
            if e.kind == "infusion_stop":
                given = infusion_given(entries[:n], PLAN, e.at.timestamp())
                assert e.data["volume_given_ml"] == given.volume_ml
                assert e.data["dose_given_mg"] == given.dose_mg
                assert e.data["completed"] is (given.volume_ml >= 0.99 * 35.0)
                assert e.data["completed"] or e.data["reason"]
            if e.kind == "signature":
                assert "discharge" in kinds[:n], "signed without a discharge"
        assert kinds.count("infusion_start") <= 1 and kinds.count("infusion_stop") <= 1
        assert kinds.count("discharge") <= 1


Workflow.TestCase.settings = settings(max_examples=80, stateful_step_count=40, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
TestWorkflow = Workflow.TestCase
