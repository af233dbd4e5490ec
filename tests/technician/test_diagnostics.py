"""The diagnostics panel on a real DeviceLink talking to an emulator over socket:// on loopback: counters,
frames in hex both ways, decoded values, the likely fix, raw recording; and the setup window around it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from console.clinical.units import display_unit
from console.technician.diagnostics import DiagnosticsPanel, attach_values
from console.technician.setup_dialog import open_device_setup
from devices.acquisition import DeviceLink
from devices.captures import read_docbox
from devices.driver import FrameRecord
from devices.model import Numeric
from devices.protocols.intellivue import DRIVER as INTELLIVUE
from widgets.hex_view import BAD_BACKGROUND, IN_COLOUR, OUT_COLOUR, HexView

pytestmark = pytest.mark.timeout(60)


class Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.numerics: dict[str, Numeric] = {}

    def __call__(self, samples) -> None:
        with self.lock:
            for s in samples:
                if isinstance(s, Numeric):
                    self.numerics[s.label] = s


def table_rows(panel: DiagnosticsPanel) -> dict[str, list[str]]:
    t = panel.values_table
    return {t.item(r, 0).text(): [t.item(r, c).text() for c in range(1, 4)] for r in range(t.rowCount())}


def test_panel_shows_a_live_intellivue_link(qtbot, serve, tmp_path: Path) -> None:
    served = serve("intellivue")
    collected = Collector()
    link = served.link("chair 1", sink=collected)
    panel = DiagnosticsPanel(link, recordings_dir=tmp_path / "rec", refresh_ms=100)
    qtbot.addWidget(panel)
    # record the raw bytes from the start (association included)
    panel.record_button.click()
    assert panel.recorder is not None and panel.record_button.text() == "Stop recording"
    recorder = panel.recorder
    served.run(link)
    # the panel refreshes on its own timer until values, both directions and a numeric SpO2 are on screen
    def everything_shown() -> bool:
        lines = panel.hex_view.lines
        return ("SpO2" in table_rows(panel) and any("OUT ->" in line for line in lines)
                and any("IN  <-" in line for line in lines))

    qtbot.waitUntil(everything_shown, timeout=20000)
    assert panel.state_label.text() == "ASSOCIATED"
    assert panel.last_advice is not None and panel.last_advice.level == "ok"

    assert "bytes so far" in panel.record_label.text()
    panel.record_button.click()
    assert panel.recorder is None and panel.record_button.text() == "Record raw bytes"
    assert panel.record_label.text().startswith("recording stopped:")
    served.stop_links()
    panel.refresh()

    # after the link stopped, what the panel shows is exactly the link's figures
    c, st = link.counters, link.driver.stats
    shown = {k: lbl.text() for k, lbl in panel.counter_labels.items()}
    assert shown == {"bytes_in": f"{c.bytes_in:,}", "bytes_out": f"{c.bytes_out:,}",
                     "frames_ok": f"{st.frames_ok:,}", "frames_bad": f"{st.frames_bad:,}",
                     "resyncs": f"{st.resyncs:,}",
                     "connects": f"{c.connects:,}", "disconnects": f"{c.disconnects:,}"}
    assert panel.state_label.text() == "STOPPED"
    rows = table_rows(panel)
    for label, n in collected.numerics.items():
        value = "--" if n.value is None else f"{n.value:g}"
        # units as clinicians write them (°C, mmHg), not the device's UCUM codes
        assert rows[label][:1] == [f"{value} {display_unit(n.unit)}".strip()], label
    assert rows["SpO2"][1] == "ok"
    assert "Pleth" in panel.waves_label.text()
    frames = list(link.driver.frame_log)
    assert panel.hex_view.lines[-1].split("B  ", 1)[1].startswith(frames[-1].data[:48].hex(" ").upper())

    # the recording parses back as IntelliVue frames both ways, and decodes
    log, out = recorder.paths
    monitor_frames = read_docbox(log)
    host_frames = read_docbox(out)
    assert len(monitor_frames) >= 3 and host_frames
    assert host_frames[0][1][5] == 0x0D  # the first thing the host said: the association request
    replayed = INTELLIVUE(source="replay")
    for t, frame in monitor_frames:
        replayed.feed(frame, t)
    assert replayed.stats.frames_ok == len(monitor_frames) and replayed.stats.frames_bad == 0
    panel.stop()
    assert not panel.timer.isActive()
    assert link.sink is collected  # the panel let go of the link


def test_port_not_found_is_explained(qtbot) -> None:
    link = DeviceLink(INTELLIVUE(source="x"), "/dev/chairside-no-such-port", name="chair 9")
    panel = DiagnosticsPanel(link)
    qtbot.addWidget(panel)
    link.step()  # one attempt, in this thread: the open fails
    panel.refresh()
    assert panel.state_label.text() == "LOST"
    assert "Port /dev/chairside-no-such-port not found." in panel.advice_label.text()
    assert "USB-serial adapter is plugged in" in panel.advice_label.text()
    assert panel.error_label.text().startswith("Last port error: port /dev/chairside-no-such-port not found")
    panel.close()
    assert not panel.timer.isActive()


def test_attach_values_wraps_and_unwraps_the_sink() -> None:
    got: list = []
    link = DeviceLink(INTELLIVUE(source="x"), "loop://", sink=got.extend, name="x")
    original = link.sink
    values, undo = attach_values(link)
    n = Numeric(1, "HR", 60.0, "/min")
    link.sink([n])
    assert got == [n] and values.snapshot().numerics == (n,)
    undo()
    assert link.sink is original


def frame(direction: str, data: bytes, ok: bool = True, note: str = "") -> FrameRecord:
    return FrameRecord(direction, 1_764_084_802.125, data, ok, note)


def test_hex_view_colours_directions_and_bad_frames(qtbot) -> None:
    view = HexView(bytes_per_frame=4)
    qtbot.addWidget(view)
    frames = [frame("out", b"\x0d\xec\x05\x08"), frame("in", bytes(range(10))),
              frame("in", b"\xc0\x11", ok=False, note="bad FCS")]
    assert view.set_frames(frames)
    assert not view.set_frames(list(frames))  # unchanged: no re-render
    lines = view.lines
    assert lines[0].endswith("OUT ->     4 B  0D EC 05 08")
    assert lines[1].endswith("IN  <-    10 B  00 01 02 03 … +6 B")
    assert lines[2].endswith("IN  <-     2 B  C0 11  BAD  [bad FCS]")
    html = view.document().toHtml().lower()
    for colour in (IN_COLOUR, OUT_COLOUR, BAD_BACKGROUND):
        assert colour in html


def test_setup_window_opens_and_stops_everything_on_close(qtbot, services, serve) -> None:
    served = serve("masimo")
    link = served.link("chair 3")
    dialog = open_device_setup(None, services["technician"], [link])
    qtbot.addWidget(dialog)
    served.run(link)
    assert dialog.tabs.count() == 2 and dialog.device_combo.currentText() == f"chair 3 ({served.url})"
    panel = dialog.panels[0]
    qtbot.waitUntil(lambda: "SPO2" in table_rows(panel), timeout=20000)
    dialog.close()
    assert not panel.timer.isActive()
    served.stop_links()


def test_recording_limit_stops_the_recording_not_the_link(qtbot, serve, tmp_path: Path) -> None:
    served = serve("intellivue")
    link = served.link("chair 4")
    panel = DiagnosticsPanel(link, recordings_dir=tmp_path, record_max_bytes=2000, refresh_ms=100)
    qtbot.addWidget(panel)
    assert panel.start_recording()
    log, out = panel.recorder.paths
    served.run(link)
    qtbot.waitUntil(lambda: panel.recorder is None, timeout=20000)  # it stopped by itself
    assert not panel.record_button.isChecked() and panel.record_button.text() == "Record raw bytes"
    assert "size limit of 2 kB" in panel.record_label.text()
    assert "Acquisition continues" in panel.record_label.text()
    assert log.stat().st_size + out.stat().st_size <= 2000
    frames_then = link.driver.stats.frames_ok
    qtbot.waitUntil(lambda: link.driver.stats.frames_ok > frames_then + 2, timeout=20000)
    assert link.state.value == "associated"
    served.stop_links()
    panel.stop()


def test_recording_into_an_unusable_folder_says_why(qtbot, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    link = DeviceLink(INTELLIVUE(source="x"), "loop://", name="chair 5")
    panel = DiagnosticsPanel(link, recordings_dir=blocker / "sub")
    qtbot.addWidget(panel)
    panel.record_button.click()
    assert panel.recorder is None and not panel.record_button.isChecked()
    assert panel.record_label.text().startswith("Cannot record:")
    panel.stop()


def test_hex_view_shows_text_protocol_frames_as_text(qtbot) -> None:
    view = HexView(bytes_per_frame=8)
    qtbot.addWidget(view)
    view.set_frames([frame("in", b"SPO2=098% BPM=072\r\n"), frame("in", b"PI=03.60%\r\n")])
    assert view.lines[0].endswith('IN  <-    19 B  "SPO2=098% BPM=07" … +5 chars')
    assert view.lines[1].endswith('IN  <-    11 B  "PI=03.60%\\r\\n"')
    assert view.set_frames([])
    assert view.lines == [] and view.toPlainText() == ""


def test_panel_on_a_device_thread_of_the_chair_runtime(qtbot, serve) -> None:
    """The window's devices are the runtime's DeviceThreads feeding its live buffers; the panel rides along."""
    from console.live.buffers import LiveData
    from console.runtime.acquisition import DeviceThread

    served = serve("datex")
    link = served.link("chair 6")
    live = LiveData()

    def feed(batch: list) -> None:  # what ChairRuntime.ingest does first with every batch
        live.ingest(batch)

    thread = DeviceThread(link, feed)
    panel = DiagnosticsPanel(thread, refresh_ms=100)
    qtbot.addWidget(panel)
    thread.start()
    try:
        qtbot.waitUntil(lambda: "SpO2" in table_rows(panel), timeout=20000)
        assert panel.title_label.text().startswith("<b>chair 6</b>")
        assert panel.port_label.text() == f"{served.url}  ·  19200 8E1 RTS/CTS"
    finally:
        panel.stop()
        assert thread.stop()
    # the window's own data path kept working alongside the panel
    assert any(r.label == "SpO2" for r in live.numerics.snapshot().values())
    assert link.sink == thread._sink  # the panel gave the window its sink back


def test_hex_view_appends_new_frames_and_drops_the_oldest(qtbot) -> None:
    view = HexView(max_frames=3)
    qtbot.addWidget(view)
    log = [FrameRecord("in", 1_764_084_802.0 + i, bytes([i]), True, "") for i in range(6)]
    view.set_frames(log[:2])
    view.set_frames(log[:4])  # two new frames appended, the oldest dropped
    assert [line.split("B  ")[1] for line in view.lines] == ["01", "02", "03"]
    assert view.toPlainText().splitlines()[0].endswith("01")
    assert view.set_frames(log[3:6])  # the log moved on past the newest shown but still holds it
    assert [line.split("B  ")[1] for line in view.lines] == ["03", "04", "05"]
    assert view.set_frames(log[5:] + [FrameRecord("out", 0.0, b"\xff", True, "")])
    assert [line.split("B  ")[1] for line in view.lines] == ["04", "05", "FF"]
    other = [FrameRecord("in", 1.0, b"\xaa", True, "")]  # a log that no longer holds what is shown
    assert view.set_frames(other)
    assert [line.split("B  ")[1] for line in view.lines] == ["AA"]
