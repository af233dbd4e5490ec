"""Units as clinicians write them on every screen (issue 12: "36.8 Cel", "mm[Hg]" on screen).

Devices and the record keep UCUM; what a person reads goes through :func:`console.clinical.units.display_unit`.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from console.clinical.units import display_unit
from devices import mdc
from devices.model import Numeric, State

UCUM_MARKS = ("mm[Hg]", "Cel", "{", "[")


@pytest.mark.parametrize("ucum, shown", [
    ("mm[Hg]", "mmHg"), ("Cel", "\u00b0C"), ("[degF]", "\u00b0F"), ("/min", "/min"), ("{beats}/min", "/min"),
    ("{breaths}/min", "/min"), ("%", "%"), ("1", ""), ("", ""), ("mV", "mV"), ("kPa", "kPa"), ("L/min", "L/min"),
    ("uV", "\u00b5V"), ("{count}/min", "/min"), ("{unit 0x1234}", ""),
])
def test_display_unit(ucum: str, shown: str) -> None:
    assert display_unit(ucum) == shown
    assert display_unit(shown) == shown  # idempotent: text converted once is left alone


def test_every_unit_a_device_can_send_is_written_as_clinicians_write_it() -> None:
    for p in mdc.PARAMETERS.values():
        shown = display_unit(p.unit)
        assert not any(mark in shown for mark in UCUM_MARKS), (p.unit, shown)


def _all_label_texts(widget) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel)]


def test_tiles_show_degrees_celsius_and_mmhg(qtbot) -> None:
    from console.main_window import MainWindow

    t = 1_760_000_000.0
    w = MainWindow(clock=lambda: t)
    qtbot.addWidget(w)
    w.live.ingest([Numeric(code, mdc.label_of(code), value, mdc.PARAMETERS[code].unit, State.NONE, None, t, "m")
                   for code, value in ((mdc.TEMP, 36.8), (mdc.NIBP_SYS, 124.0), (mdc.NIBP_DIA, 78.0),
                                       (mdc.ETCO2, 37.0), (mdc.SPO2, 97.0), (mdc.HEART_RATE, 72.0))])
    w.refresh()
    assert w.tiles["TEMP"].unit.text() == "\u00b0C" and w.tiles["TEMP"].value_text() == "36.8"
    assert w.nibp_tile.unit.text() == "mmHg" and w.tiles["ETCO2"].unit.text() == "mmHg"
    assert w.tiles["SPO2"].unit.text() == "%" and w.tiles["HR"].unit.text() == "/min"
    texts = _all_label_texts(w)
    assert not [x for x in texts if "mm[Hg]" in x or "Cel" in x.split()], texts


def test_a_tile_given_a_ucum_unit_shows_the_clinical_one(qtbot) -> None:
    from widgets.numeric_tile import NumericTile

    tile = NumericTile("Temp", "Cel", "#ffffff")
    qtbot.addWidget(tile)
    assert tile.unit.text() == "\u00b0C"


def test_alarm_banner_and_list_show_mmhg(qtbot) -> None:
    from tests.alarms.helpers import engine, num
    from widgets.alarm_banner import AlarmBanner
    from widgets.alarm_list import AlarmList

    eng = engine()
    banner = AlarmBanner(eng, user=lambda: "nurse", clock=lambda: 1000.0)
    alarms = AlarmList(eng, user=lambda: "nurse", clock=lambda: 1000.0)
    qtbot.addWidget(banner)
    qtbot.addWidget(alarms)
    eng.feed(num(mdc.NIBP_SYS, 190, 1000.0))  # the helper sends the device's UCUM "mm[Hg]"
    eng.feed(num(mdc.NIBP_DIA, 100, 1000.0))
    banner.refresh(1000.0)
    alarms.refresh()
    assert "mmHg" in banner.message_text and "mm[Hg]" not in banner.message_text, banner.message_text
    cells = [cell for row in alarms.row_texts() for cell in row]
    assert any("mmHg" in c for c in cells) and not any("mm[Hg]" in c for c in cells), cells


def test_technician_values_show_clinical_units() -> None:
    from console.technician.model import format_numeric

    n = Numeric(mdc.TEMP, "Temp", 36.8, "Cel", State.NONE, None, 0.0, "m")
    assert format_numeric(n)[1] == "36.8 \u00b0C"
