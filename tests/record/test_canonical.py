"""Canonical JSON: the same entry always gives the same bytes (or the chain could not be recomputed)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.record.canonical import canonical_json, chain_hash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_key_order_does_not_matter_and_text_round_trips(d):
    reordered = dict(reversed(list(d.items())))
    text = canonical_json(d)
    assert canonical_json(reordered) == text
    assert json.loads(text) == d  # floats come back bit for bit
    assert canonical_json(json.loads(text)) == text


def test_exact_form():
    assert canonical_json({"b": 1, "a": [1.5, 0.1, True, None], "é": "ü"}) == \
        '{"a":[1.5,0.1,true,null],"b":1,"é":"ü"}'
    assert canonical_json({"x": 1.0}) == '{"x":1.0}' and canonical_json({"x": 1}) == '{"x":1}'


def test_times_are_utc_text_with_microseconds():
    cet = timezone(timedelta(hours=1))
    t = datetime(2026, 11, 25, 16, 0, 0, 5, tzinfo=cet)
    assert canonical_json({"t": t}) == '{"t":"2026-11-25T15:00:00.000005+00:00"}'
    assert canonical_json({"d": date(2026, 1, 2)}) == '{"d":"2026-01-02"}'
    with pytest.raises(ValueError, match="no time zone"):
        canonical_json({"t": datetime(2026, 1, 1)})


def test_what_json_cannot_hold_is_refused_by_path():
    with pytest.raises(ValueError, match=r"data\.v\[1\] is nan"):
        canonical_json({"v": [1.0, float("nan")]})
    with pytest.raises(ValueError, match="inf"):
        canonical_json({"v": float("inf")})
    with pytest.raises(ValueError, match="set"):
        canonical_json({"v": {1, 2}})
    with pytest.raises(ValueError, match="non-text key"):
        canonical_json({1: "x"})


def test_numpy_scalars_and_decimals():
    assert canonical_json({"a": np.float64(72.5), "b": np.int32(3), "c": Decimal("0.10")}) == \
        '{"a":72.5,"b":3,"c":"0.10"}'


def test_hash_depends_on_every_field_and_the_link():
    base = chain_hash({"a": 1}, "0" * 64)
    assert base == chain_hash({"a": 1}, "0" * 64)
    assert base != chain_hash({"a": 2}, "0" * 64)
    assert base != chain_hash({"a": 1}, "1" * 64)
