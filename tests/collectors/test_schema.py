"""The measurement record: what enters the store and what is refused, with a one-line reason."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.schema import COLUMNS, SchemaError, mb_from_bytes, ms_from_us, to_frame

GOOD = dict(model="resnet50", device="Samsung Galaxy S23", device_tier="edge", runtime="tflite",
            precision="float", latency_ms=1.904, source="aihub", source_ref="perf.yaml@abc",
            measured_at="2024-02-22", record_key="j1p8em6zp")


def test_valid_record_gets_every_column_and_derived_fields():
    df = to_frame([GOOD | {"batch_size": 4}])
    assert list(df.columns) == list(COLUMNS)
    row = df.iloc[0]
    assert row["ms_per_sample"] == pytest.approx(1.904 / 4)
    assert row["measured_at"] == pd.Timestamp("2024-02-22")
    assert pd.notna(row["imported_at"]) and len(row["record_id"]) == 20


def test_record_identity_follows_record_key_not_import_time():
    a = to_frame([GOOD], imported_at=pd.Timestamp("2025-01-01").to_pydatetime())
    b = to_frame([GOOD | {"latency_ms": 2.0}])
    assert a.record_id[0] == b.record_id[0]
    c = to_frame([GOOD | {"record_key": "other"}])
    assert c.record_id[0] != a.record_id[0]


@pytest.mark.parametrize("field,value,message", [
    ("latency_ms", -1.0, "latency_ms' must be > 0"),
    ("latency_ms", 0, "latency_ms' must be > 0"),
    ("latency_ms", float("nan"), "latency_ms' is missing"),
    ("latency_ms", float("inf"), "not finite"),
    ("latency_ms", "fast", "not a number"),
    ("latency_ms", 1.9e9, "absurd"),
    ("device_tier", "phone", "device_tier"),
    ("source", "blog", "source"),
    ("measured_at", "yesterday-ish", "not a date"),
    ("batch_size", 1.5, "integer"),
    ("peak_memory_mb", -3, "peak_memory_mb"),
])
def test_bad_values_name_origin_and_field(field, value, message):
    with pytest.raises(SchemaError) as err:
        to_frame([GOOD | {field: value}], origin="f.yaml")
    text = str(err.value)
    assert "f.yaml" in text and message in text and "\n" not in text


def test_missing_required_field_and_unknown_field():
    with pytest.raises(SchemaError, match="'device' is missing"):
        to_frame([{k: v for k, v in GOOD.items() if k != "device"}])
    with pytest.raises(SchemaError, match="unknown field"):
        to_frame([GOOD | {"latencyms": 3}])


def test_unit_helpers():
    assert ms_from_us(1904.0) == pytest.approx(1.904)
    assert mb_from_bytes(2 * 1024 * 1024) == pytest.approx(2.0)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**12),
                 st.text(max_size=5), st.booleans()))
def test_any_latency_value_is_accepted_only_if_plausible(value):
    try:
        df = to_frame([GOOD | {"latency_ms": value}])
    except SchemaError as exc:
        assert "latency_ms" in str(exc)
        return
    accepted = float(df.latency_ms[0])
    assert math.isfinite(accepted) and 0 < accepted <= 600_000
