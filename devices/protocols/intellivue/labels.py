"""Display labels for Philips physio ids that devices.mdc does not name (ECG leads, ST leads, pressures).

Compound objects (multi-lead ECG waves, ST segment sets, blood pressures) carry one label string for the whole
object; each component needs its own label, derived here from the component's physio id (nomenclature tables
of the Philips Data Export guide).
"""

from __future__ import annotations

from devices import mdc

#: low byte of the ECG lead physio ids (0x01xx waves, 0x03xx ST values) → lead name
ECG_LEADS: dict[int, str] = {
    0x01: "I", 0x02: "II", 0x03: "V1", 0x04: "V2", 0x05: "V3", 0x06: "V4", 0x07: "V5", 0x08: "V6",
    0x3D: "III", 0x3E: "aVR", 0x3F: "aVL", 0x40: "aVF", 0x43: "V", 0x4B: "MCL", 0x4C: "MCL1",
    0x64: "ES", 0x65: "AS", 0x66: "AI",
}
_PRESSURE_PARTS = {1: "sys", 2: "dia", 3: "mean"}
#: pressure objects (the low two bits of a component's id say sys/dia/mean)
PRESSURES: dict[int, str] = {
    0x4A00: "P", 0x4A04: "NBP", 0x4A0C: "Ao", 0x4A10: "ART", 0x4A14: "ABP", 0x4A1C: "PAP", 0x4A24: "PAWP",
    0x4A28: "UAP", 0x4A30: "LAP", 0x4A34: "RAP", 0x4A44: "CVP", 0x4A48: "UVP",
}


def component_label(physio: int, object_label: str = "") -> str:
    """Label of one component of a compound numeric or wave, e.g. ``ECG aVR``, ``ST II``, ``ABP sys``."""
    code = mdc.from_philips(physio)
    if code in mdc.PARAMETERS:
        return mdc.label_of(code)
    high, low = physio >> 8, physio & 0xFF
    if high == 0x01 and low in ECG_LEADS:
        return f"ECG {ECG_LEADS[low]}"
    if high == 0x03 and low in ECG_LEADS:
        return f"ST {ECG_LEADS[low]}"
    if physio in PRESSURES:
        return PRESSURES[physio]
    if physio & ~0x3 in PRESSURES and physio & 0x3:
        return f"{object_label or PRESSURES[physio & ~0x3]} {_PRESSURE_PARTS[physio & 0x3]}"
    return f"{object_label or 'Philips'} {physio:#06x}"


def object_label(physio: int, label_string: str = "") -> str:
    """Label of a simple numeric or wave: the monitor's own label string, else a known name, else the id."""
    if label_string:
        return label_string
    code = mdc.from_philips(physio)
    if code in mdc.PARAMETERS:
        return mdc.label_of(code)
    return component_label(physio)
