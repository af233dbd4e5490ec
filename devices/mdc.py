"""IEEE 11073-10101 (MDC) nomenclature codes used across Chairside.

A code is ``partition * 65536 + term``; Philips IntelliVue physio ids live in partition 2 (SCADA), so
``code = 0x20000 + physio_id``. Every driver maps what it decodes to these codes; the UI, the alarm engine,
the record and the exports key everything on them.
"""

from __future__ import annotations

from dataclasses import dataclass

SCADA = 2


def scada(physio_id: int) -> int:
    """MDC code of a Philips/11073 SCADA-partition physio id (``0x4182`` → ``147842``)."""
    return SCADA * 65536 + physio_id


# Numerics
HEART_RATE = scada(0x4182)  # MDC_ECG_HEART_RATE 147842
# MDC_PULS_OXIM_PULS_RATE is term 0x481A (149530) in IEEE 11073-10101. Philips reports the oximeter's pulse
# rate under its own id NOM_PLETH_PULS_RATE 0x4822, which is NOT 0x20000 + the MDC term: see PHILIPS_TO_MDC.
PULSE_RATE_OXIM = scada(0x481A)  # 149530
PULSE_RATE = scada(0x480A)  # MDC_PULS_RATE 149514
SPO2 = scada(0x4BB8)  # MDC_PULS_OXIM_SAT_O2 150456
PERF_INDEX = scada(0x4BB0)  # MDC_PULS_OXIM_PERF_REL 150448
NIBP_SYS = scada(0x4A05)  # 150021
NIBP_DIA = scada(0x4A06)  # 150022
NIBP_MEAN = scada(0x4A07)  # 150023
NIBP = scada(0x4A04)  # 150020 the compound NIBP object
ABP_SYS = scada(0x4A15)  # 150037
ABP_DIA = scada(0x4A16)  # 150038
ABP_MEAN = scada(0x4A17)  # 150039
RESP_RATE = scada(0x500A)  # MDC_RESP_RATE 151562
AWAY_RESP_RATE = scada(0x5012)  # MDC_AWAY_RESP_RATE 151570
ETCO2 = scada(0x50B0)  # NOM_AWAY_CO2_ET partial pressure, mmHg 151728
ETCO2_CONC = scada(0x509C)  # NOM_CONC_AWAY_CO2_ET, % 151708
TEMP = scada(0x4B48)  # MDC_TEMP 150344
TEMP_BODY = scada(0x4B5C)  # MDC_TEMP_BODY 150364

#: Philips physio ids whose MDC code is not simply ``scada(id)`` (checked against the IEEE 11073 term tables)
PHILIPS_TO_MDC: dict[int, int] = {0x4822: PULSE_RATE_OXIM}
_MDC_TO_PHILIPS = {code: physio for physio, code in PHILIPS_TO_MDC.items()}


def from_philips(physio_id: int) -> int:
    """MDC code of a Philips IntelliVue physio id (SCADA partition), honouring the few Philips-specific ids."""
    return PHILIPS_TO_MDC.get(physio_id, scada(physio_id))


def to_philips(code: int) -> int:
    """Philips physio id for an MDC code (inverse of :func:`from_philips`)."""
    return _MDC_TO_PHILIPS.get(code, code & 0xFFFF)


# Waves
ECG_II = scada(0x0102)  # 131330
PLETH = scada(0x4BB4)  # 150452
RESP_WAVE = scada(0x5000)  # 151552
CO2_WAVE = scada(0x50AC)  # 151724


@dataclass(frozen=True, slots=True)
class Parameter:
    """What the UI and exports need to know about a code."""

    code: int
    label: str  # short label a clinician reads on a tile ("HR", "SpO2")
    unit: str  # UCUM
    name: str  # MDC reference id


PARAMETERS: dict[int, Parameter] = {
    p.code: p
    for p in (
        Parameter(HEART_RATE, "HR", "/min", "MDC_ECG_HEART_RATE"),
        Parameter(PULSE_RATE_OXIM, "PR", "/min", "MDC_PULS_OXIM_PULS_RATE"),
        Parameter(PULSE_RATE, "Pulse", "/min", "MDC_PULS_RATE"),
        Parameter(SPO2, "SpO2", "%", "MDC_PULS_OXIM_SAT_O2"),
        Parameter(PERF_INDEX, "PI", "%", "MDC_PULS_OXIM_PERF_REL"),
        Parameter(NIBP_SYS, "NBP sys", "mm[Hg]", "MDC_PRESS_BLD_NONINV_SYS"),
        Parameter(NIBP_DIA, "NBP dia", "mm[Hg]", "MDC_PRESS_BLD_NONINV_DIA"),
        Parameter(NIBP_MEAN, "NBP mean", "mm[Hg]", "MDC_PRESS_BLD_NONINV_MEAN"),
        Parameter(ABP_SYS, "ABP sys", "mm[Hg]", "MDC_PRESS_BLD_ART_ABP_SYS"),
        Parameter(ABP_DIA, "ABP dia", "mm[Hg]", "MDC_PRESS_BLD_ART_ABP_DIA"),
        Parameter(ABP_MEAN, "ABP mean", "mm[Hg]", "MDC_PRESS_BLD_ART_ABP_MEAN"),
        Parameter(RESP_RATE, "RR", "/min", "MDC_RESP_RATE"),
        Parameter(AWAY_RESP_RATE, "awRR", "/min", "MDC_AWAY_RESP_RATE"),
        Parameter(ETCO2, "etCO2", "mm[Hg]", "MDC_AWAY_CO2_ET"),
        Parameter(ETCO2_CONC, "etCO2 %", "%", "MDC_CONC_AWAY_CO2_ET"),
        Parameter(TEMP, "Temp", "Cel", "MDC_TEMP"),
        Parameter(TEMP_BODY, "Tbody", "Cel", "MDC_TEMP_BODY"),
        Parameter(ECG_II, "ECG II", "mV", "MDC_ECG_ELEC_POTL_II"),
        Parameter(PLETH, "Pleth", "1", "MDC_PULS_OXIM_PLETH"),
        Parameter(RESP_WAVE, "Resp", "1", "MDC_RESP"),
        Parameter(CO2_WAVE, "CO2", "mm[Hg]", "MDC_AWAY_CO2"),
    )
}


def label_of(code: int, default: str = "") -> str:
    """The short display label of a code, or ``default`` (or the number) when unknown."""
    p = PARAMETERS.get(code)
    return p.label if p else (default or str(code))
