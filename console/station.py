"""The chair station: the console's view of a :class:`~console.runtime.ChairRuntime` for one logged-in user.

The runtime owns the data path (device threads, live buffers, the alarm engine, the vitals recorder, the entry
outbox and the one storage writer) and runs whoever is logged in. This module only shows it and forwards what
the user does:

* :class:`AlarmDisplay` (every role): the alarm banner, the alarm list and the tiles' alarm colours, refreshed
  from the runtime on a GUI timer; acknowledgements and audio pauses go to the runtime with the user's name;
* :class:`ChairStation` (clinicians): the session panel; a session it starts or resumes is handed to the runtime
  (which then records vitals and alarm entries into it), the pre-check's baseline BP goes to the alarm rules.

The GUI thread never waits on the runtime's storage: alarm entries, the heartbeat and outbox retries are written
by the runtime's writer thread, and so are the panel's session starts, corrections and signatures
(:class:`ChairLanes`); the seconds of password KDF a signature costs run on a worker of the station's own, so
they hold up neither the screen nor the vitals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from console.alarms import AlarmLimits
from console.main_window import MainWindow
from console.record.outbox import EntryOutbox, PendingEntry
from console.record.records import EntryRecord, UserContext
from console.board.chair_link import PhaseBox, board_phase
from console.runtime import ChairRuntime
from console.runtime.chair import baseline_bp, default_alarm_limits
from console.runtime.writer import Job, StorageWriter
from devices import mdc
from devices.model import Sample

log = logging.getLogger(__name__)

__all__ = ["ALARM_TILES", "AlarmDisplay", "ChairLanes", "ChairStation", "UserOutbox", "baseline_bp",
           "default_alarm_limits"]

#: banner, list and tile colours are refreshed this often; fast enough for a 2 Hz flash
ALARM_REFRESH_MS = 125
#: the recording line in the status bar is refreshed this often
RECORDING_REFRESH_MS = 1000
#: the longest the GUI thread waits for an entry's write (on the runtime's writer thread) before showing it as
#: kept on this computer: long enough for a normal commit, short enough that a locked record never freezes
#: the screen
GUI_WRITE_WAIT_S = 0.5
#: tiles the alarm engine colours: (tile's main code, every code whose alarm lights it)
ALARM_TILES: tuple[tuple[int, ...], ...] = (
    (mdc.HEART_RATE, mdc.PULSE_RATE_OXIM, mdc.PULSE_RATE),
    (mdc.SPO2,),
    (mdc.NIBP_SYS, mdc.NIBP, mdc.NIBP_DIA, mdc.NIBP_MEAN),
    (mdc.RESP_RATE,),
    (mdc.ETCO2,),
)


class AlarmDisplay(QObject):
    """The chair's alarms on the window, for any role: banner, alarm list, tile colours (pulled, 8 Hz)."""

    def __init__(self, window: MainWindow, user_name: Callable[[], str | None], *,
                 clock: Callable[[], float] | None = None, audio: Any = None) -> None:
        super().__init__(window)
        from widgets.alarm_banner import AlarmBanner
        from widgets.alarm_list import AlarmList

        self.window = window
        self.runtime: ChairRuntime = window.runtime
        self.clock = clock or window.clock
        alarms: Any = self.runtime.alarms  # the engine's display and action methods, each under its lock
        self.banner = AlarmBanner(alarms, user=user_name, clock=self.clock, audio=audio)
        window.set_alarm_banner(self.banner)
        # the list of this chair's alarms (times, values, limits, who acknowledged) beside the NIBP tile
        self.alarm_list = AlarmList(alarms, user=user_name, clock=self.clock)
        window.set_extra_widget(self.alarm_list)
        self._timer = QTimer(self)
        self._timer.setObjectName("stationAlarmRefresh")
        self._timer.setInterval(ALARM_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._closed = False

    def refresh(self) -> None:
        """Show the runtime's alarms (evaluated on its own thread) on the banner, the list and the tiles."""
        now = self.clock()
        self.banner.refresh(now)
        self.alarm_list.refresh()
        for codes in ALARM_TILES:
            tile = self.window.tile_for(codes[0])
            if tile is not None:
                tile.set_alarm(*self.banner.alarm_style_for(codes))

    def shutdown(self) -> None:
        """Stop the refresh timer and the banner's sound and flash. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self.banner.shutdown()


class UserOutbox:
    """The runtime's entry outbox as one user's panel sees it: ``add_entry`` writes for that user, on the
    runtime's writer thread (the GUI thread waits :data:`GUI_WRITE_WAIT_S` at most, never for storage)."""

    def __init__(self, outbox: EntryOutbox, user: UserContext,
                 write_soon: Callable[[], None] | None = None) -> None:
        self._outbox = outbox
        self.user = user
        self._write_soon = write_soon

    @property
    def pending(self) -> list[PendingEntry]:
        """Every entry of this chair not yet in the record (any user's), oldest first."""
        return self._outbox.pending

    def add_entry(self, session_id: int, kind: str, data: dict[str, Any],
                  at: Any = None) -> EntryRecord | PendingEntry:
        """As :meth:`EntryOutbox.add_entry`, for this user; written by the runtime's writer thread when the
        station gave one (the stored entry if written within :data:`GUI_WRITE_WAIT_S`, else the kept one)."""
        if self._write_soon is None:
            return self._outbox.add_entry(session_id, kind, data, at, user=self.user)
        return self._outbox.add_entry_via(self._write_soon, session_id, kind, data, at, user=self.user,
                                          wait_s=GUI_WRITE_WAIT_S)

    def flush(self) -> int:
        return self._outbox.flush()


class ChairLanes:
    """Where the session panel's background intents run (``console.session.Lanes``): writes on the chair
    runtime's writer thread, in order with the chair's other writes; slow CPU (opening the signing key) on
    ``worker``, so the vitals writer is not held up for the seconds of KDF."""

    def __init__(self, writer: StorageWriter, worker: StorageWriter) -> None:
        self.writer = writer
        self.worker = worker

    def compute(self, job: Job) -> None:
        self.worker.submit(job)

    def write(self, job: Job) -> None:
        self.writer.submit(job)


class ChairStation(QObject):
    """Joins the session panel of a logged-in clinician to the window's :class:`ChairRuntime`."""

    def __init__(self, window: MainWindow, db: Any, user: Any, *, chair: str = "1",
                 take_bp: Callable[[], Any] | None = None, devices: Callable[[], list[str]] | None = None,
                 clock: Callable[[], float] | None = None, audio: Any = None) -> None:
        super().__init__(window)
        from console.session_panel import SessionPanel

        runtime = window.runtime
        if runtime.db is None or runtime.outbox is None:
            raise ValueError("the station needs a window whose chair runtime has a record")
        self.window = window
        self.runtime = runtime
        self.db = db
        self.user = user
        self.clock = clock or window.clock
        self.service = db.service(user)
        self.outbox = UserOutbox(runtime.outbox, user, runtime.retry_unsaved)
        self.alarms = AlarmDisplay(window, self.user_name, clock=self.clock, audio=audio)
        self.banner = self.alarms.banner
        self.alarm_list = self.alarms.alarm_list
        self.engine = runtime.alarms
        #: the signing key's KDF runs here (one thread; never the GUI thread, never the vitals writer)
        self.worker = StorageWriter(f"chair-keys:{runtime.chair}")
        self.worker.start()
        self.lanes = ChairLanes(runtime.writer, self.worker)

        self.panel = SessionPanel(self.service, latest_vitals=window.latest_vitals, take_bp=take_bp,
                                  chair=chair, devices=devices or (list), demo=bool(user.demo),
                                  outbox=self.outbox, lanes=self.lanes)
        window.set_session_panel(self.panel)
        self.panel.session_started.connect(self._on_session_started)
        self.panel.entry_added.connect(self._on_entry_added)
        self.panel.session_signed.connect(self._on_session_signed)
        self._recording_timer = QTimer(self)
        self._recording_timer.setObjectName("stationRecordingStatus")
        self._recording_timer.setInterval(RECORDING_REFRESH_MS)
        self._recording_timer.timeout.connect(self.refresh_recording)
        #: the workflow's phase for the board's publisher thread (set here on the GUI thread, read there)
        self.board_phase = PhaseBox()
        self._recording_timer.timeout.connect(self.refresh_board_phase)
        self._recording_timer.start()
        self._closed = False
        window.status.set_user(f"Signed in as {self.user_name()} ({getattr(user, 'role', 'clinician')})")
        self.refresh_recording()

    def refresh_recording(self) -> str:
        """Show what the chair records and what waits to be written (pulled from the runtime); returns it."""
        text = self.runtime.snapshot().recording_text()
        self.window.status.set_recording(text)  # its own place: never over the link states or the user
        return text

    def refresh_board_phase(self) -> None:
        """Hand the session's phase, next check and overdue checks to the board publisher."""
        try:
            self.board_phase.set(board_phase(self.panel.ctl, self.clock()))
        except Exception:  # the board is a convenience: a failure here must never disturb the chair
            log.exception("board phase not updated")

    def user_name(self) -> str:
        """The signed-in user's printed name, as alarm acknowledgements and pauses record it."""
        return str(self.user.full_name or self.user.username)

    @property
    def session_id(self) -> int | None:
        """The session the chair records into."""
        return self.runtime.session_id

    @property
    def recorder(self) -> Any:
        """The open session's vitals recorder (started by the runtime's writer thread)."""
        return self.runtime.recorder

    def open_session_id(self) -> int | None:
        """The open session's id, or ``None``: where the technician's raw-byte recordings go (the device setup
        window finds this method on the station among the main window's children)."""
        return self.runtime.session_id

    def _consume(self, samples: list[Sample]) -> None:
        """Samples as a device thread delivers them (tests and demo controls feed the runtime through this)."""
        self.runtime.ingest(samples)

    def refresh_alarms(self) -> None:
        """Redraw banner, list and tiles from the runtime now (the display timer does this 8 times a second)."""
        self.alarms.refresh()

    # --- session life cycle -------------------------------------------------------------------------

    def _on_session_started(self, session: Any) -> None:
        protocol = self.panel.protocol
        limits = (AlarmLimits.from_dict(protocol.alarm_limits, protocol.version_tag)
                  if protocol is not None else None)
        self.runtime.open_session(session.id, self.user, limits=limits)

    def _on_entry_added(self, entry: Any) -> None:
        if getattr(entry, "kind", "") == "precheck":
            baseline = baseline_bp(entry.data.get("baseline_vitals") or {})
            if baseline is not None:
                try:
                    self.runtime.set_baseline(*baseline)
                except ValueError as exc:
                    log.warning("baseline BP not used for alarms: %s", exc)

    def _on_session_signed(self, _entry: Any) -> None:
        self.runtime.close_session()

    def _flush_outbox(self) -> None:
        """Ask the runtime's writer to retry unsaved entries now (it also does so every few seconds)."""
        self.runtime.retry_unsaved()

    def shutdown(self) -> None:
        """Stop the displays and close the panel; the runtime (and its recording) is shut down by its owner.
        Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._recording_timer.stop()
        self.alarms.shutdown()
        self.panel.close()
        # a signature being opened finishes (seconds at most) and hands its commit to the runtime's writer,
        # which its owner drains at shutdown
        if not self.worker.close():
            log.error("the signing worker did not end")
