"""Background intents without Qt or threads: the lanes are queues the test runs by hand, so every interleaving a
hurried clinician or a locked record can produce is played deterministically."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console.clinical import ProtocolLibrary, ScaleLibrary
from console.record.errors import AuthError, StorageUnavailable
from console.session import BUSY_RETRY_S, Intent, Phase, Refused, SessionController
from console.session.background import BackgroundCall, Inline, Lane, State, Step
from tests.session_panel.conftest import Clock
from tests.session_panel.fake_service import FakeService

LIB = ProtocolLibrary.builtin()
PROTOCOL = LIB.get("iv-ketamine-0.5")


class HandLanes:
    """Lanes whose jobs wait in two queues until the test runs them."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, Callable[[], object]]] = []
        self.closed = False

    def compute(self, job: Callable[[], object]) -> None:
        self._put("compute", job)

    def write(self, job: Callable[[], object]) -> None:
        self._put("write", job)

    def _put(self, lane: str, job: Callable[[], object]) -> None:
        if self.closed:
            raise RuntimeError("chair-writer is closed; nothing more can be written")
        self.queued.append((lane, job))

    def run_next(self, lane: str) -> None:
        index = next(i for i, (name, _) in enumerate(self.queued) if name == lane)
        _, job = self.queued.pop(index)
        job()

    def run_all(self) -> list[str]:
        ran = []
        while self.queued:
            lane, job = self.queued.pop(0)
            ran.append(lane)
            job()
        return ran


class Ticks:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- the call ------------------------------------------------------------------------------------------------
def test_steps_run_in_order_on_their_lanes_each_given_what_the_last_returned() -> None:
    lanes, seen = HandLanes(), []

    def step(result: str) -> Callable[[Any], str]:
        def run(value: Any) -> str:
            seen.append(value)
            return result
        return run

    call = BackgroundCall("sign", [Step(Lane.COMPUTE, step("key")), Step(Lane.WRITE, step("entry"))],
                          lanes).start()
    assert call.state is State.RUNNING and [lane for lane, _ in lanes.queued] == ["compute"]
    assert lanes.run_all() == ["compute", "write"]
    assert seen == [None, "key"] and call.poll() is State.DONE and call.value == "entry"


def test_a_busy_record_is_retried_from_the_failed_step_only_after_the_pause() -> None:
    lanes, ticks, runs = HandLanes(), Ticks(), {"key": 0, "seal": 0}
    failures = [StorageUnavailable("database is locked")] * 2

    def key(_: Any) -> str:
        runs["key"] += 1
        return "opened key"

    def seal(k: str) -> str:
        runs["seal"] += 1
        assert k == "opened key"  # the KDF is not run again for a retry of the commit
        if failures:
            raise failures.pop()
        return "signature"

    call = BackgroundCall("sign", [Step(Lane.COMPUTE, key), Step(Lane.WRITE, seal)], lanes, monotonic=ticks)
    call.start()
    lanes.run_all()
    assert call.poll() is State.BUSY and str(call.error) == "database is locked"
    assert lanes.queued == []  # no retry before the pause: a server that is down is not hammered
    ticks.t += BUSY_RETRY_S
    assert call.poll() is State.RUNNING and [lane for lane, _ in lanes.queued] == ["write"]
    lanes.run_all()
    ticks.t += BUSY_RETRY_S
    call.poll()
    lanes.run_all()
    assert call.poll() is State.DONE and call.value == "signature"
    assert runs == {"key": 1, "seal": 3} and call.attempts == 4


def test_any_other_failure_ends_the_call_and_is_not_retried() -> None:
    lanes, ticks, runs = HandLanes(), Ticks(), []

    def wrong(_: Any) -> None:
        runs.append(1)
        raise AuthError("The password is not correct; the session was not signed.")

    call = BackgroundCall("sign", [Step(Lane.COMPUTE, wrong), Step(Lane.WRITE, lambda v: v)], lanes,
                          monotonic=ticks).start()
    lanes.run_all()
    ticks.t += 10 * BUSY_RETRY_S
    assert call.poll() is State.FAILED and isinstance(call.error, AuthError)
    assert lanes.queued == [] and runs == [1]


def test_inline_lanes_end_on_a_busy_record_as_a_direct_write_would() -> None:
    def busy(_: Any) -> None:
        raise StorageUnavailable("database is locked")

    call = BackgroundCall("amend", [Step(Lane.WRITE, busy)], Inline()).start()
    assert call.poll() is State.FAILED


def test_a_closed_writer_ends_the_call_instead_of_losing_it_silently() -> None:
    lanes = HandLanes()
    lanes.closed = True
    call = BackgroundCall("begin", [Step(Lane.WRITE, lambda v: v)], lanes).start()
    assert call.poll() is State.FAILED and "closed" in str(call.error)


# -- the controller ------------------------------------------------------------------------------------------
@pytest.fixture
def lanes() -> HandLanes:
    return HandLanes()


@pytest.fixture
def svc() -> FakeService:
    return FakeService(Clock())


@pytest.fixture
def ctl(svc: FakeService, lanes: HandLanes) -> SessionController:
    return SessionController(svc, clock=Clock(), scales=ScaleLibrary.builtin(), protocols=LIB, lanes=lanes)


def _begun(ctl: SessionController, lanes: HandLanes) -> None:
    assert ctl.request_begin("P-001", PROTOCOL, PROTOCOL.plan(70.0), "2", weight_kg=70.0) is Intent.BEGIN
    lanes.run_all()
    outcome = ctl.poll()
    assert outcome is not None and outcome.ok and ctl.session is outcome.value


def _discharged(ctl: SessionController, lanes: HandLanes) -> None:
    _begun(ctl, lanes)
    ctl.record_departure("transferred", "to the emergency department")


def test_start_is_pending_until_the_writer_ran_it_and_a_second_start_is_refused(ctl, svc, lanes) -> None:
    ctl.request_begin("P-001", PROTOCOL, PROTOCOL.plan(70.0), "2", weight_kg=70.0)
    assert ctl.session is None and ctl.phase is Phase.NO_SESSION and svc.sessions == {}
    assert ctl.poll() is None
    with pytest.raises(Refused, match="Starting the session"):
        ctl.request_begin("P-001", PROTOCOL, PROTOCOL.plan(70.0), "2", weight_kg=70.0)
    lanes.run_all()
    outcome = ctl.poll()
    assert outcome is not None and outcome.intent is Intent.BEGIN and outcome.ok
    assert ctl.phase is Phase.CHOSEN and len(svc.sessions) == 1 and ctl.pending is None
    assert ctl.poll() is None  # an outcome is handed over once


def test_sign_is_pending_and_everything_that_would_repeat_or_contradict_it_is_refused(ctl, svc, lanes) -> None:
    _discharged(ctl, lanes)
    note = ctl.entries()[-1]
    ctl.request_sign("secret")
    assert ctl.sign_refusal() == "Signing\u2026 Wait until it is done."
    for intent in (lambda: ctl.request_sign("secret"), lambda: ctl.sign("secret"),
                   lambda: ctl.request_amend(note.id, "typo", dict(note.data)),
                   lambda: ctl.add_entry("note", {"text": "late"}), ctl.next_patient):
        with pytest.raises(Refused):
            intent()
    assert ctl.log_overdue() == []
    assert svc.signatures == [] and not ctl.signed
    lanes.run_all()
    outcome = ctl.poll()
    assert outcome is not None and outcome.ok and outcome.value.kind == "signature"
    assert ctl.signed and ctl.phase is Phase.SIGNED and svc.signatures == [(svc.only_session().id, "authored")]
    assert [e.kind for e in ctl.entries()][-1] == "signature"


def test_a_wrong_password_is_an_outcome_with_the_services_words_and_nothing_signed(ctl, svc, lanes) -> None:
    _discharged(ctl, lanes)
    ctl.request_sign("not it")
    lanes.run_all()
    outcome = ctl.poll()
    assert outcome is not None and not outcome.ok and outcome.error_kind == "auth"
    assert outcome.error == "The password is not correct; the session was not signed."
    assert not ctl.signed and ctl.pending is None and svc.signatures == []
    ctl.request_sign("secret")  # may be tried again at once
    lanes.run_all()
    assert ctl.poll() is not None and ctl.signed


def test_a_busy_record_keeps_the_intent_pending_with_the_records_words(ctl, svc, lanes) -> None:
    _discharged(ctl, lanes)
    svc.fail_with = StorageUnavailable("The record database is busy: another program holds it locked.")
    ctl.request_sign("secret")
    lanes.run_all()
    assert ctl.poll() is None and ctl.pending is not None
    assert ctl.busy_reason() == "The record is busy: still trying."
    assert ctl.busy_detail() == "The record database is busy: another program holds it locked."
    svc.fail_with = None
    assert ctl.pending.call.state is State.BUSY


def test_a_correction_is_applied_when_it_is_stored_and_unsigns_the_session(ctl, svc, lanes) -> None:
    _discharged(ctl, lanes)
    ctl.request_sign("secret")
    lanes.run_all()
    ctl.poll()
    first = ctl.entries()[0]
    ctl.request_amend(first.id, "wording", dict(first.data, notes="Transferred by ambulance"))
    assert ctl.signed  # nothing stored yet: still signed
    lanes.run_all()
    outcome = ctl.poll()
    assert outcome is not None and outcome.ok and outcome.value.kind == "amendment"
    assert not ctl.signed and ctl.sealed and ctl.entries()[-1] is outcome.value


def test_a_failed_start_stores_nothing_and_says_so(ctl, svc, lanes) -> None:
    svc.fail_with = ValueError("weight 900 kg is not plausible")
    ctl.request_begin("P-001", PROTOCOL, PROTOCOL.plan(70.0), "2", weight_kg=70.0)
    lanes.run_all()
    outcome = ctl.poll()
    assert outcome is not None and outcome.error == "Cannot save the session: weight 900 kg is not plausible"
    assert ctl.session is None and svc.sessions == {} and ctl.pending is None


def test_an_overdue_note_is_written_by_the_writer_lane_once_and_a_failure_is_said_and_retried_later() -> None:
    """The 1 Hz tick logs late checks: that write must not hold the GUI thread either."""
    from tests.session.test_controller import Monitor, ready

    clock, lanes = Clock(), HandLanes()
    svc, monitor = FakeService(clock), Monitor(clock)
    ctl = SessionController(svc, clock=clock, latest_vitals=monitor, scales=ScaleLibrary.builtin(),
                            protocols=LIB, lanes=lanes)
    ready(ctl, monitor)
    ctl.start_infusion(confirmed=True)
    clock.advance(16)  # the 10-minute BP is 6 minutes late

    svc.fail_with = StorageUnavailable("The record database is busy.")
    assert ctl.log_overdue() == []  # returns at once: the note waits for the writer
    assert ctl.log_overdue() == [] and len(lanes.queued) == 1  # not sent twice while on its way
    lanes.run_all()
    problems = ctl.log_overdue()
    assert len(problems) == 1 and problems[0].startswith("The overdue note for BP at 10 min was NOT saved.")
    assert lanes.queued == []  # a busy record: tried again on the note's own schedule, not at once
    svc.fail_with = None
    clock.advance(0.6)  # past OVERDUE_RETRY_S
    assert ctl.log_overdue() == []
    lanes.run_all()
    assert ctl.log_overdue() == []
    logged = [e.data["key"] for e in svc.only_session().entries if e.kind == "check_overdue"]
    assert logged == ["bp@10"] and [e.kind for e in ctl.entries()][-1] == "check_overdue"
    clock.advance(1)
    assert ctl.log_overdue() == [] and lanes.queued == []  # logged once
