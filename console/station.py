"""The chair station: the live monitor window joined to the session record, the session panel and the alarms.

:class:`ChairStation` owns no data path of its own; it connects pieces that each do one job:

* the :class:`~console.main_window.MainWindow` acquires and draws (acquisition threads, ring buffers, 30 Hz);
* the :class:`~console.session_panel.SessionPanel` writes clinical entries through the role-checked service;
* the :class:`~console.alarms.AlarmEngine` evaluates every sample batch (queued from the acquisition threads,
  evaluated on this station's timer in the GUI thread) and its events become ``alarm`` entries;
* a :class:`~console.record.vitals.VitalsRecorder` writer thread stores numerics and waveforms while a session
  is open;
* an :class:`~console.record.outbox.EntryOutbox` keeps alarm entries that could not be written (database locked,
  disk full, server gone) and retries them, so an alarm is never lost from the record.

Signals carry state changes only; numbers flow through thread-safe ``submit`` calls and are pulled on timers.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer

from console.alarms import AlarmEngine, AlarmLimits
from console.main_window import MainWindow
from devices import mdc
from devices.model import Sample

log = logging.getLogger(__name__)

#: alarm engine, banner and tile colours are refreshed this often; fast enough for a 2 Hz flash
ALARM_REFRESH_MS = 125
#: the session's lock heartbeat: another console sees the session as live while this is fresh
HEARTBEAT_MS = 15_000
#: unsaved alarm entries are retried this often
OUTBOX_RETRY_MS = 5_000
#: tiles the alarm engine colours: (tile's main code, every code whose alarm lights it)
ALARM_TILES: tuple[tuple[int, ...], ...] = (
    (mdc.HEART_RATE, mdc.PULSE_RATE_OXIM, mdc.PULSE_RATE),
    (mdc.SPO2,),
    (mdc.NIBP_SYS, mdc.NIBP, mdc.NIBP_DIA, mdc.NIBP_MEAN),
    (mdc.RESP_RATE,),
    (mdc.ETCO2,),
)


def default_alarm_limits() -> AlarmLimits:
    """Limits in force before a session (and its protocol) is chosen: the first built-in template's."""
    from console.clinical.protocols import ProtocolLibrary

    library = ProtocolLibrary.builtin()
    protocol = library.get(library.ids()[0])
    return AlarmLimits.from_dict(protocol.alarm_limits, protocol.version_tag)


class ChairStation(QObject):
    """Joins a running :class:`MainWindow` to the record for one logged-in user."""

    def __init__(self, window: MainWindow, db: Any, user: Any, *, chair: str = "1",
                 take_bp: Callable[[], Any] | None = None, devices: Callable[[], list[str]] | None = None,
                 clock: Callable[[], float] = time.time, audio: Any = None) -> None:
        super().__init__(window)
        from console.record.outbox import EntryOutbox
        from console.session_panel import SessionPanel
        from widgets.alarm_banner import AlarmBanner
        from widgets.alarm_list import AlarmList

        self.window = window
        self.db = db
        self.user = user
        self.clock = clock
        self.service = db.service(user)
        self.outbox = EntryOutbox(self.service)
        self.session_id: int | None = None
        self.recorder: Any = None

        self.engine = AlarmEngine(default_alarm_limits(), on_event=self._record_alarm_event)
        window.add_sample_consumer(self._consume)
        self.banner = AlarmBanner(self.engine, user=self.user_name, clock=clock, audio=audio)
        window.set_alarm_banner(self.banner)
        # the list of this session's alarms (times, values, limits, who acknowledged) sits beside the NIBP tile
        self.alarm_list = AlarmList(self.engine, user=self.user_name, clock=clock)
        window.set_extra_widget(self.alarm_list)

        self.panel = SessionPanel(self.service, latest_vitals=window.latest_vitals, take_bp=take_bp,
                                  chair=chair, devices=devices or (lambda: []), demo=bool(user.demo),
                                  outbox=self.outbox)
        window.set_session_panel(self.panel)
        self.panel.session_started.connect(self._on_session_started)
        self.panel.entry_added.connect(self._on_entry_added)
        self.panel.session_signed.connect(self._on_session_signed)

        self._alarm_timer = self._timer("stationAlarmRefresh", ALARM_REFRESH_MS, self.refresh_alarms)
        # Heartbeat and outbox retries talk to the database, which may be a server that stopped answering (a
        # 5 s connect timeout): they run on one background thread so the monitor never freezes meanwhile.
        self._io = QThreadPool(self)
        self._io.setMaxThreadCount(1)
        self._heartbeat_timer = self._timer("stationHeartbeat", HEARTBEAT_MS,
                                            lambda: self._io.start(self._heartbeat))
        self._outbox_timer = self._timer("stationOutboxRetry", OUTBOX_RETRY_MS,
                                         lambda: self._io.start(self._flush_outbox))
        self._closed = False

    def user_name(self) -> str:
        """The signed-in user's printed name, as alarm acknowledgements and pauses record it."""
        return self.user.full_name or self.user.username

    def _timer(self, name: str, interval_ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setObjectName(name)
        timer.setInterval(interval_ms)
        timer.timeout.connect(slot)
        timer.start()
        return timer

    # --- data path (acquisition threads) ------------------------------------------------------------

    def _consume(self, samples: list[Sample]) -> None:
        """Called from acquisition threads: only queue work, never evaluate or write here."""
        self.engine.submit(samples)
        recorder = self.recorder
        if recorder is not None:
            recorder.submit(samples)

    def open_session_id(self) -> int | None:
        """The open session's id, or ``None``: where the technician's raw-byte recordings go (the device setup
        window finds this method on the station among the main window's children)."""
        return self.session_id

    # --- GUI-thread timers --------------------------------------------------------------------------

    def refresh_alarms(self) -> None:
        """Evaluate queued samples, then show the result on the banner and the tiles."""
        now = self.clock()
        self.engine.tick(now)
        self.banner.refresh(now)
        self.alarm_list.refresh()
        for codes in ALARM_TILES:
            tile = self.window.tile_for(codes[0])
            if tile is not None:
                tile.set_alarm(*self.banner.alarm_style_for(codes))

    def _heartbeat(self) -> None:
        if self.session_id is None:
            return
        try:
            self.db.heartbeat([self.session_id])
        except Exception as exc:  # a missed heartbeat only matters to other consoles; say so, carry on
            log.warning("session heartbeat not written: %s", exc)

    def _flush_outbox(self) -> None:
        if not self.outbox.pending:
            return
        try:
            self.outbox.flush()
        except Exception as exc:  # runs on the I/O thread: report, keep the entries, try again next time
            log.error("unsaved entries not written yet: %s", exc)

    # --- session life cycle -------------------------------------------------------------------------

    def _on_session_started(self, session: Any) -> None:
        self.session_id = session.id
        protocol = self.panel.protocol
        if protocol is not None:
            self.engine.set_limits(AlarmLimits.from_dict(protocol.alarm_limits, protocol.version_tag))
        if self.recorder is None:
            self.recorder = self.db.vitals_recorder(session.id)

    def _on_entry_added(self, entry: Any) -> None:
        if getattr(entry, "kind", "") == "precheck":
            baseline = baseline_bp(entry.data.get("baseline_vitals") or {})
            if baseline is not None:
                try:
                    self.engine.set_baseline(*baseline)
                except ValueError as exc:
                    log.warning("baseline BP not used for alarms: %s", exc)

    def _on_session_signed(self, _entry: Any) -> None:
        self._stop_recorder()
        self.session_id = None

    def _record_alarm_event(self, data: dict[str, Any]) -> None:
        if self.session_id is None:
            return  # no session open: the alarm is shown, there is no record to write it to
        # the entry describes the moment the alarm changed, not the moment it was written
        at = data.get("time")
        when = datetime.fromtimestamp(at, UTC) if isinstance(at, (int, float)) else None
        self.outbox.add_entry(self.session_id, "alarm", data, at=when)

    def _stop_recorder(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            status = recorder.close()
            if getattr(status, "error", None):
                log.error("vitals recorder closed with an error: %s", status.error)

    def shutdown(self) -> None:
        """Stop timers, flush what is pending and close the recorder. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for timer in (self._alarm_timer, self._heartbeat_timer, self._outbox_timer):
            timer.stop()
        self.banner.shutdown()
        self._io.waitForDone()
        self._flush_outbox()
        self._stop_recorder()
        self.panel.close()


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
