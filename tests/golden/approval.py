"""Image-approval tests, the pyqtgraph habit: a screen is rendered and compared with an approved reference PNG.

* References live in ``tests/golden/images/NAME.png``, next to ``render.json`` which names the fonts they were
  rendered with (the family Qt resolved for each family the screens ask for) and the Qt version (named in a
  failure message when it differs: a new Qt may move pixels too).
* :func:`assert_image_approved` compares a fresh render with its reference. A pixel counts as *different* when
  one of its colour channels differs by more than ``px_threshold`` (anti-aliasing and sub-pixel noise stay
  below it); the comparison fails when more than ``max_px`` pixels differ, or when the sizes differ. On
  failure the render, the reference and a diff image (differing pixels in magenta over a dimmed reference) are
  saved to ``$CHAIRSIDE_GOLDEN_FAILURES`` (default ``tests/golden/failures/``, ignored by git) and named in
  the message.
* ``CHAIRSIDE_UPDATE_GOLDEN=1`` rewrites the references on purpose (and ``render.json``); those tests then
  skip, saying which files were written, so an update run is never mistaken for a passing one.
* When the fonts this machine resolves differ from the ones recorded in ``render.json``, the comparison is
  skipped with a reason naming both fonts: a different font moves every glyph, which is not a change of ours.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QByteArray, qVersion
from PySide6.QtGui import QFont, QFontInfo, QImage, QImageWriter
from PySide6.QtWidgets import QWidget

IMAGES = Path(__file__).resolve().parent / "images"
RENDER_RECORD = IMAGES / "render.json"
UPDATE_ENV = "CHAIRSIDE_UPDATE_GOLDEN"
FAILURES_ENV = "CHAIRSIDE_GOLDEN_FAILURES"
#: the families the approved screens ask for: the theme's monitor font and the offscreen default family
FAMILIES: tuple[str, ...] = ("DejaVu Sans", "Sans Serif")
#: the application font every approved screen is rendered with (the offscreen default, named explicitly)
APP_FONT = ("DejaVu Sans", 9)
#: a channel difference at or below this (0-255) is rendering noise, not a change
PX_THRESHOLD = 40
#: more differing pixels than this fail the comparison (a changed digit in a small label is several hundred)
MAX_PX = 60


@dataclass(frozen=True, slots=True)
class Comparison:
    """How two images differ: pixels over the threshold, the largest channel difference, a size mismatch."""

    differing: int
    largest: int
    size_mismatch: str | None
    mask: np.ndarray | None

    def passes(self, max_px: int = MAX_PX) -> bool:
        return self.size_mismatch is None and self.differing <= max_px


def update_requested() -> bool:
    """True when ``CHAIRSIDE_UPDATE_GOLDEN`` asks for the references to be rewritten."""
    return os.environ.get(UPDATE_ENV, "") not in ("", "0")


def failures_dir() -> Path:
    return Path(os.environ.get(FAILURES_ENV) or Path(__file__).resolve().parent / "failures")


def resolved_fonts() -> dict[str, str]:
    """The family and style Qt draws with for each family of :data:`FAMILIES` on this machine."""
    out = {}
    for family in FAMILIES:
        info = QFontInfo(QFont(family))
        out[family] = f"{info.family()} {info.styleName()}".strip()
    return out


def font_mismatch() -> str | None:
    """Why the references cannot be compared on this machine (its fonts differ from theirs), or None."""
    if not RENDER_RECORD.exists():
        return None
    recorded = json.loads(RENDER_RECORD.read_text(encoding="utf-8")).get("fonts", {})
    here = resolved_fonts()
    wrong = [f"{family!r} resolves to {here.get(family)!r} here, the references used {font!r}"
             for family, font in recorded.items() if here.get(family) != font]
    return "; ".join(wrong) or None


def as_array(image: QImage) -> np.ndarray:
    """An ``(h, w, 3)`` uint8 RGB copy of ``image``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    raw = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=h * stride).reshape(h, stride)
    return raw[:, : w * 3].reshape(h, w, 3).copy()


def from_array(a: np.ndarray) -> QImage:
    """A QImage (RGB888) holding a copy of ``a``."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    h, w, _ = a.shape
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def compare(actual: np.ndarray, expected: np.ndarray, px_threshold: int = PX_THRESHOLD) -> Comparison:
    """Count the pixels of ``actual`` whose colour differs from ``expected`` by more than ``px_threshold``."""
    if actual.shape != expected.shape:
        return Comparison(0, 255, f"size {actual.shape[1]}x{actual.shape[0]}, "
                                  f"reference {expected.shape[1]}x{expected.shape[0]}", None)
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16)).max(axis=2)
    mask = diff > px_threshold
    return Comparison(int(mask.sum()), int(diff.max(initial=0)), None, mask)


def diff_image(expected: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The reference dimmed to a third, with every differing pixel magenta: where to look."""
    out = (expected // 3).astype(np.uint8)
    out[mask] = (255, 0, 255)
    return out


def render(widget: QWidget) -> QImage:
    """What ``widget`` draws now (its own paint, children included) as an RGB image."""
    return widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)


def _save(image: QImage, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = QImageWriter(str(path))
    writer.setFormat(QByteArray(b"png"))
    writer.setQuality(0)  # for PNG: the strongest compression (references live in the repository)
    if not writer.write(image):
        raise OSError(f"cannot write {path}: {writer.errorString()}")


def write_reference(name: str, image: QImage) -> Path:
    """Store ``image`` as the approved reference ``name`` and record the fonts it was drawn with."""
    path = IMAGES / f"{name}.png"
    _save(image, path)
    record = {"fonts": resolved_fonts(), "qt": qVersion()}
    RENDER_RECORD.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def assert_image_approved(name: str, image: QImage, *, max_px: int = MAX_PX,
                          px_threshold: int = PX_THRESHOLD) -> None:
    """Fail unless ``image`` matches the approved reference ``name`` (see the module docstring)."""
    if update_requested():
        path = write_reference(name, image)
        pytest.skip(f"{UPDATE_ENV} is set: reference {path.name} rewritten, nothing compared")
    mismatch = font_mismatch()
    if mismatch:
        pytest.skip(f"fonts differ from the references' ({mismatch}); "
                    f"install that font or regenerate with {UPDATE_ENV}=1")
    path = IMAGES / f"{name}.png"
    out = failures_dir()
    if not path.exists():
        _save(image, out / f"{name}.actual.png")
        pytest.fail(f"no reference image {path}; look at {out / (name + '.actual.png')} and, if it is right, "
                    f"run with {UPDATE_ENV}=1 to approve it")
    reference = QImage(str(path))
    if reference.isNull():
        _save(image, out / f"{name}.actual.png")
        pytest.fail(f"the reference image {path} cannot be read as a PNG (damaged, or a Git LFS pointer?); "
                    f"regenerate it with {UPDATE_ENV}=1")
    expected = as_array(reference)
    actual = as_array(image)
    result = compare(actual, expected, px_threshold)
    if result.passes(max_px):
        return
    _save(image, out / f"{name}.actual.png")
    _save(reference, out / f"{name}.expected.png")
    detail = result.size_mismatch or f"{result.differing} pixels differ by more than {px_threshold} " \
                                     f"(at most {max_px} may; largest difference {result.largest})"
    if result.mask is not None:
        _save(from_array(diff_image(expected, result.mask)), out / f"{name}.diff.png")
    recorded_qt = json.loads(RENDER_RECORD.read_text(encoding="utf-8")).get("qt") if RENDER_RECORD.exists() else None
    if recorded_qt and recorded_qt != qVersion():
        detail += f" (the references were drawn with Qt {recorded_qt}, this is Qt {qVersion()})"
    pytest.fail(f"{name} does not match its approved image: {detail}. Saved {name}.actual/.expected/.diff.png "
                f"in {out}; if the change is intended, regenerate with {UPDATE_ENV}=1 and look at the new image")
