"""The alarm rule table: one entry per rule, every entry evaluated by the engine and overridable by its id."""

from __future__ import annotations

import copy
import pickle

import pytest

from console.alarms import AlarmEngine, AlarmLimits
from console.alarms.limits import (
    LIMIT_KEYS,
    RULES,
    RULES_BY_ID,
    SETTINGS,
    AlarmRule,
    Condition,
    default_limits,
)
from devices import mdc
from tests.alarms.helpers import DEFAULTS, VERSION, events, num


def test_the_template_keys_are_the_rule_ids_then_the_settings() -> None:
    assert LIMIT_KEYS == tuple(r.id for r in RULES) + tuple(SETTINGS)
    assert default_limits() == DEFAULTS == AlarmLimits().to_dict()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_is_complete_and_its_default_is_sane(rule: AlarmRule) -> None:
    lo, hi = rule.sane
    assert lo <= rule.default <= hi and rule.hysteresis > 0 and rule.parameters
    assert (rule.condition is Condition.RISE) == (rule.baseline is not None)
    if rule.below is not None:
        other, why = rule.below
        assert rule.default < RULES_BY_ID[other].default and why


def _violating(rule: AlarmRule, limit: float, base: float) -> float:
    beyond = limit + 3 if rule.above else limit - 3
    return beyond + base if rule.condition is Condition.RISE else beyond


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_the_engine_raises_every_rule_of_the_table_with_its_priority_and_message(rule: AlarmRule) -> None:
    """Adding an entry to RULES is all the engine needs: each one is evaluated on each of its parameters."""
    limits = AlarmLimits.from_dict({**DEFAULTS}, VERSION)
    for code in sorted(rule.parameters):
        eng = AlarmEngine(limits)
        eng.set_baseline(120, 70)
        base = {"sbp": 120.0, "dbp": 70.0}.get(rule.baseline or "", 0.0)
        value = _violating(rule, limits.threshold(rule.id), base)
        for i in range(15):  # continuous values need persistence_s (10 s) beyond the limit
            eng.feed(num(code, value, 1000.0 + i), now=1000.0 + i)
        # a condition (a NIBP reading, a parameter in one direction) has a record naming every limit it broke
        starts = [e for e in events(eng, "start") if f"limit_{rule.id}" in e["values"]]
        assert starts, f"{rule.id} raised nothing for {mdc.label_of(code)} = {value}"
        assert starts[0]["priority"] == rule.priority.name.lower()
        assert f"{limits.threshold(rule.id):g}" in starts[0]["message"]


def test_a_protocol_overrides_a_rule_by_its_id_and_the_engine_uses_it() -> None:
    eng = AlarmEngine(AlarmLimits.from_dict({**DEFAULTS, "spo2_low": 95}, VERSION))
    for i in range(15):
        eng.feed(num(mdc.SPO2, 94, 1000.0 + i), now=1000.0 + i)
    assert [(e["key"].split("|")[0], e["limit"], e["values"]) for e in events(eng, "start")] == [
        ("low", 95, {"limit_spo2_low": 95})]


def test_limits_are_immutable_and_refuse_unknown_rules() -> None:
    limits = AlarmLimits(protocol_version="p", spo2_low=90)
    assert limits.spo2_low == 90 and limits.threshold("spo2_low") == 90 and limits.hr_high == 120
    with pytest.raises(AttributeError):
        limits.spo2_low = 80  # type: ignore[misc]
    with pytest.raises(TypeError, match="unknown alarm limit"):
        AlarmLimits(spo2_lo=90)
    with pytest.raises(AttributeError, match="no limit 'spo2_lo'"):
        _ = limits.spo2_lo
    # a copy (a session's settings copied for another thread, a pickled configuration) is equal and separate
    for twin in (copy.copy(limits), copy.deepcopy(limits), pickle.loads(pickle.dumps(limits))):
        assert twin == limits and twin.protocol_version == "p" and twin.spo2_low == 90
