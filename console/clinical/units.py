"""Units as clinicians write them: the one place that turns a device's UCUM code into screen text.

Devices and the record keep UCUM (``mm[Hg]``, ``Cel``, ``{beats}/min``) because exports and other systems read
it; every screen (tiles, alarm banner and list, review, board, technician view) shows :func:`display_unit`
instead. Exports keep their own format's units and do not use this.
"""

from __future__ import annotations

import re

#: UCUM codes (as the drivers send them) -> the text a clinician writes; a unit missing here is shown as given
DISPLAY_UNITS: dict[str, str] = {
    "mm[Hg]": "mmHg",
    "Cel": "\u00b0C",
    "[degF]": "\u00b0F",
    "{beats}/min": "/min",
    "{breaths}/min": "/min",
    "{beat}/min": "/min",
    "{breath}/min": "/min",
    "/min": "/min",
    "1/min": "/min",
    "%": "%",
    "1": "",
    "uV": "\u00b5V",
    "ug": "\u00b5g",
    "ug/kg/min": "\u00b5g/kg/min",
    "m2": "m\u00b2",
    "L/min/m2": "L/min/m\u00b2",
}

#: a UCUM annotation (``{unit 0x1234}`` for a code the driver does not know) says nothing a clinician can use
_ANNOTATION = re.compile(r"\{[^}]*\}")


def display_unit(unit: str | None) -> str:
    """``mm[Hg]`` -> ``mmHg``, ``Cel`` -> ``°C``, ``{beats}/min`` -> ``/min``; already-written units unchanged.

    Idempotent, so a caller never has to know whether the text it holds was converted before.
    """
    if not unit:
        return ""
    known = DISPLAY_UNITS.get(unit)
    if known is not None:
        return known
    # strip UCUM annotations and square brackets the table does not cover ("{count}/min" -> "/min")
    return _ANNOTATION.sub("", unit).replace("[", "").replace("]", "").strip()
