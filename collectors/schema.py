"""The one measurement record of effbench.

Every importer and collector builds its rows through :func:`to_frame`, so units, names and
validation are decided here exactly once. A row is one *measurement*: a latency (and, where the
source gives it, memory) of one model on one device configuration, with the provenance needed to
find the number again in its source.

Units are fixed at the edge: ``latency_ms`` is milliseconds per batch (the source's headline
figure), ``ms_per_sample`` is ``latency_ms / batch_size``, memory is MB (10^6 bytes is *not* used:
1 MB = 2^20 bytes, as AI Hub's ``_mb`` fields and torch's allocator report).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd

DEVICE_TIERS = ("gpu", "cpu", "edge")
SOURCES = ("aihub", "timm", "local")

#: Column -> pandas dtype, in export order. The first block is the tidy table the issue fixes;
#: the second holds what local measurement adds (distribution, noise flag, memory method,
#: conditions) and the record identity.
COLUMNS: dict[str, str] = {
    "model": "string",
    "source_model": "string",
    "family": "string",
    "device": "string",
    "device_tier": "string",
    "chipset": "string",
    "form_factor": "string",
    "runtime": "string",
    "runtime_version": "string",
    "precision": "string",
    "layout": "string",
    "input_size": "Int64",
    "batch_size": "Int64",
    "threads": "Int64",
    "compute_unit": "string",
    "latency_ms": "float64",
    "ms_per_sample": "float64",
    "latency_p50_ms": "float64",
    "latency_p90_ms": "float64",
    "latency_p99_ms": "float64",
    "n_samples": "Int64",
    "peak_memory_mb": "float64",
    "peak_memory_min_mb": "float64",
    "source": "string",
    "source_ref": "string",
    "measured_at": "datetime64[ns]",
    "imported_at": "datetime64[ns]",
    # --- local-measurement extras (null for imported sources) ---
    "latency_p95_ms": "float64",
    "latency_mean_ms": "float64",
    "latency_std_ms": "float64",
    "latency_iqr_ratio": "float64",
    "noisy": "boolean",
    "memory_method": "string",
    "energy_mj": "float64",
    "conditions": "string",
    "record_id": "string",
}

REQUIRED = ("model", "device", "device_tier", "runtime", "precision", "latency_ms",
            "source", "source_ref", "measured_at")

#: Columns that say *which configuration* was measured (not what was measured). The store's
#: ``latest`` view keeps the newest row per such key.
CONFIG_KEY = ("model", "device", "runtime", "precision", "layout", "input_size", "batch_size",
              "threads", "compute_unit")

#: A latency per sample beyond ten minutes is not an image classifier measurement: it is a unit
#: error (microseconds read as milliseconds) or a corrupt file.
MAX_MS_PER_SAMPLE = 600_000.0
_FLOAT_FIELDS = tuple(c for c, t in COLUMNS.items() if t == "float64")
_INT_FIELDS = tuple(c for c, t in COLUMNS.items() if t == "Int64")
#: Keys a record may carry that are not columns: its source identity and where it came from.
_META_FIELDS = {"record_key", "_origin"}


class SchemaError(ValueError):
    """A record that cannot enter the store; the message names the origin and the field."""


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _check_number(record: Mapping[str, Any], field: str, origin: str, *, positive: bool,
                  required: bool) -> float | None:
    value = record.get(field)
    if _is_missing(value):
        if required:
            raise SchemaError(f"{origin}: field '{field}' is missing")
        return None
    if isinstance(value, bool):
        raise SchemaError(f"{origin}: field '{field}' is a boolean, expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SchemaError(f"{origin}: field '{field}' is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise SchemaError(f"{origin}: field '{field}' is not finite: {value!r}")
    if positive and number <= 0:
        raise SchemaError(f"{origin}: field '{field}' must be > 0, got {value!r}")
    if not positive and number < 0:
        raise SchemaError(f"{origin}: field '{field}' must be >= 0, got {value!r}")
    return number


def _as_timestamp(value: Any, field: str, origin: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise SchemaError(f"{origin}: field '{field}' is not a date: {value!r}") from None
    if pd.isna(ts):
        raise SchemaError(f"{origin}: field '{field}' is not a date: {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def validate_record(record: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Check one record and return it normalised (missing columns as None, numbers as float).

    ``origin`` names where the record came from ("file.yaml: ResNet50 on Galaxy S23 / tflite")
    so that the one-line error a user sees says where to look.
    """
    unknown = set(record) - set(COLUMNS) - _META_FIELDS
    if unknown:
        raise SchemaError(f"{origin}: unknown field(s) {sorted(unknown)}")
    out: dict[str, Any] = {c: record.get(c) for c in COLUMNS}
    for field in REQUIRED:
        if _is_missing(out[field]) or out[field] == "":
            raise SchemaError(f"{origin}: field '{field}' is missing")
    if out["source"] not in SOURCES:
        raise SchemaError(f"{origin}: field 'source' must be one of {SOURCES}, got {out['source']!r}")
    if out["device_tier"] not in DEVICE_TIERS:
        raise SchemaError(
            f"{origin}: field 'device_tier' must be one of {DEVICE_TIERS}, got {out['device_tier']!r}")
    for field in _FLOAT_FIELDS:
        positive = field.startswith("latency_") and field not in ("latency_std_ms", "latency_iqr_ratio")
        positive = positive or field == "ms_per_sample"
        out[field] = _check_number(out, field, origin, positive=positive,
                                   required=field == "latency_ms")
    for field in _INT_FIELDS:
        number = _check_number(out, field, origin, positive=field != "threads", required=False)
        if number is not None:
            if number != int(number):
                raise SchemaError(f"{origin}: field '{field}' must be an integer, got {out[field]!r}")
            out[field] = int(number)
    batch = out["batch_size"] or 1
    if out["batch_size"] is None:
        out["batch_size"] = 1
    if out["ms_per_sample"] is None:
        out["ms_per_sample"] = out["latency_ms"] / batch
    if out["ms_per_sample"] > MAX_MS_PER_SAMPLE:
        raise SchemaError(
            f"{origin}: field 'latency_ms' = {out['latency_ms']!r} is absurd "
            f"(> {MAX_MS_PER_SAMPLE:.0f} ms per sample; microseconds read as milliseconds?)")
    for low, high in (("latency_p50_ms", "latency_p99_ms"), ("peak_memory_min_mb", "peak_memory_mb")):
        if out[low] is not None and out[high] is not None and out[low] > out[high] * (1 + 1e-9):
            raise SchemaError(f"{origin}: field '{low}' ({out[low]}) exceeds '{high}' ({out[high]})")
    out["measured_at"] = _as_timestamp(out["measured_at"], "measured_at", origin)
    out["imported_at"] = (_as_timestamp(out["imported_at"], "imported_at", origin)
                          if not _is_missing(out["imported_at"]) else None)
    if out["noisy"] is not None:
        out["noisy"] = bool(out["noisy"])
    key = record.get("record_key")
    if _is_missing(key):
        key = "|".join(str(out[c]) for c in COLUMNS if c not in ("imported_at", "record_id"))
    out["record_id"] = hashlib.sha1(f"{out['source']}|{key}".encode()).hexdigest()[:20]
    return out


def empty_frame() -> pd.DataFrame:
    """A zero-row table with the schema's columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})


def coerce_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Give a frame exactly the schema's columns, order and dtypes (missing columns as null)."""
    out = pd.DataFrame(index=df.index)
    for column, dtype in COLUMNS.items():
        series = df[column] if column in df else pd.Series([None] * len(df), index=df.index)
        if dtype.startswith("datetime"):
            out[column] = pd.to_datetime(series).astype(dtype)
        elif dtype == "Int64":
            out[column] = pd.array(pd.to_numeric(series), dtype="Int64")
        elif dtype == "boolean":
            out[column] = series.astype("boolean")
        else:
            out[column] = series.astype(dtype)
    return out.reset_index(drop=True)


def to_frame(records: Iterable[Mapping[str, Any]], origin: str = "records",
             imported_at: datetime | None = None) -> pd.DataFrame:
    """Validate records and return the tidy table. Raises :class:`SchemaError` on the first bad one.

    A record may carry ``record_key``: the source's own identity for the measurement (an AI Hub
    job id, a file + row). Two records with the same key are the same measurement, so
    re-importing a source adds nothing.
    """
    stamp = _as_timestamp(imported_at or datetime.now(timezone.utc), "imported_at", origin)
    rows = []
    for i, record in enumerate(records):
        row = validate_record(record, record.get("_origin", f"{origin} [record {i}]"))
        if row["imported_at"] is None:
            row["imported_at"] = stamp
        rows.append(row)
    if not rows:
        return empty_frame()
    return coerce_dtypes(pd.DataFrame(rows))


def ms_from_us(value: float) -> float:
    """Microseconds to milliseconds (AI Hub's legacy ``inference_time``)."""
    return float(value) / 1000.0


def mb_from_bytes(value: float) -> float:
    """Bytes to MB (2^20 bytes), the unit of AI Hub's current ``_mb`` fields."""
    return float(value) / float(1 << 20)


def today() -> date:
    return datetime.now(timezone.utc).date()


__all__ = [
    "COLUMNS", "CONFIG_KEY", "DEVICE_TIERS", "MAX_MS_PER_SAMPLE", "REQUIRED", "SOURCES",
    "SchemaError", "coerce_dtypes", "empty_frame", "mb_from_bytes", "ms_from_us", "to_frame",
    "validate_record",
]
