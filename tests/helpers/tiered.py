"""Synthetic matrices and stand-in estimators shared by the predictor tests.

``tiered_matrix``: 6 devices (two per tier) × 3 setups with a known generating model, small
enough for protocol tests; the stand-ins are ten-line estimators that follow the transfer-method
contract (``fit(X, y, target=None)``, ``required_known()``), so protocol tests do not depend on
the real methods' speed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from predictor.design import source_columns
from predictor.matrix import LatencyMatrix

TIERS = {"dev0": "gpu", "dev1": "gpu", "dev2": "cpu", "dev3": "cpu", "dev4": "edge", "dev5": "edge"}
SETUPS = ("tflite|float", "qnn|float", "onnx|w8a8")
FAMILIES = ("mobile_cnn", "standard_cnn", "transformer", "hybrid")


def tiered_matrix(n_models: int = 24, noise: float = 0.03, seed: int = 0) -> LatencyMatrix:
    """6 devices (two per tier) × 3 setups; log latency = model + device + setup + rank-1 term +
    noise; devices first seen on successive days; FLOPs and top-1 known for every model."""
    rng = np.random.default_rng(seed)
    models = pd.Index([f"m{i:03d}" for i in range(n_models)], name="model")
    size = rng.normal(1.5, 1.0, n_models)
    u = rng.normal(0, 0.4, n_models)
    values, rows = {}, {}
    for d, (device, tier) in enumerate(TIERS.items()):
        speed = rng.normal(0, 0.7)
        for s, setup in enumerate(SETUPS):
            runtime, precision = setup.split("|")
            config = f"{device}|{setup}"
            log = size + speed + 0.3 * s + u * rng.normal(0, 0.2) + rng.normal(0, noise, n_models)
            values[config] = np.exp(log)
            rows[config] = dict(device=device, device_tier=tier, runtime=runtime,
                                precision=precision, layout=None, batch_size=1, source="aihub",
                                first_seen=pd.Timestamp("2025-01-01") + pd.Timedelta(days=d),
                                n_models=n_models)
    table = pd.DataFrame({"family": [FAMILIES[i % 4] for i in range(n_models)],
                          "input_size": 224.0, "flops": np.exp(size + 20),
                          "top1": rng.uniform(60, 85, n_models)}, index=models)
    table["family"] = table["family"].astype("string")
    frame = pd.DataFrame(values, index=models)
    frame.columns.name = "config"
    return LatencyMatrix(frame, pd.DataFrame.from_dict(rows, orient="index"), table, "latency")


class RatioStandIn(BaseEstimator):
    """Median log-ratio of the known models to each source, averaged: a KRT in ten lines."""
    def required_known(self):
        return 1

    def __init__(self, spread: float = 1.25):
        self.spread = spread

    def fit(self, X, y, target=None):
        if len(y) < self.required_known():
            raise ValueError("needs a known model")
        self.seen_columns_ = list(X.columns)
        src = X[source_columns(X)]
        self.shift_ = np.nanmedian(np.log(y.to_numpy())[:, None] - np.log(src.loc[y.index].to_numpy()),
                                   axis=0)
        return self

    def predict(self, X):
        logs = np.log(X[source_columns(X)].to_numpy()) + self.shift_
        return np.exp(np.nanmean(logs, axis=1))

    def predict_interval(self, X, coverage):
        p = self.predict(X)
        return p / self.spread, p * self.spread


class MeanStandIn(BaseEstimator):
    """Needs no known model: the geometric mean over sources (a k = 0 method)."""
    def required_known(self):
        return 0

    def fit(self, X, y, target=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.exp(np.nanmean(np.log(X[source_columns(X)].to_numpy()), axis=1))


class SpyStandIn(RatioStandIn):
    """Records every design it is fitted on, to check what a method could see."""
    log: list = []

    def fit(self, X, y, target=None):
        SpyStandIn.log.append((list(X.columns), list(y.index)))
        return super().fit(X, y, target)
