"""A layout walker for whole windows: what a user on a small screen would find cut or out of reach.

:func:`layout_problems` resizes a window to a screen size and names, for every visible control and text:
* a window whose smallest size is larger than the screen (its edge would be off-screen);
* a control or text reaching outside the window, or outside the scroll area it sits in (out of reach);
* a button narrower than its words, or a label without word wrap narrower than its text (clinical text cut).
A scroll area that scrolls (a table, a long log) may hold more than it shows: only what is outside its viewport
*and* cannot be scrolled to counts.

:func:`dialog_problems` does the same for a dialog or message box, which opens at its own size rather than
the screen's: that size must fit the screen, and nothing in the dialog may be cut at it.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QWidget,
)

#: the screens Chairside must fit (issue 12): a clinic laptop, a 1280x800 all-in-one, a desktop monitor
SCREENS: tuple[tuple[int, int], ...] = ((1366, 768), (1280, 800), (1920, 1080))


def _inside_scrolled_view(w: QWidget, root: QWidget) -> bool:
    """True for a widget inside a scroll area or item view that scrolls (reachable by scrolling)."""
    parent = w.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, (QAbstractItemView, QScrollArea)):
            return True
        parent = parent.parentWidget()
    return False


def _owned_by_control(w: QWidget) -> bool:
    """Internal parts of a compound control (a combo box's line edit, a scroll area's own bars)."""
    parent = w.parentWidget()
    return isinstance(parent, (QComboBox, QAbstractScrollArea)) and not isinstance(w, QLabel)


def layout_problems(window: QWidget, size: tuple[int, int]) -> list[str]:
    """What is off-screen, out of reach or cut in ``window`` at ``size`` (empty when it all fits)."""
    found: list[str] = []
    hint = window.minimumSizeHint()
    if hint.width() > size[0] or hint.height() > size[1]:
        found.append(f"the window cannot be smaller than {hint.width()}x{hint.height()} (screen {size[0]}x{size[1]})")
    window.resize(*size)
    for _ in range(3):  # a resize can change fonts, which asks for one more layout pass
        QApplication.processEvents()
    bounds = QRect(0, 0, window.width(), window.height())
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.isWindow() or _owned_by_control(w):
            continue
        if not isinstance(w, (QAbstractButton, QComboBox, QLineEdit, QLabel)):
            continue
        if _inside_scrolled_view(w, window):
            continue
        rect = QRect(w.mapTo(window, QPoint(0, 0)), w.size())
        text = w.text() if isinstance(w, (QAbstractButton, QLineEdit, QLabel)) else w.currentText()
        name = f"{type(w).__name__} {w.objectName()!r} {text[:40]!r}"
        if not bounds.contains(rect):
            found.append(f"{name} is outside the window ({rect.x()},{rect.y()} {rect.width()}x{rect.height()})")
        if isinstance(w, QAbstractButton) and w.text() and w.width() + 1 < w.sizeHint().width():
            found.append(f"{name}: words cut ({w.width()} px of {w.sizeHint().width()})")
        if (isinstance(w, QLabel) and w.text() and not w.wordWrap() and w.pixmap().isNull()
                and w.width() + 1 < w.sizeHint().width()):
            found.append(f"{name}: text cut ({w.width()} px of {w.sizeHint().width()})")
    return found


def dialog_problems(dialog: QWidget, size: tuple[int, int]) -> list[str]:
    """What is off-screen, out of reach or cut in ``dialog`` as it opens on a screen of ``size``.

    The dialog is shown (not run: no event loop of its own) so it takes the size it opens at; that size must
    fit the screen; then it is walked at that size (:func:`layout_problems`), the screen's size at most.
    """
    dialog.show()
    for _ in range(3):
        QApplication.processEvents()
    opening = dialog.size()
    found: list[str] = []
    if opening.width() > size[0] or opening.height() > size[1]:
        found.append(f"the dialog opens at {opening.width()}x{opening.height()}, larger than the "
                     f"{size[0]}x{size[1]} screen")
    found += layout_problems(dialog, (min(opening.width(), size[0]), min(opening.height(), size[1])))
    return found
