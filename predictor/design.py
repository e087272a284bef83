"""From a latency matrix to the (X, y) every transfer method is fitted on.

X has one row per model with at least one source measurement: its family, its operator features
and one ``src:<config>`` column per *source* configuration (ms). The target configuration, and for
leave-one-device-out every configuration of the held-out device, never appear in X, so no method
can see what it is asked to predict.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from predictor.matrix import LatencyMatrix

SRC = "src:"
#: Model columns carried into X (besides ``feat_*``/``flops_*`` feature columns).
MODEL_FEATURES = ("flops", "params", "macs", "activation_bytes", "weight_bytes", "arithmetic_intensity")


class DesignError(ValueError):
    """Unknown target configuration or device."""


def source_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if isinstance(c, str) and c.startswith(SRC)]


def config_of(column: str) -> str:
    return column[len(SRC):]


def device_of(config: str) -> str:
    """The device part of a config id (its first '|'-separated field)."""
    return config.split("|", 1)[0]


def feature_columns(models: pd.DataFrame) -> list[str]:
    return [c for c in models.columns
            if c in MODEL_FEATURES or c.startswith("feat_") or c.startswith("flops_")]


def make_design(matrix: LatencyMatrix, target: str | None, *,
                exclude_devices: Iterable[str] = ()) -> pd.DataFrame:
    if target is not None and target not in matrix.values.columns:
        raise DesignError(f"target configuration {target!r} is not in the matrix")
    excluded = set(exclude_devices)
    unknown = excluded - set(matrix.configs["device"])
    if unknown:
        raise DesignError(f"unknown device(s) to exclude: {sorted(unknown)}")
    sources = [c for c in matrix.values.columns
               if c != target and matrix.configs.at[c, "device"] not in excluded]
    src = matrix.values[sources]
    src = src[src.notna().any(axis=1)]
    feats = feature_columns(matrix.models)
    X = pd.concat([matrix.models.loc[src.index, ["family"]].astype(object),
                   matrix.models.loc[src.index, feats].astype(float),
                   src.add_prefix(SRC)], axis=1)
    # plain object labels: pyarrow-backed strings make every later .loc/isin cost milliseconds
    # (the dtype is given because pandas 3 infers "str" from an object array of strings)
    X.index = pd.Index(X.index.astype(str).to_numpy(dtype=object), dtype=object, name="model")
    X.columns = pd.Index(list(X.columns), dtype=object)
    return X


def target_vector(matrix: LatencyMatrix, target: str) -> pd.Series:
    if target not in matrix.values.columns:
        raise DesignError(f"target configuration {target!r} is not in the matrix")
    y = matrix.values[target].dropna().astype(float)
    y.index = pd.Index(y.index.astype(str).to_numpy(dtype=object), dtype=object, name="model")
    y.name = target
    return y


__all__ = ["DesignError", "SRC", "config_of", "device_of", "feature_columns", "make_design",
           "source_columns", "target_vector"]
