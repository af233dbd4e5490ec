"""The diagnostics panel of one device: link state, counters, the likely fix, frames in hex, decoded values.

It pulls from the link on its own QTimer (3 Hz by default): counters are plain ints read without a lock, the
frame log is copied (:func:`~console.technician.model.snapshot`), decoded values come from a
:class:`~console.technician.model.LatestValues` consumer fed by the acquisition thread. Nothing here waits for
the link's thread, so a stuck port never freezes the GUI.

A toggle records the raw bytes of the link (both directions): into the session record
(:mod:`console.record.raw_captures`, into the open session when there is one) when the panel has the
technician's service, and/or to docbox files (:class:`devices.raw_recorder.RawRecorder`) when it has a folder.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QHideEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.record.errors import PermissionDenied, RecordError
from console.record.raw_captures import RawCaptureWriter, start_raw_capture
from console.record.roles import allowed
from console.technician.advice import Advice, advise
from console.technician.model import LatestValues, LinkSnapshot, format_numeric, snapshot
from devices import registry
from devices.model import LinkState
from devices.raw_recorder import DEFAULT_MAX_BYTES, RawRecorder
from widgets.hex_view import HexView

REFRESH_MS = 333
STATE_COLOURS = {
    LinkState.ASSOCIATED: "#33cc66", LinkState.CONNECTED: "#7fd4ff", LinkState.CONNECTING: "#7fd4ff",
    LinkState.SILENT: "#f5c400", LinkState.LOST: "#e8202a", LinkState.STOPPED: "#8a9099",
}
LEVEL_STYLES = {
    "ok": "border: 2px solid #33cc66; border-radius: 6px; padding: 6px;",
    "info": "border: 2px solid #7fd4ff; border-radius: 6px; padding: 6px;",
    "warning": "background-color: #f5c400; color: black; border-radius: 6px; padding: 6px;",
    "error": "background-color: #e8202a; color: white; border-radius: 6px; padding: 6px;",
}
COUNTERS = (("bytes_in", "Bytes in"), ("bytes_out", "Bytes out"), ("frames_ok", "Frames good"),
            ("frames_bad", "Frames bad"), ("resyncs", "Resyncs"), ("connects", "Connects"),
            ("disconnects", "Disconnects"))


def attach_values(target: Any) -> tuple[LatestValues, Callable[[], None]]:
    """Start collecting the latest decoded values of ``target``; returns the board and a function undoing it.

    ``target`` is a :class:`~devices.acquisition.DeviceLink` or a :class:`~console.runtime.acquisition.DeviceThread`. The link's ``sink`` is
    wrapped (one attribute store, atomic for the acquisition thread) rather than joining the thread's
    ``consumers``, because the main window shares one consumer list among all its devices.
    """
    values = LatestValues()
    link = link_of(target)
    previous = link.sink

    def both(samples: list) -> None:
        values(samples)
        previous(samples)

    link.sink = both

    def unwrap() -> None:
        if link.sink is both:  # someone may have wrapped it again since; then leave theirs alone
            link.sink = previous
    return values, unwrap


def link_of(target: Any) -> Any:
    """The DeviceLink of a DeviceThread, or the link itself."""
    return getattr(target, "link", target)


def recording_stem(folder: Path, name: str, now: float | None = None) -> Path:
    """``folder/<name>-YYYYmmdd-HHMMSS`` with the name made safe for any file system."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "device"
    stamp = dt.datetime.fromtimestamp(now if now is not None else time.time()).strftime("%Y%m%d-%H%M%S")
    return folder / f"{safe}-{stamp}"


class DiagnosticsPanel(QWidget):
    """Diagnostics of one device link (see the module docstring).

    ``target``: a DeviceLink or a DeviceThread. ``values``: a LatestValues board already fed by the
    link; when omitted the panel attaches its own (and detaches it in :meth:`stop`). ``recordings_dir``: where
    raw recordings go; ``record_max_bytes`` bounds one recording. ``record_service``: the logged-in user's
    :class:`~console.record.service.SessionService`; with it the toggle also records into the record (only
    technicians and admins may: for other roles the toggle is disabled and says why), into the session
    ``session_id()`` returns (``None``: no session open). The toggle is hidden with neither a folder nor a
    service.
    """

    def __init__(self, target: Any, values: LatestValues | None = None, *, recordings_dir: Path | None = None,
                 record_max_bytes: int = DEFAULT_MAX_BYTES, refresh_ms: int = REFRESH_MS,
                 record_service: Any = None, session_id: Callable[[], int | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = link_of(target)
        self._detach: Callable[[], None] | None = None
        if values is None:
            values, self._detach = attach_values(target)
        self.values = values
        self.recordings_dir = Path(recordings_dir) if recordings_dir else None
        self.recorder: RawRecorder | None = None
        self.record_service = record_service
        self.session_id = session_id or (lambda: None)
        #: the recording into the record (next to, or instead of, the files of :attr:`recorder`)
        self.db_recorder: RawCaptureWriter | None = None
        self._record_problems = ""  # why one of the two destinations could not start (shown with the status)
        self._record_notes: list[str] = []  # why a destination stopped by itself (kept until the next start)
        self.record_max_bytes = record_max_bytes
        self._started = time.monotonic()
        self._stopped = False
        self.last_snapshot: LinkSnapshot | None = None
        self.last_advice: Advice | None = None
        self._build()
        self.timer = QTimer(self)
        self.timer.setObjectName(f"diagnostics:{self.link.name}")
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # --- layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        driver = self.link.driver
        try:
            title = registry.get(driver.name).driver.title
        except (KeyError, ImportError, AttributeError):
            title = getattr(driver, "title", "")
        root = QVBoxLayout(self)
        head = QHBoxLayout()
        self.title_label = QLabel(f"<b>{self.link.name}</b> &nbsp; {title}")
        self.title_label.setStyleSheet("font-size: 13pt;")
        self.port_label = QLabel(f"{self.link.url or 'no port'}  ·  {self.link.settings}"
                                 if self.link.url else "no port (built-in)")
        self.state_label = QLabel("")
        self.state_label.setObjectName("linkState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumWidth(130)
        head.addWidget(self.title_label)
        head.addWidget(self.port_label, 1)
        head.addWidget(self.state_label)
        root.addLayout(head)

        self.advice_label = QLabel("")
        self.advice_label.setObjectName("advice")
        self.advice_label.setWordWrap(True)
        self.advice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.advice_label)

        counters_box = QGroupBox("Counters")
        grid = QGridLayout(counters_box)
        self.counter_labels: dict[str, QLabel] = {}
        for i, (key, text) in enumerate(COUNTERS):
            name = QLabel(text)
            value = QLabel("0")
            value.setObjectName(f"counter_{key}")
            value.setStyleSheet("font-size: 13pt; font-weight: bold;")
            value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(name, 0, i)
            grid.addWidget(value, 1, i)
            self.counter_labels[key] = value
        root.addWidget(counters_box)

        self.error_label = QLabel("")
        self.error_label.setObjectName("lastError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.error_label)

        split = QSplitter(Qt.Orientation.Horizontal)
        frames_box = QGroupBox("Recent frames (IN from the device, OUT to it; bad frames on red)")
        frames_layout = QVBoxLayout(frames_box)
        self.hex_view = HexView()
        frames_layout.addWidget(self.hex_view)
        split.addWidget(frames_box)

        values_box = QGroupBox("Decoded values (latest)")
        values_layout = QVBoxLayout(values_box)
        self.values_table = QTableWidget(0, 4)
        self.values_table.setHorizontalHeaderLabels(["Parameter", "Value", "State", "Age"])
        self.values_table.verticalHeader().setVisible(False)
        self.values_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.values_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        values_layout.addWidget(self.values_table, 3)
        self.waves_label = QLabel("")
        self.waves_label.setObjectName("waves")
        self.waves_label.setWordWrap(True)
        values_layout.addWidget(self.waves_label)
        split.addWidget(values_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        root.addWidget(split, 1)

        rec = QHBoxLayout()
        self.record_button = QPushButton("Record raw bytes")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Write both directions of this link to files that 'chairside replay' "
                                      "can play back")
        self.record_button.toggled.connect(self._on_record_toggled)
        self.record_label = QLabel("")
        self.record_label.setObjectName("recordStatus")
        self.record_label.setWordWrap(True)
        rec.addWidget(self.record_button)
        rec.addWidget(self.record_label, 1)
        root.addLayout(rec)
        if (self.recordings_dir is None and self.record_service is None) or self.link.url is None:
            self.record_button.hide()
            self.record_label.hide()
        elif (self.record_service is not None
              and not allowed(self.record_service.user.role, "record_raw_bytes")):
            self.record_button.setEnabled(False)
            self.record_label.setText("Only technicians and admins can record the raw bytes of a device.")
        elif self.record_service is not None:
            self.record_button.setToolTip("Record both directions of this link into the session record (and "
                                          "to files when a folder is set) for 'chairside replay'")

    # --- refresh (timer) ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Pull counters, frames and values from the link and show them. Cheap; never waits for the link."""
        snap = snapshot(self.link)
        self.last_snapshot = snap
        colour = STATE_COLOURS.get(snap.state, "#8a9099")
        self.state_label.setText(snap.state.value.upper())
        self.state_label.setStyleSheet(f"background-color: {colour}; color: black; font-weight: bold; "
                                       "font-size: 12pt; padding: 4px 10px; border-radius: 4px;")
        for key, label in self.counter_labels.items():
            label.setText(f"{getattr(snap, key):,}")
        advice = advise(snap, time.monotonic() - self._started)
        self.last_advice = advice
        self.advice_label.setText(f"<b>{_escape(advice.problem)}</b>"
                                  + (f"<br>{_escape(advice.fix)}" if advice.fix else ""))
        self.advice_label.setStyleSheet("font-size: 12pt; " + LEVEL_STYLES.get(advice.level, ""))
        errors = []
        if snap.port_error:
            errors.append(f"Last port error: {snap.port_error}")
        if snap.decode_error:
            errors.append(f"Last decode problem: {snap.decode_error}")
        self.error_label.setText("\n".join(errors))
        self.error_label.setVisible(bool(errors))
        self.hex_view.set_frames(snap.frames)
        self._refresh_values()
        self._refresh_recorder()

    def _refresh_values(self) -> None:
        vals = self.values.snapshot()
        now = time.time()
        table = self.values_table
        table.setRowCount(len(vals.numerics))
        for row, n in enumerate(vals.numerics):
            label, value, state = format_numeric(n)
            age = f"{max(0.0, now - n.host_time):.0f} s" if n.host_time else ""
            for col, text in enumerate((label, value, state, age)):
                item = table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    table.setItem(row, col, item)
                if item.text() != text:
                    item.setText(text)
        waves = ", ".join(f"{w.label} {w.fs:g}/s ({w.gaps} gaps)" if w.gaps else f"{w.label} {w.fs:g}/s"
                          for w in vals.waves)
        alarms = "; ".join(a.text for a in vals.alarms)
        text = f"Waves: {waves}" if waves else "Waves: none"
        if alarms:
            text += f"\nDevice alarms: {alarms}"
        self.waves_label.setText(text)

    # --- raw recording --------------------------------------------------------------------------------
    def start_recording(self) -> bool:
        """Start recording the link's raw bytes into the record and/or to files; False (reason shown) when
        neither could start. A refused role records nothing at all."""
        if self._recording_active():
            return True
        problems: list[str] = []
        if self.record_service is not None:
            try:
                self.db_recorder = start_raw_capture(
                    self.record_service, device=self.link.name,
                    protocol=getattr(self.link.driver, "name", ""),
                    session_id=self.session_id(), link=self.link, max_bytes=self.record_max_bytes)
            except PermissionDenied as exc:
                self.record_label.setText(f"Cannot record: {exc}")
                self._set_record_checked(False)
                return False
            except RecordError as exc:  # database unavailable, session gone: the files may still do
                problems.append(f"not into the record: {exc}")
        if self.recordings_dir is not None:
            stem = recording_stem(self.recordings_dir, self.link.name)
            try:
                recorder = RawRecorder(stem, getattr(self.link.driver, "name", ""),
                                       max_bytes=self.record_max_bytes)
            except OSError as exc:
                problems.append(f"not to files: {exc.strerror or exc}")
            else:
                recorder.attach(self.link)
                self.recorder = recorder
        self._record_problems = "; ".join(problems)
        self._record_notes = []
        if not self._recording_active():
            self.record_label.setText(f"Cannot record: {self._record_problems}")
            self._set_record_checked(False)
            return False
        self.record_label.setStyleSheet(LEVEL_STYLES["warning"] if problems else "")
        self._set_record_checked(True)
        self._refresh_recorder()
        return True

    def stop_recording(self) -> None:
        """Stop recording (what was recorded stays); the status says how much was written."""
        recorder, self.recorder = self.recorder, None
        db_recorder, self.db_recorder = self.db_recorder, None
        messages = []
        if db_recorder is not None:
            messages.append(db_recorder.close().message)
        if recorder is not None:
            recorder.close()
            messages.append(recorder.status().message)
        if messages:
            self.record_label.setText("\n".join(messages))
        self._set_record_checked(False)

    def _recording_active(self) -> bool:
        return ((self.recorder is not None and self.recorder.recording)
                or (self.db_recorder is not None and self.db_recorder.recording))

    def _on_record_toggled(self, on: bool) -> None:
        if on:
            self.start_recording()
        else:
            self.stop_recording()

    def _set_record_checked(self, on: bool) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.setText("Stop recording" if on else "Record raw bytes")
        self.record_button.blockSignals(False)

    def _refresh_recorder(self) -> None:
        if self.recorder is None and self.db_recorder is None:
            return
        lines: list[str] = []
        warn = False
        db_recorder = self.db_recorder
        if db_recorder is not None:
            status = db_recorder.status()
            if not status.recording:  # size limit: close it, say why (for good), leave the link alone
                self.db_recorder = None
                self._record_notes.append(db_recorder.close().message)
            else:
                lines.append(status.message)
                # still recording, but the technician must see the warning colour
                warn = bool(status.dropped_bytes or (status.pending_bytes and status.last_error))
        recorder = self.recorder
        if recorder is not None:
            file_status = recorder.status()
            if file_status.recording:
                lines.append(f"{file_status.message} — {file_status.bytes_written:,} bytes so far")
            else:
                # it stopped by itself (limit, full disk): say why, and keep the link untouched
                recorder.close()
                self.recorder = None
                self._record_notes.append(file_status.message)
        notes = ([f"Recording {self._record_problems}"] if self._record_problems else []) + self._record_notes
        self.record_label.setText("\n".join(lines + notes))
        self.record_label.setStyleSheet(LEVEL_STYLES["warning"] if warn or notes else "")
        if not self._recording_active():
            self._set_record_checked(False)

    # --- life cycle -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the timer and any recording, and detach from the link. Safe to call twice."""
        self._stopped = True
        self.timer.stop()
        if self.recorder is not None or self.db_recorder is not None:
            self.stop_recording()
        if self._detach is not None:
            self._detach()
            self._detach = None

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        self.stop()
        super().closeEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        # a hidden panel need not refresh; recording goes on (it is tied to the link, not the display)
        self.timer.stop()
        super().hideEvent(event)

    def showEvent(self, event: Any) -> None:  # noqa: N802
        if not self._stopped:
            self.timer.start()
            self.refresh()
        super().showEvent(event)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
