"""Synthetic latency matrices with known structure, for the method tests.

``low_rank_matrix``: devices × setups (runtime|precision); log latency = device speed + setup bias +
model bias + model embedding · setup embedding (rank 2) + small noise. A new device is "a known
setup at a new speed", which every transfer method should recover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.matrix import LatencyMatrix, build_matrix

SETUPS = ("tflite|float", "qnn|float", "onnx|w8a8")
FAMILIES = ("mobile_cnn", "standard_cnn", "transformer", "hybrid")


def _tidy(log_values: np.ndarray, models: list[str], devices: list[str], setups=SETUPS,
          flops: np.ndarray | None = None, family=None) -> pd.DataFrame:
    rows = []
    for d_i, device in enumerate(devices):
        for s_i, setup in enumerate(setups):
            runtime, precision = setup.split("|")
            for m_i, model in enumerate(models):
                v = log_values[m_i, d_i * len(setups) + s_i]
                if np.isnan(v):
                    continue
                rows.append(dict(model=model, device=device, device_tier="edge", runtime=runtime,
                                 precision=precision, layout=None, batch_size=1, input_size=224,
                                 family=family[m_i] if family is not None else None,
                                 ms_per_sample=float(np.exp(v)), latency_ms=float(np.exp(v)),
                                 peak_memory_mb=float(np.exp(v / 2 + 3)), source="aihub",
                                 measured_at=pd.Timestamp("2025-01-01") + pd.Timedelta(days=d_i)))
    return pd.DataFrame(rows)


def low_rank_matrix(n_models: int = 40, n_devices: int = 8, noise: float = 0.01, missing: float = 0.0,
                    seed: int = 0) -> LatencyMatrix:
    rng = np.random.default_rng(seed)
    models = [f"m{i:03d}" for i in range(n_models)]
    devices = [f"dev{j}" for j in range(n_devices)]
    a = rng.normal(1.5, 1.0, n_models)
    U = rng.normal(0, 0.5, (n_models, 2))
    W = rng.normal(0, 0.8, (len(SETUPS), 2))
    setup_bias = rng.normal(0, 0.5, len(SETUPS))
    speed = rng.normal(0, 0.7, n_devices)
    cols = []
    for d in range(n_devices):
        for s in range(len(SETUPS)):
            cols.append(speed[d] + setup_bias[s] + a + U @ W[s])
    L = np.column_stack(cols) + rng.normal(0, noise, (n_models, len(cols)))
    if missing:
        L[rng.random(L.shape) < missing] = np.nan
    family = [FAMILIES[i % len(FAMILIES)] for i in range(n_models)]
    flops = np.exp(a + 20)
    tidy = _tidy(L, models, devices, family=family)
    features = pd.DataFrame({"model": models, "input_size": 224, "flops": flops, "params": flops / 100})
    return build_matrix(tidy, features=features)


def flops_matrix(n_models: int = 30, n_devices: int = 5, noise: float = 0.01, seed: int = 1) -> LatencyMatrix:
    """Latency exactly ∝ FLOPs (one FLOP/s per configuration) + small noise."""
    rng = np.random.default_rng(seed)
    models = [f"m{i:03d}" for i in range(n_models)]
    log_flops = rng.uniform(18, 24, n_models)
    speed = rng.normal(-21, 1.0, n_devices * len(SETUPS))
    L = log_flops[:, None] + speed[None, :] + rng.normal(0, noise, (n_models, len(speed)))
    tidy = _tidy(L, models, [f"dev{j}" for j in range(n_devices)])
    features = pd.DataFrame({"model": models, "input_size": 224, "flops": np.exp(log_flops)})
    return build_matrix(tidy, features=features)
