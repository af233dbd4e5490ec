"""Limits come from a clinic's protocol template; a bad template must say exactly what is wrong."""

from __future__ import annotations

import pytest

from console.alarms import LIMIT_KEYS, AlarmLimits, LimitsError
from tests.alarms.helpers import DEFAULTS


def test_from_dict_reads_every_key_and_keeps_the_protocol_version() -> None:
    limits = AlarmLimits.from_dict({**DEFAULTS, "spo2_low": 90}, "iv@3")
    assert limits.spo2_low == 90
    assert limits.sbp_high == 180 and limits.stale_s == 10
    assert limits.protocol_version == "iv@3"
    assert limits.to_dict() == {**DEFAULTS, "spo2_low": 90}
    assert set(LIMIT_KEYS) == set(DEFAULTS)


def test_defaults_equal_the_clinical_defaults() -> None:
    assert AlarmLimits().to_dict() == DEFAULTS


def test_missing_and_unknown_keys_are_listed_together() -> None:
    data = {k: v for k, v in DEFAULTS.items() if k not in ("hr_low", "rr_low")}
    data["spo2_lo"] = 90
    with pytest.raises(LimitsError) as err:
        AlarmLimits.from_dict(data)
    text = str(err.value)
    assert "missing: hr_low, rr_low" in text
    assert "unknown key(s): spo2_lo" in text
    assert len(err.value.problems) == 2


@pytest.mark.parametrize(("key", "value", "words"), [
    ("sbp_high", "180", "sbp_high must be a number, got '180'"),
    ("hr_high", True, "hr_high must be a number, got True"),
    ("spo2_low", 920, "spo2_low = 920 % is outside the sane range 50..100 %"),
    ("persistence_s", -1, "persistence_s = -1 s is outside"),
    ("stale_s", float("nan"), "stale_s must be a finite number"),
])
def test_bad_values_are_named(key: str, value: object, words: str) -> None:
    with pytest.raises(LimitsError, match=words.replace("(", r"\(").replace("..", r"\.\.")):
        AlarmLimits.from_dict({**DEFAULTS, key: value})


def test_inconsistent_pairs_are_rejected() -> None:
    with pytest.raises(LimitsError) as err:
        AlarmLimits.from_dict({**DEFAULTS, "spo2_critical": 93, "hr_low": 130, "etco2_low": 70})
    assert [p.split(" ")[0] for p in err.value.problems] == ["spo2_critical", "hr_low", "etco2_low"]


def test_not_a_dict() -> None:
    with pytest.raises(LimitsError, match="expected a dictionary of limits, got list"):
        AlarmLimits.from_dict([1, 2])  # type: ignore[arg-type]
