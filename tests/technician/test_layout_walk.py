"""Device setup fits the clinic's screens (issue 12: it opened at 1280x860 and hid New/Duplicate/Delete on a
768-high screen): walked at 1366x768, 1280x800 and 1920x1080 (tests/layout_walk.py)."""

from __future__ import annotations

import pytest

from console.technician.setup_dialog import open_device_setup
from tests.layout_walk import SCREENS, layout_problems


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_device_setup_fits(qtbot, services, serve, size) -> None:
    served = serve("masimo")
    link = served.link("chair 3")
    dialog = open_device_setup(None, services["technician"], [link])
    qtbot.addWidget(dialog)
    try:
        for tab in range(dialog.tabs.count()):
            dialog.tabs.setCurrentIndex(tab)
            assert layout_problems(dialog, size) == [], dialog.tabs.tabText(tab)
    finally:
        dialog.close()
        served.stop_links()
