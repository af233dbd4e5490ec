"""devices.raw_recorder: what a link taps is written as docbox logs that read back (and replay) exactly;
size limit and a full disk stop the recording with a plain message, never the caller."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from devices.captures import read_docbox
from devices.emulation import CaptureReplay
from devices.raw_recorder import RawRecorder, docbox_stamp, read_recording, replay_recording

# two IntelliVue-shaped frames (C0 … C1; neither delimiter inside) and one host frame
F1 = bytes.fromhex("C0110100043A7100009B26C1")
F2 = bytes.fromhex("C0110100023A917D5D95C1")
OUT = bytes.fromhex("C0110100020D0E0000C1")
T0 = 1_764_084_802.125  # 2025-11-25T15:33:22.125Z


def test_docbox_stamp_is_utc_with_milliseconds() -> None:
    assert docbox_stamp(T0) == b"2025/11/25T15:33:22,125"


def test_intellivue_recording_reads_back_frame_by_frame(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path / "chair1", "intellivue")
    # the second frame arrives split over two reads: the record must still hold it whole
    rec.tap("in", T0, F1 + F2[:5])
    rec.tap("in", T0 + 0.5, F2[5:])
    rec.tap("out", T0 + 0.25, OUT)
    rec.close()
    log, out = rec.paths
    assert (log.name, out.name) == ("chair1.log", "chair1.out")
    assert read_docbox(log) == [(T0, F1), (T0 + 0.5, F2)]
    assert read_docbox(out) == [(T0 + 0.25, OUT)]
    assert rec.bytes_written == log.stat().st_size + out.stat().st_size
    assert "recording stopped" in rec.status().message and not rec.recording


def test_intellivue_recording_replays_the_monitor_bytes(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path / "r", "intellivue")
    rec.tap("in", T0, F1)
    rec.tap("in", T0 + 1.0, F2)
    rec.close()
    replay = CaptureReplay.from_file(rec.paths[0])
    assert replay.outgoing(100.0) == F1
    assert replay.outgoing(100.5) == b""
    assert replay.outgoing(101.0) == F2 and replay.finished


def test_other_protocols_keep_one_record_per_read(tmp_path: Path) -> None:
    reads = [b"~\x31\x00\x7d\x5e", b"\x00\x01~", b"02/13/25 10:00:00 SN=1 SPO2=098% BPM=072\r\n"]
    rec = RawRecorder(tmp_path / "datex", "datex")
    for i, chunk in enumerate(reads):
        rec.tap("in", T0 + i, chunk)
    rec.close()
    assert read_recording(rec.paths[0]) == [(T0 + i, chunk) for i, chunk in enumerate(reads)]
    assert read_recording(rec.paths[1]) == []


def test_a_masimo_recording_replays_whole_with_its_timing(tmp_path: Path) -> None:
    lines = [b"11/25/26 15:33:22 SN=1 SPO2=098% BPM=072\r\n", b"11/25/26 15:33:23 SN=1 SPO2=097% BPM=071\r\n"]
    rec = RawRecorder(tmp_path / "ox", "masimo")
    rec.tap("in", T0, lines[0][:10])
    rec.tap("in", T0 + 0.01, lines[0][10:])
    rec.tap("in", T0 + 1.0, lines[1])
    rec.close()
    replay = replay_recording(rec.paths[0])
    assert replay.outgoing(50.0) == lines[0][:10]
    assert replay.outgoing(50.5) == lines[0][10:]
    assert replay.outgoing(51.0) == lines[1] and replay.finished


def test_unfinished_frame_is_kept_at_close(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path / "r", "intellivue")
    rec.tap("in", T0, F1 + b"\xc0\x11\x01")
    rec.close()
    assert read_recording(rec.paths[0]) == [(T0, F1), (T0, b"\xc0\x11\x01")]


def test_size_limit_stops_recording_with_a_message(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path / "small", "masimo", max_bytes=200)
    line = b"SPO2=098% BPM=072 PI=03.60%\r\n"  # 29 bytes + 23-byte stamp = 52 per record
    for i in range(10):
        rec.tap("in", T0 + i, line)
    rec.close()
    status = rec.status()
    assert not status.recording
    assert "size limit of 200 bytes" in status.message and "Acquisition continues" in status.message
    assert status.bytes_written == 3 * 52
    assert rec.paths[0].stat().st_size == 3 * 52
    assert len(read_recording(rec.paths[0])) == 3
    rec.tap("in", T0 + 20, line)  # after the stop: ignored, never raises


class _FullDisk:
    """A file whose writes fail as on a full disk."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_full_disk_stops_recording_with_a_message(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path / "full", "masimo")
    rec._files["in"].close()
    rec._files["in"] = _FullDisk()  # type: ignore[assignment]
    rec.tap("in", T0, b"SPO2=098%\r\n")
    rec.close()
    assert not rec.recording
    assert "the disk is full" in rec.status().message
    rec.tap("in", T0 + 1, b"more")  # still harmless


def test_queue_bound_drops_and_says_so(tmp_path: Path) -> None:
    rec = RawRecorder(tmp_path / "q", "masimo", max_queued=10)
    with rec._lock:  # hold the writer off, as a stalled disk would
        rec._queue.append(("in", T0, b"x" * 8))
        rec._queued = 8
    rec.tap("in", T0, b"12345")  # does not fit in the queue: dropped, counted
    assert rec.dropped_bytes == 5
    assert "skipped because the disk could not keep up" in rec.status().message
    rec.close()


def test_attach_keeps_the_previous_tap_and_detach_restores_it(tmp_path: Path) -> None:
    seen: list[tuple[str, float, bytes]] = []

    class Link:
        tap = None

    link = Link()
    link.tap = lambda d, t, b: seen.append((d, t, b))  # type: ignore[assignment]
    original = link.tap
    rec = RawRecorder(tmp_path / "a", "masimo")
    rec.attach(link)
    link.tap("in", T0, b"abc")  # type: ignore[misc]
    rec.close()
    assert link.tap is original
    assert seen == [("in", T0, b"abc")]
    assert read_recording(rec.paths[0]) == [(T0, b"abc")]


def test_unwritable_folder_fails_at_once_with_the_file_name(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OSError, match="cannot create the recording"):
        RawRecorder(blocker / "sub" / "r", "masimo")


def test_chairside_replay_reads_a_masimo_recording_whole(tmp_path: Path) -> None:
    """``chairside replay`` (devices.emulation.read_capture) plays non-IntelliVue recordings too."""
    from devices.emulation import read_capture

    lines = [b"11/25/26 15:33:22 SN=1 SPO2=098% BPM=072\r\n", b"11/25/26 15:33:23 SN=1 SPO2=097% BPM=071\r\n"]
    rec = RawRecorder(tmp_path / "ox", "masimo")
    rec.tap("in", T0, lines[0])
    rec.tap("in", T0 + 1.0, lines[1])
    rec.close()
    kind, records = read_capture(rec.paths[0])
    assert kind == "docbox"
    assert [data for _, data in records] == lines
