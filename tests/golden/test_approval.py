"""The image comparison itself: it fails for a real change (a value, a moved tile), survives rendering noise,
saves the evidence, regenerates only on purpose and skips, naming the font, on a machine with other fonts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from devices.model import State
from tests.golden import approval
from tests.golden.approval import as_array, assert_image_approved, compare, from_array, render
from tests.golden.scenes import LiveConsole

pytestmark = pytest.mark.usefixtures("golden_screen")

LIVE = "console_live_1366x768"


@pytest.fixture(autouse=True)
def _compare_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """These tests prove the comparison: never in update mode, failures saved to a private folder."""
    monkeypatch.delenv(approval.UPDATE_ENV, raising=False)
    monkeypatch.setenv(approval.FAILURES_ENV, str(tmp_path / "failures"))


@pytest.fixture
def live(qtbot):
    console = LiveConsole()
    qtbot.addWidget(console.window)
    console.window.resize(1366, 768)
    console.window.show()
    qtbot.waitExposed(console.window)
    for _ in range(3):
        QApplication.processEvents()
    console.settle()
    QApplication.processEvents()
    yield console
    console.close()


def reference(name: str) -> np.ndarray:
    return as_array(QImage(str(approval.IMAGES / f"{name}.png")))


def test_a_changed_value_fails_and_the_evidence_is_saved(live: LiveConsole, tmp_path: Path) -> None:
    """The heart rate reads 74 instead of the approved 73: a clinician would read another number."""
    now = live.clock.now()
    tile = live.window.tiles["HR"]
    tile.show_value(74.0, State.NONE, now - 1, now, "")
    QApplication.processEvents()
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_image_approved(LIVE, render(live.window))
    assert "pixels differ" in str(failed.value)
    saved = tmp_path / "failures"
    for suffix in ("actual", "expected", "diff"):
        assert (saved / f"{LIVE}.{suffix}.png").is_file()
    # the diff marks the tile, and nothing far from it
    diff = as_array(QImage(str(saved / f"{LIVE}.diff.png")))
    ys, xs = np.nonzero((diff == (255, 0, 255)).all(axis=2))
    top_left = tile.mapTo(live.window, QPoint(0, 0))
    assert xs.min() >= top_left.x() and xs.max() < top_left.x() + tile.width()
    assert ys.min() >= top_left.y() and ys.max() < top_left.y() + tile.height()


def test_a_tile_moved_by_a_few_pixels_fails(live: LiveConsole) -> None:
    """The SpO2 tile 4 px to the right (a layout change); rendered before the layout could put it back."""
    tile = live.window.tiles["SPO2"]
    tile.move(tile.x() + 4, tile.y())
    assert tile.x() == live.window.tiles["HR"].x() + 4
    with pytest.raises(pytest.fail.Exception, match="pixels differ"):
        assert_image_approved(LIVE, render(live.window))


def test_the_unchanged_scene_renders_exactly_as_approved(live: LiveConsole) -> None:
    """Determinism: a fresh build of the scene (own simulator, own clock) gives the approved pixels exactly."""
    result = compare(as_array(render(live.window)), reference(LIVE))
    assert result.differing == 0 and result.largest == 0


def test_anti_aliasing_noise_passes() -> None:
    """Every pixel off by up to the threshold, plus a few dozen edge pixels fully flipped, still matches."""
    expected = reference(LIVE)
    rng = np.random.default_rng(12)
    noisy = expected.astype(np.int16) + rng.integers(-approval.PX_THRESHOLD, approval.PX_THRESHOLD + 1,
                                                     size=expected.shape)
    flips = rng.integers(0, [expected.shape[0], expected.shape[1]], size=(approval.MAX_PX, 2))
    noisy[flips[:, 0], flips[:, 1]] = 255 - noisy[flips[:, 0], flips[:, 1]]
    noisy_image = from_array(np.clip(noisy, 0, 255).astype(np.uint8))
    assert_image_approved(LIVE, noisy_image)


def test_one_pixel_too_many_fails() -> None:
    expected = reference(LIVE)
    changed = expected.copy()
    changed[:1, : approval.MAX_PX + 1] = 255 - changed[:1, : approval.MAX_PX + 1]
    with pytest.raises(pytest.fail.Exception, match=f"{approval.MAX_PX + 1} pixels differ"):
        assert_image_approved(LIVE, from_array(changed))


def test_another_size_fails() -> None:
    expected = reference(LIVE)
    with pytest.raises(pytest.fail.Exception, match="size 1366x767, reference 1366x768"):
        assert_image_approved(LIVE, from_array(expected[:-1]))


def test_a_missing_reference_fails_and_says_how_to_approve(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="CHAIRSIDE_UPDATE_GOLDEN=1"):
        assert_image_approved("no_such_screen", from_array(np.zeros((4, 4, 3), np.uint8)))
    assert (tmp_path / "failures" / "no_such_screen.actual.png").is_file()


def test_other_fonts_skip_naming_the_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approval, "resolved_fonts", lambda: {"DejaVu Sans": "Liberation Sans Regular",
                                                             "Sans Serif": "DejaVu Sans Book"})
    with pytest.raises(pytest.skip.Exception) as skipped:
        assert_image_approved(LIVE, from_array(reference(LIVE)))
    reason = str(skipped.value)
    assert "'DejaVu Sans' resolves to 'Liberation Sans Regular' here" in reason
    assert "the references used 'DejaVu Sans Book'" in reason and "Sans Serif" not in reason


def test_update_mode_rewrites_the_reference_and_the_font_record(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    images = tmp_path / "images"
    monkeypatch.setattr(approval, "IMAGES", images)
    monkeypatch.setattr(approval, "RENDER_RECORD", images / "render.json")
    monkeypatch.setenv(approval.UPDATE_ENV, "1")
    picture = np.full((6, 8, 3), (10, 200, 30), np.uint8)
    with pytest.raises(pytest.skip.Exception, match="rewritten, nothing compared"):
        assert_image_approved("tiny", from_array(picture))
    assert np.array_equal(as_array(QImage(str(images / "tiny.png"))), picture)
    assert '"DejaVu Sans"' in (images / "render.json").read_text(encoding="utf-8")
    monkeypatch.setenv(approval.UPDATE_ENV, "0")  # "0" is not a request: compared again, and it matches
    assert_image_approved("tiny", from_array(picture))


def test_the_references_are_our_small_renders() -> None:
    """References stay small (own renders, compressed): a capture pasted in by mistake would be far larger."""
    pngs = sorted(approval.IMAGES.glob("*.png"))
    assert pngs, "no reference images"
    for png in pngs:
        assert png.stat().st_size < 300_000, png.name


def test_a_failure_names_another_qt_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A new Qt can move pixels: when the references were drawn with another one, the failure says so."""
    images = tmp_path / "images"
    images.mkdir()
    record = images / "render.json"
    record.write_text('{"fonts": {}, "qt": "5.0.0"}', encoding="utf-8")
    monkeypatch.setattr(approval, "IMAGES", images)
    monkeypatch.setattr(approval, "RENDER_RECORD", record)
    picture = np.zeros((8, 8, 3), np.uint8)
    assert from_array(picture).save(str(images / "tiny.png"))
    with pytest.raises(pytest.fail.Exception, match=r"drawn with Qt 5\.0\.0, this is Qt \d"):
        assert_image_approved("tiny", from_array(np.full((8, 8, 3), 255, np.uint8)), max_px=0)


def test_an_unreadable_reference_fails_with_a_plain_message(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "tiny.png").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\n", encoding="utf-8")
    monkeypatch.setattr(approval, "IMAGES", images)
    monkeypatch.setattr(approval, "RENDER_RECORD", images / "render.json")
    with pytest.raises(pytest.fail.Exception, match="cannot be read as a PNG"):
        assert_image_approved("tiny", from_array(np.zeros((4, 4, 3), np.uint8)))
