"""ChairRuntime: everything one treatment chair does, without Qt and without a logged-in user.

Data path::

    device threads ──ingest()──► LiveData (rings, numerics)          ◄── views pull snapshots (30 Hz)
                              ├► AlarmEngine inbox ── alarm thread tick() ──► alarm events ─┐
                              └► VitalsRecorder (its own batching thread)                   │
    views / scripts ── submit_entry() ─────────────────────────────────────────────────────┴► StorageWriter
                                                                  (one thread: entries through the outbox,
                                                                   alarm entries, heartbeat, retries)

The alarm engine belongs to the chair: it runs from :meth:`ChairRuntime.start` to :meth:`ChairRuntime.shutdown`
whoever is logged in, or nobody. While a session is open (:meth:`ChairRuntime.open_session`) its alarm events
become ``alarm`` entries written for the session's clinician (the acknowledging user's name is in the entry).

Nothing here blocks a caller on storage: :meth:`~ChairRuntime.submit_entry` validates (pure checks, no I/O)
and queues; the writer thread writes through the :class:`~console.record.outbox.EntryOutbox`, which keeps an
entry the database cannot take yet and retries it. State for views is pulled (:meth:`~ChairRuntime.snapshot`,
:attr:`~ChairRuntime.live`, :attr:`~ChairRuntime.alarms`), never pushed per sample, and no Qt signal is emitted
from any runtime thread. One :class:`~console.runtime.clock.Clock` drives device links, alarm timing and entry
times, so a simulation can run faster than real time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.alarms import AlarmEngine, AlarmLimits
from console.alarms.model import Alarm, priority_name
from console.alarms.presentation import status_text
from console.live.buffers import DEFAULT_SWEEP_SECONDS, LiveData, NumericRecord
from console.record.errors import RecordError, StorageUnavailable
from console.record.outbox import EntryOutbox, PendingEntry
from console.record.records import EntryRecord, UserContext
from console.runtime.acquisition import DeviceThread
from console.runtime.alarms import GuardedEngine
from console.runtime.clock import Clock, WallClock
from console.runtime.writer import StorageWriter
from devices import mdc
from devices.acquisition import DeviceLink
from devices.driver import Driver
from devices.model import AlarmPriority, LinkEvent, Sample
from devices.transport import PortSettings

log = logging.getLogger(__name__)

#: clock seconds between alarm evaluations; fast enough for a 2 Hz flash and the IEC response times
ALARM_INTERVAL_S = 0.125
#: real seconds between heartbeats of the open session (other consoles see it as live while fresh)
HEARTBEAT_INTERVAL_S = 15.0
#: real seconds between retries of entries the record could not take
OUTBOX_RETRY_S = 5.0
#: real seconds between checkpoints of the open session (the record's promise: vitals, waves and device
#: events come under the hash chain at least once a minute)
CHECKPOINT_INTERVAL_S = 60.0
#: real seconds between looks for vitals journals a crashed chair left (one at start; again later because the
#: record may have been unreachable at start)
JOURNAL_REPLAY_INTERVAL_S = 300.0
#: most sample batches kept while a session's recorder is starting (about a minute of four devices)
MAX_EARLY_BATCHES = 12_000

EntryResult = EntryRecord | PendingEntry


def default_alarm_limits() -> AlarmLimits:
    """Limits in force before a session (and its protocol) is chosen: the first built-in template's."""
    from console.clinical.protocols import ProtocolLibrary

    library = ProtocolLibrary.builtin()
    protocol = library.get(library.ids()[0])
    return AlarmLimits.from_dict(protocol.alarm_limits, protocol.version_tag)


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The latest state a device link reported."""

    source: str
    state: str  # a devices.model.LinkState value: "connecting", "connected", "lost", ...
    message: str
    time: float


@dataclass(frozen=True, slots=True)
class ChairSnapshot:
    """What a view (the console, a headless log, later the central board) shows of a chair at one moment."""

    chair: str
    time: float
    session_id: int | None
    numerics: dict[int | str, NumericRecord]
    links: dict[str, LinkStatus]
    alarms: list[Alarm]  # visible alarms, most urgent first (copies)
    audible: AlarmPriority
    pending_entries: int  # entries submitted or kept and not yet in the record
    recorder: Any  # the vitals recorder's status (None without an open session)

    def as_dict(self) -> dict[str, Any]:
        """The snapshot as JSON types, for a log, a status row or a central board: numerics keyed by MDC code
        (``value``, ``unit``, ``age_s`` since measured), active and latched alarms, link states."""
        numerics = {str(r.mdc): {"value": r.value, "unit": r.unit, "age_s": round(self.time - r.measured_at, 1)}
                    for r in self.numerics.values() if r.mdc}
        return {
            "chair": self.chair, "time": self.time, "session_id": self.session_id, "numerics": numerics,
            "alarms": [{"priority": priority_name(a.priority), "mdc": a.mdc, "text": status_text(a),
                        "active": a.active, "acknowledged": a.acknowledged, "technical": a.technical}
                       for a in self.alarms],
            "audible": priority_name(self.audible),
            "links": {name: {"state": link.state, "message": link.message,
                             "age_s": round(self.time - link.time, 1)} for name, link in self.links.items()},
            "pending_entries": self.pending_entries,
            "recording": self.recording_text(),
        }

    def recording_text(self) -> str:
        """One line for a status bar: what is being recorded and what still waits to be written."""
        if self.session_id is None:
            text = "No session open: alarms are shown, nothing is recorded"
        else:
            # the recorder's own one-line status (its message), whatever shape the recorder gives it
            detail = getattr(self.recorder, "message", "") if self.recorder is not None else "recorder starting"
            text = f"Recording session {self.session_id}" + (f" \u2014 {detail}" if detail else "")
        if self.pending_entries:
            text += f"; {self.pending_entries} entries not yet saved"
        return text


class ChairRuntime:
    """One chair's live pipeline and its writes (see the module docstring).

    ``db``: the open record, or ``None`` for a chair that only shows (no sessions, no entries: a window
    without a record, a test). ``clock``: real time by default. ``on_change``: called with one line per state
    change (link state, alarm start/end/acknowledgement, session opened/closed, entry kept unsaved), from the
    thread where it happened; it must be quick and thread-safe (a log call; never a Qt signal).
    """

    def __init__(self, db: Any, *, chair: str = "1", clock: Clock | None = None,
                 limits: AlarmLimits | None = None, sweep_seconds: float = DEFAULT_SWEEP_SECONDS,
                 alarm_interval: float = ALARM_INTERVAL_S, heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
                 outbox_retry_interval: float = OUTBOX_RETRY_S, journal_path: str | Path | None = None,
                 checkpoint_interval: float = CHECKPOINT_INTERVAL_S,
                 on_change: Callable[[str], None] | None = None,
                 recorder_options: dict[str, Any] | None = None) -> None:
        self.db = db
        self.chair = chair
        self.clock: Clock = clock or WallClock()
        self.live = LiveData(sweep_seconds)
        self.alarm_interval = alarm_interval
        self._on_change = on_change or (lambda line: log.info("%s", line))
        self._recorder_options = dict(recorder_options or {})

        self._engine_lock = threading.RLock()
        self._engine = AlarmEngine(limits or default_alarm_limits(), on_event=self._on_alarm_event)
        #: the engine for views (banner, alarm list, tiles): every call under the engine lock
        self.alarms = GuardedEngine(self._engine, self._engine_lock)

        self._state_lock = threading.Lock()
        self._links: dict[str, LinkStatus] = {}
        self._links_version = 0
        self._session: tuple[int, UserContext] | None = None
        self._recorder: Any = None
        # batches that arrive between open_session() and the recorder's start on the writer thread: kept so
        # the record starts with the session, not a moment later
        self._early: list[list[Sample]] | None = None

        self._consumers: list[Callable[[list[Sample]], None]] = []
        #: batches an extra consumer failed on (logged; acquisition carries on)
        self.consumer_errors = 0
        # the chair's own identity for the outbox; every entry names the user it is written for
        self.outbox: EntryOutbox | None = (
            EntryOutbox(db.service(db.system_user(f"chair:{chair}")), journal_path) if db is not None else None)
        self.writer = StorageWriter(f"chair-writer:{chair}")
        self.writer.every("heartbeat", heartbeat_interval, self._heartbeat)
        self.writer.every("outbox retry", outbox_retry_interval, self._retry_outbox)
        self.writer.every("checkpoint", checkpoint_interval, self._checkpoint)
        if db is not None:
            self.writer.every("journal replay", JOURNAL_REPLAY_INTERVAL_S, self._replay_journals)

        self._devices: list[DeviceThread] = []
        self._stop = threading.Event()
        self._alarm_thread: threading.Thread | None = None
        self._started = False
        self._closed = False

    # ------------------------------------------------------------------ devices and threads
    def add_device(self, driver: Driver, url: str | None = None, settings: PortSettings | None = None, *,
                   name: str = "", interval: float = 0.02) -> DeviceThread:
        """Add one device (``url=None`` for port-less drivers: the simulator); started with the runtime."""
        link = DeviceLink(driver, url, settings, name=name, clock=self.clock.now, interval=interval)
        thread = DeviceThread(link, self.ingest)
        with self._state_lock:
            self._devices.append(thread)
            self._links[link.name] = LinkStatus(link.name, "connecting", "starting", self.clock.now())
            self._links_version += 1
        if self._started and not self._closed:
            thread.start()
        return thread

    @property
    def devices(self) -> list[DeviceThread]:
        """The device threads, one per device."""
        with self._state_lock:
            return list(self._devices)

    def start(self, *, alarm_thread: bool = True) -> None:
        """Start the writer, every device thread and (unless a script ticks by hand) the alarm thread."""
        if self._closed:
            raise RuntimeError("this chair runtime was shut down; make a new one")
        if self._started:
            return
        self._started = True
        self.writer.start()
        if self.db is not None:
            # vitals a chair that crashed left in its journal go to the record first (off the caller's thread)
            self.writer.submit(self._replay_journals)
        for device in self.devices:
            device.start()
        if alarm_thread:
            self._alarm_thread = threading.Thread(target=self._alarm_loop, name=f"chair-alarms:{self.chair}",
                                                  daemon=False)
            self._alarm_thread.start()

    def shutdown(self, timeout: float = 30.0) -> bool:
        """Stop devices and the alarm thread, evaluate what arrived last, write everything pending, close the
        recorder, stop the writer. True when every thread ended. Safe to call twice."""
        if self._closed:
            return True
        self._closed = True
        ok = True
        for device in self.devices:
            if not device.stop():
                log.error("acquisition thread of %s did not stop", device.source)
                ok = False
        self._stop.set()
        if self._alarm_thread is not None:
            self._alarm_thread.join(timeout)
            ok = ok and not self._alarm_thread.is_alive()
        try:
            self.tick()  # the last samples still count: an alarm they raise is recorded
        except Exception:
            log.exception("final alarm evaluation failed")
        self.close_session()
        self.writer.submit(self._retry_outbox)
        ok = self.writer.close(timeout) and ok
        return ok

    # ------------------------------------------------------------------ the data path
    def ingest(self, samples: list[Sample]) -> None:
        """Take one batch of samples from any thread (the device threads' sink; scripts call it directly).

        Only stores and queues: buffers, the alarm engine's inbox, the recorder's queue.
        """
        events = self.live.ingest(samples)
        self._engine.submit(samples)  # a deque append: no lock, evaluated by tick()
        with self._state_lock:  # decides between the recorder and the early list, so the order is kept
            recorder = self._recorder
            if recorder is None and self._early is not None:
                if len(self._early) < MAX_EARLY_BATCHES:
                    self._early.append(list(samples))
                elif len(self._early) == MAX_EARLY_BATCHES:
                    self._early.append([])  # marks the overflow: said once, below
                    log.error("chair %s: the vitals recorder has not started; samples are not recorded",
                              self.chair)
        if recorder is not None:
            recorder.submit(samples)
        for event in events:
            self._link_event(event)
        for consumer in list(self._consumers):
            try:
                consumer(samples)
            except Exception:  # one broken consumer must not stop acquisition or the others
                self.consumer_errors += 1
                if self.consumer_errors <= 5:
                    log.exception("sample consumer %r failed", consumer)

    def add_consumer(self, consumer: Callable[[list[Sample]], None]) -> None:
        """Also hand every batch to ``consumer``, on the device thread: it must be thread-safe and quick."""
        self._consumers.append(consumer)  # list.append is atomic; ingest iterates over a copy

    def tick(self, now: float | None = None) -> None:
        """Evaluate queued samples and the time-driven alarm checks (the alarm thread calls this)."""
        with self._engine_lock:
            self._engine.tick(self.clock.now() if now is None else now)

    def _alarm_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a rule bug must not end alarm evaluation for the rest of the session
                log.exception("alarm evaluation failed")
            if self.clock.wait(self._stop, self.alarm_interval):
                return

    def _link_event(self, event: LinkEvent) -> None:
        source = event.source or "device"
        status = LinkStatus(source, event.state.value, event.message, event.host_time or self.clock.now())
        with self._state_lock:
            previous = self._links.get(source)
            self._links[source] = status
            self._links_version += 1
        if previous is None or previous.state != status.state:
            self._say(f"link {source}: {status.state} ({status.message})")

    # ------------------------------------------------------------------ session
    @property
    def session_id(self) -> int | None:
        """The session this chair records into, or ``None``."""
        session = self._session
        return session[0] if session else None

    @property
    def session_user(self) -> UserContext | None:
        """The clinician the open session's alarm entries are written for."""
        session = self._session
        return session[1] if session else None

    def open_session(self, session_id: int, user: UserContext, *, limits: AlarmLimits | None = None) -> None:
        """Record this chair's vitals and alarm events into ``session_id`` (written for ``user``, the session's
        clinician) until :meth:`close_session`. Returns at once; the recorder starts on the writer thread."""
        if self.db is None:
            raise RuntimeError(f"chair {self.chair} has no record to write a session into")
        self.close_session()
        with self._state_lock:
            self._session = (session_id, user)
            self._early = []
        if limits is not None:
            with self._engine_lock:
                self._engine.set_limits(limits)
        self._say(f"session {session_id}: recording vitals and alarms (entries for {user.username})")
        self.writer.submit(lambda: self._start_recorder(session_id))

    def close_session(self) -> None:
        """Stop recording (the recorder writes what it holds, on the writer thread). Safe without a session."""
        with self._state_lock:
            session, self._session = self._session, None
            recorder, self._recorder = self._recorder, None
            self._early = None
        if session is None:
            return
        self._say(f"session {session[0]}: recording stopped")
        self.writer.submit(lambda: self._stop_recorder(recorder))

    def set_baseline(self, sbp: float, dbp: float) -> None:
        """The session's pre-dose blood pressure for the rise rules (raises ValueError for implausible ones)."""
        with self._engine_lock:
            self._engine.set_baseline(sbp, dbp)

    def set_limits(self, limits: AlarmLimits) -> None:
        """Use these alarm limits from now on (a session's protocol)."""
        with self._engine_lock:
            self._engine.set_limits(limits)

    def _start_recorder(self, session_id: int) -> None:
        try:
            options = dict(self._recorder_options)
            user = self.session_user
            if self.outbox is not None and user is not None:
                # a gap in the vitals is said in the record as a note of the session's clinician
                options.setdefault("outbox", _SessionOutbox(self.outbox, user))
            recorder = self.db.vitals_recorder(session_id, **options)
        except RecordError as exc:  # said plainly; the alarms and entries of the session carry on
            self._say(f"session {session_id}: vitals are NOT recorded, the recorder did not start: {exc}")
            return
        with self._state_lock:
            if self._session is not None and self._session[0] == session_id and self._recorder is None:
                for batch in self._early or []:
                    recorder.submit(batch)  # a queue put each: the lock is held only briefly
                self._early = None
                self._recorder = recorder
                return
        self._stop_recorder(recorder)  # the session was closed meanwhile

    def _stop_recorder(self, recorder: Any) -> None:
        if recorder is None:
            return
        status = recorder.close()
        error = getattr(status, "error", "")
        if error:
            self._say(f"vitals recorder closed with an error: {error}")

    @property
    def recorder(self) -> Any:
        """The open session's :class:`~console.record.vitals.VitalsRecorder`, once started."""
        return self._recorder

    # ------------------------------------------------------------------ entries
    def submit_entry(self, session_id: int, kind: str, data: dict[str, Any], *, at: datetime | None = None,
                     user: UserContext | None = None) -> Future[EntryResult]:
        """Queue a clinical entry for the writer thread and return at once.

        Bad input or a role that may not write is refused here, at once (``InvalidEntry``/``PermissionDenied``),
        as the record would. The future resolves to the stored :class:`EntryRecord`, or to the
        :class:`PendingEntry` the outbox keeps while the database cannot take it (it is written later).
        ``at`` (the moment the entry describes) defaults to now on the record's clock.
        """
        who = user or self.session_user
        if self.db is None or self.outbox is None:
            raise RuntimeError(f"chair {self.chair} has no record to write entries into")
        if who is None:
            raise ValueError("an entry needs the user it is written for (no session is open at this chair)")
        when = at or self.db.now()
        self.db.service(who).check_entry(kind, data, when)  # validation only: no I/O
        future: Future[EntryResult] = Future()

        def write() -> None:
            assert self.outbox is not None
            try:
                result = self.outbox.add_entry(session_id, kind, data, at=when, user=who)
            except BaseException as exc:
                future.set_exception(exc)
                if isinstance(exc, RecordError):
                    self._say(f"{kind} entry refused by the record: {exc}")
                    return
                raise
            if isinstance(result, PendingEntry):
                self._say(f"{kind} entry kept unsaved, will retry: {result.last_error}")
            future.set_result(result)

        self.writer.submit(write)
        return future

    def _on_alarm_event(self, data: dict[str, Any]) -> None:
        """Called by the engine (under the engine lock) for every alarm start, end, acknowledgement, pause."""
        event = data.get("event", "")
        what = data.get("message") or data.get("parameter") or ""
        who = f" by {data['user']}" if data.get("user") else ""
        self._say(f"alarm {event}: {data.get('priority', '')} {what}{who}".replace("  ", " ").strip())
        session = self._session
        if session is None:
            return  # shown, but there is no record to write it to
        at = data.get("time")
        when = datetime.fromtimestamp(at, UTC) if isinstance(at, (int, float)) else None
        try:
            self.submit_entry(session[0], "alarm", data, at=when, user=session[1])
        except (RecordError, ValueError, RuntimeError) as exc:
            log.error("alarm entry not queued: %s", exc)

    # ------------------------------------------------------------------ writer jobs
    def _heartbeat(self) -> None:
        session_id = self.session_id
        if session_id is None:
            return
        try:
            self.db.heartbeat([session_id])
        except StorageUnavailable as exc:  # only other consoles miss it; say so, carry on
            log.warning("session heartbeat not written: %s", exc)

    def _checkpoint(self) -> None:
        session_id = self.session_id
        if session_id is None or self.db is None:
            return
        from console.record.checkpoints import append_checkpoint

        try:
            # what the recorder still buffers (an open numeric block) comes under the next checkpoint; flushing
            # here would cut blocks short and cost storage
            append_checkpoint(self.db, session_id, only_new_rows=True)
        except StorageUnavailable as exc:  # the next one covers these rows too
            log.warning("checkpoint of session %s not written: %s", session_id, exc)
        except RecordError as exc:  # closed or signed meanwhile: sign-off wrote its own checkpoint
            log.info("checkpoint of session %s skipped: %s", session_id, exc)

    def _replay_journals(self) -> None:
        from console.record.vitals import replay_orphaned_journals

        try:
            status = replay_orphaned_journals(self.db)
        except (RecordError, OSError) as exc:
            self._say(f"vitals journals of earlier sessions not written yet: {exc}")
            return
        if status is not None and status.journal_rows:
            self._say(f"vitals journals of earlier sessions: {status.pending_rows} rows still waiting for the "
                      "record")

    def retry_unsaved(self) -> None:
        """Ask the writer to retry the entries kept unsaved now (it also does every few seconds); never waits."""
        self.writer.submit(self._retry_outbox)

    def _retry_outbox(self) -> None:
        if self.outbox is None or not self.outbox.pending:
            return
        self.outbox.flush()  # keeps what it cannot write; an unexpected error is logged by the writer

    # ------------------------------------------------------------------ views
    def snapshot(self) -> ChairSnapshot:
        """A consistent copy of what a view shows (numerics, links, visible alarms, recording state)."""
        now = self.clock.now()
        with self._state_lock:
            links = dict(self._links)
            session = self._session
            recorder = self._recorder
        return ChairSnapshot(
            self.chair, now, session[0] if session else None, self.live.numerics.snapshot(), links,
            self.alarms.visible(), self.alarms.audible_priority(now),
            (len(self.outbox.pending) if self.outbox is not None else 0) + self.writer.backlog,
            recorder.status() if recorder is not None else None)

    def link_states(self) -> tuple[int, dict[str, LinkStatus]]:
        """``(version, {source: LinkStatus})``; the version moves on every report, so a view redraws only then."""
        with self._state_lock:
            return self._links_version, dict(self._links)

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait until every write submitted so far has run (scripts and tests; never on a GUI thread)."""
        return self.writer.drain(timeout)

    def _say(self, line: str) -> None:
        try:
            self._on_change(f"chair {self.chair}: {line}")
        except Exception:  # a broken log sink must not stop the chair
            log.exception("state-change consumer failed")


class _SessionOutbox:
    """The chair's outbox as the vitals recorder sees it: entries written for the session's clinician."""

    def __init__(self, outbox: EntryOutbox, user: UserContext) -> None:
        self._outbox = outbox
        self._user = user

    def add_entry(self, session_id: int, kind: str, data: dict[str, Any],
                  at: datetime | None = None) -> EntryResult:
        return self._outbox.add_entry(session_id, kind, data, at, user=self._user)


def baseline_bp(snapshot: dict[str, Any]) -> tuple[float, float] | None:
    """Systolic/diastolic from a vitals snapshot (``{"150021": {"value": ...}, ...}``), if both are there."""
    try:
        sbp = snapshot[str(mdc.NIBP_SYS)]["value"]
        dbp = snapshot[str(mdc.NIBP_DIA)]["value"]
    except (KeyError, TypeError):
        return None
    if isinstance(sbp, (int, float)) and isinstance(dbp, (int, float)):
        return float(sbp), float(dbp)
    return None
