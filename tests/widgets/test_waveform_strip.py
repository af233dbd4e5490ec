"""The waveform strip: draws the ring's sweep, blanks ahead of the cursor, says NO SIGNAL, stays fast to draw."""

from __future__ import annotations

import numpy as np
import pytest

from console.live.buffers import WaveRing
from widgets.waveform_strip import ERASE_SECONDS, NO_SIGNAL_AFTER, StripSpec, WaveformStrip

FS = 100.0
SWEEP = 4.0


@pytest.fixture
def strip(qtbot) -> WaveformStrip:
    s = WaveformStrip(StripSpec("ECG II", "#33ff66", (-1.0, 2.0), scale="bar", bar_label="1 mV"), SWEEP)
    qtbot.addWidget(s)
    s.resize(800, 150)
    s.show()
    qtbot.waitExposed(s)
    return s


def feed(ring: WaveRing, t0: float, seconds: float, value: float | None = None) -> None:
    n = int(seconds * FS)
    samples = np.full(n, value) if value is not None else np.sin(np.arange(n) / 7.0)
    ring.write(samples, t0)


def test_draws_what_the_ring_holds(strip: WaveformStrip) -> None:
    ring = WaveRing(FS, SWEEP)
    feed(ring, 0.0, 2.0, value=0.5)
    assert strip.update_from(ring, now=2.0)
    y = strip.shown_samples()
    assert y.shape == (ring.capacity,)
    np.testing.assert_array_equal(y[:200], 0.5)  # the two seconds written, at sweep positions 0..199
    assert np.isnan(y[200:]).all()
    assert strip.has_signal and not strip.notice.isVisible()


def test_erase_bar_ahead_of_the_cursor(strip: WaveformStrip) -> None:
    ring = WaveRing(FS, SWEEP)
    feed(ring, 0.0, SWEEP + 1.0, value=1.0)  # a full sweep and one more second: cursor at 1 s
    strip.update_from(ring, now=5.0)
    y = strip.shown_samples()
    erase = int(ERASE_SECONDS * FS)
    assert np.isnan(y[100:100 + erase]).all()
    assert np.isfinite(y[:100]).all() and np.isfinite(y[100 + erase:]).all()


def test_new_block_is_revealed_progressively(strip: WaveformStrip) -> None:
    ring = WaveRing(FS, SWEEP)
    t = 0.0
    for k in range(8):  # quarter-second blocks, as devices deliver them
        feed(ring, t, 0.25, value=1.0)
        t += 0.25
        strip.update_from(ring, now=t)
    feed(ring, t, 0.25, value=1.0)
    strip.update_from(ring, now=t + 0.01)
    first = np.isfinite(strip.shown_samples()).sum()
    strip.update_from(ring, now=t + 0.2)
    later = np.isfinite(strip.shown_samples()).sum()
    assert first < ring.written <= ring.capacity
    assert later > first  # the edge moved on between blocks


def test_no_source_and_silence_show_no_signal(strip: WaveformStrip) -> None:
    strip.update_from(None, now=0.0)
    assert not strip.has_signal and strip.notice.isVisible() and strip.notice.text() == "NO SIGNAL"
    ring = WaveRing(FS, SWEEP)
    feed(ring, 0.0, 1.0)
    strip.update_from(ring, now=1.0)
    assert strip.has_signal
    strip.update_from(ring, now=1.0 + NO_SIGNAL_AFTER / 2)
    assert strip.has_signal
    strip.update_from(ring, now=1.0 + NO_SIGNAL_AFTER + 0.5)
    assert not strip.has_signal and strip.notice.isVisible()
    # a frozen trace would look live: the last sweep stays only in grey, under the notice
    assert strip.trace_colour() != "#33ff66"
    feed(ring, 1.0, 1.0)
    strip.update_from(ring, now=6.0)
    assert strip.has_signal and strip.trace_colour() == "#33ff66" and strip.notice_text() == ""


def test_a_silent_channel_stays_no_signal_frame_after_frame(strip: WaveformStrip) -> None:
    """Regression: going silent reset the strip's pacing, so the next frame took the old samples for new ones
    and redrew the last sweep in full colour, flipping back every few seconds."""
    ring = WaveRing(FS, SWEEP)
    feed(ring, 0.0, 1.0)
    strip.update_from(ring, now=1.0)
    frames = [1.0 + NO_SIGNAL_AFTER + 0.1 + k / 30 for k in range(300)]  # ten seconds of frames, no samples
    states = [(strip.update_from(ring, now=t), strip.has_signal) for t in frames]
    assert not any(changed or live for changed, live in states)
    assert strip.notice_text() == "NO SIGNAL" and strip.trace_colour() != "#33ff66"


def test_link_down_greys_the_wave_at_once_and_names_the_device(strip: WaveformStrip, qtbot) -> None:
    ring = WaveRing(FS, SWEEP)
    feed(ring, 0.0, 2.0)
    strip.update_from(ring, now=2.0)
    assert strip.has_signal
    strip.set_link_down("Bedside monitor: connection lost, retrying")
    strip.update_from(ring, now=2.05)  # well inside NO_SIGNAL_AFTER: the link state alone decides
    assert not strip.has_signal
    assert strip.notice_text() == "NO SIGNAL \u2014 Bedside monitor: connection lost, retrying"
    assert strip.notice.isVisible() and strip.trace_colour() != "#33ff66"
    # large and over the wave, not a small note in a corner
    assert strip.notice.font().pixelSize() >= 24
    assert strip.notice.geometry().width() > strip.width() // 2
    assert strip.notice.geometry().intersects(strip.plot_widget.rect())
    # the whole text fits the notice (wrapped, never cut)
    label = strip.notice
    needed = label.fontMetrics().boundingRect(label.contentsRect(), int(label.alignment()) | 0x1000,
                                              label.text())  # 0x1000: Qt.TextWordWrap
    assert label.contentsRect().contains(needed)
    # samples still in the buffer do not bring the colour back while the link is down
    feed(ring, 2.0, 0.5)
    strip.update_from(ring, now=2.5)
    assert not strip.has_signal
    strip.set_link_down(None)
    feed(ring, 2.5, 0.5)
    strip.update_from(ring, now=3.0)
    assert strip.has_signal and strip.notice_text() == "" and not strip.notice.isVisible()
    assert strip.trace_colour() == "#33ff66"
    assert np.isfinite(strip.shown_samples()).any()


def test_drawn_the_fast_way(strip: WaveformStrip) -> None:
    """The settings measured to keep four strips at 30 frames/s cheap (docs/DESIGN.md, speed traps)."""
    pen = strip.curve.opts["pen"]
    assert pen.width() <= 1 and pen.color().alpha() == 255
    assert strip.curve.opts["antialias"] is False
    assert strip.curve.opts["clipToView"] is True
    assert strip.view.autoRangeEnabled() == [False, False]
    x_range, y_range = strip.view.viewRange()
    assert y_range == pytest.approx([-1.0, 2.0])
    assert x_range[1] == pytest.approx(SWEEP)
    curve_before = strip.curve
    ring = WaveRing(FS, SWEEP)
    for k in range(5):
        feed(ring, k * 0.5, 0.5)
        strip.update_from(ring, now=k * 0.5 + 0.5)
    assert strip.curve is curve_before  # updated in place, never re-created
    assert strip.view.viewRange()[1] == pytest.approx([-1.0, 2.0])


def test_auto_gain_follows_the_signal(qtbot) -> None:
    s = WaveformStrip(StripSpec("Pleth", "#00e5ff", (0.0, 1.0), scale="auto"), SWEEP)
    qtbot.addWidget(s)
    ring = WaveRing(FS, SWEEP)
    ring.write(np.linspace(0, 50, 200), 0.0)  # an amplitude far outside the initial range
    s.update_from(ring, now=2.0)
    lo, hi = s.view.viewRange()[1]
    assert lo <= 0.0 and hi >= 50.0 and hi < 80.0


def test_all_blank_sweep_does_not_warn(qtbot) -> None:
    s = WaveformStrip(StripSpec("Resp", "#ffe14d", (-1.0, 1.0), scale="auto"), SWEEP)
    qtbot.addWidget(s)
    ring = WaveRing(FS, SWEEP)
    ring.write(np.full(10, np.nan), 0.0)  # warnings are errors in this suite: no nanmin of nothing
    s.update_from(ring, now=1.0)


def test_auto_gain_does_not_magnify_a_flat_line(qtbot) -> None:
    s = WaveformStrip(StripSpec("Pleth", "#00e5ff", (0.0, 1.0), scale="auto"), SWEEP)
    qtbot.addWidget(s)
    ring = WaveRing(FS, SWEEP)
    ring.write(np.sin(np.arange(400) / 5.0), 0.0)  # a pulse of amplitude 1
    s.update_from(ring, now=4.0)
    before = s.view.viewRange()[1]
    ring.write(np.full(400, 0.2) + 1e-4 * np.sin(np.arange(400)), 4.0)  # probe off: flat with tiny noise
    for k in range(20):
        s.update_from(ring, now=8.0 + k / 30)
    assert s.view.viewRange()[1] == pytest.approx(before)


@pytest.mark.parametrize("height", [70, 100, 150])
def test_the_no_signal_notice_fits_a_short_strip(qtbot, height: int) -> None:
    """On a 768-px-high screen a strip may be under 100 px tall: the notice shrinks to fit, never cut."""
    from PySide6.QtCore import Qt

    s = WaveformStrip(StripSpec("ECG II", "#33ff66", (-1.0, 2.0)), SWEEP)
    qtbot.addWidget(s)
    s.resize(560, height)
    s.show()
    qtbot.waitExposed(s)
    s.set_link_down("Bedside monitor (IntelliVue MX450 on COM3): connection lost, retrying")
    label = s.notice
    flags = int(label.alignment()) | int(Qt.TextFlag.TextWordWrap)
    assert label.contentsRect().contains(label.fontMetrics().boundingRect(label.contentsRect(), flags,
                                                                          label.text()))
    assert label.font().pixelSize() >= 12
