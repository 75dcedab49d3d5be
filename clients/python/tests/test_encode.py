"""The sender's fast encoding path sends what the full ``plain()`` path would (no server needed)."""

import datetime as dt
import decimal
import json

import pytest

from vigil_client._client import _encode_event
from vigil_client._encode import encode_line, plain

CASES = [
    {"features": {"amount": 129.5, "country": "DE", "age": 41, "is_new": False}},
    {"features": {"a": float("nan"), "b": dt.datetime(2026, 1, 1, 12, 30)}},
    {"confidence": decimal.Decimal("0.5"), "features": {"d": decimal.Decimal("1.25")}},
    {"scores": {True: 0.8, False: 0.2}},
    {"scores": {True: 0.8, False: float("nan")}},  # the NaN sends the whole event down the full path
    {"features": {1: 2, 2.5: "x", None: 3}},
    {"features": {"t": (1, 2), "l": [1.5, float("inf")]}},
]


@pytest.mark.parametrize("fields", CASES)
def test_the_fast_path_sends_what_plain_would(fields):
    base = {"id": "a", "model": "m", "timestamp": 1.5, "prediction": "ok"}
    item = dict(base, **fields)
    fast = _encode_event(("prediction", dict(item)))
    full = encode_line({k: plain(v) for k, v in item.items()})
    assert json.loads(fast) == json.loads(full)


def test_boolean_keys_are_spelled_as_the_server_spells_classes():
    line = _encode_event(("prediction", {"id": "a", "model": "m", "timestamp": 1.0, "prediction": True,
                                         "scores": {True: 0.8, False: float("nan")}}))
    assert json.loads(line)["scores"] == {"true": 0.8, "false": None}
