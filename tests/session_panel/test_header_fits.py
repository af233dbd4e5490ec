"""The session header at the chair's screen sizes: dose, volume and rate shown in full, wrapped, never cut.

Issue 12: "= 35.0 mL at 1..." was cut on a 1366x768 screen. Each header line is checked the way a person
reads it: the whole text fits the label's rectangle (wrapped where it wraps) and the label lies inside the
window.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QLabel

from tests.session_panel.conftest import start


def _fits(label: QLabel) -> bool:
    flags = int(label.alignment()) | (int(Qt.TextFlag.TextWordWrap) if label.wordWrap() else 0)
    needed = label.fontMetrics().boundingRect(label.contentsRect(), flags, label.text())
    return label.contentsRect().contains(needed)


@pytest.mark.parametrize("size", [(1366, 768), (1280, 800), (1920, 1080)])
def test_header_shows_dose_volume_and_rate_in_full(qtbot, svc, monitor, clock, size: tuple[int, int]) -> None:
    from console.main_window import MainWindow
    from console.session_panel import SessionPanel

    window = MainWindow(demo=True)
    qtbot.addWidget(window)
    # owned by the window (not the test), which deletes it with itself
    panel = SessionPanel(svc, latest_vitals=monitor.latest, take_bp=monitor.take_bp, clock=clock, chair="2")
    window.set_session_panel(panel)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    start(panel, weight="112.5")  # a heavy patient: every number of the plan has its longest form
    assert panel.session is not None, panel.message()
    header = panel.header
    plan = header.plan_label.text()
    # 0.5 mg/kg x 112.5 kg at the protocol's concentration: the whole plan, volume and rate included
    assert "56.2 mg" in plan and "= 56.2 mL at 1 mg/mL" in plan and plan.endswith(" over 40 min at 84.3 mL/h"), plan
    qtbot.waitUntil(lambda: header.plan_label.isVisible())
    for _ in range(3):  # let the nested layouts take their posted layout requests
        QApplication.sendPostedEvents()
        QApplication.processEvents()
    for label in (header.title_label, header.protocol_label, header.plan_label, header.state_label,
                  header.next_label):
        if not label.isVisible():
            continue
        assert _fits(label), (label.objectName(), label.text(), label.size())
        assert "\u2026" not in label.text()
        # inside every parent up to the window: a label wider than the side area would be cut by it
        parent = label.parentWidget()
        while parent is not None:
            where = QRect(label.mapTo(parent, label.rect().topLeft()), label.size())
            assert parent.rect().contains(where), (label.text(), parent.objectName(), where, parent.size())
            if parent is window:
                break
            parent = parent.parentWidget()
    window.close()
