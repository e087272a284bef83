"""A small synthetic study (matrix-like object + tidy measurements) for the analyses' tests.

Latency = FLOPs^0.8 × device speed × a family-by-tier interaction × noise, so every analysis has
something to find; re-profiles exist for the edge configurations (two weeks and six months after the first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictor.analyses import StudyData


@dataclass
class SmallMatrix:
    values: pd.DataFrame
    configs: pd.DataFrame
    models: pd.DataFrame
    metric: str = "latency"


FAMILIES = ["resnet", "mobilenet", "vit", "efficientnet"]
DEVICES = [("rtx", "gpu", ["torch", "onnxruntime"]), ("i9", "cpu", ["torch", "onnxruntime"]),
           ("phone_a", "edge", ["tflite", "qnn"]), ("phone_b", "edge", ["tflite", "qnn"])]


def synthetic_study(n_models: int = 12, seed: int = 0, noise: float = 0.05) -> StudyData:
    rng = np.random.default_rng(seed)
    models = pd.DataFrame({
        "family": [FAMILIES[i % len(FAMILIES)] for i in range(n_models)],
        "flops": np.exp(rng.uniform(np.log(1e8), np.log(2e10), n_models)),
        "params": rng.uniform(2, 80, n_models),
        "top1": rng.uniform(60, 85, n_models),
        "input_size": 224,
    }, index=[f"m{i:02d}" for i in range(n_models)])
    models["macs"] = models["flops"] / 2
    configs, lat, mem, rows = [], {}, {}, []
    for device, tier, runtimes in DEVICES:
        speed = {"gpu": 1e-9, "cpu": 2e-8, "edge": 5e-8}[tier]
        inter = {f: rng.normal(0, 0.4 if tier == "edge" else 0.1) for f in FAMILIES}
        for runtime in runtimes:
            cid = f"{device}|{runtime}"
            configs.append({"config": cid, "device": device, "device_tier": tier,
                            "runtime": runtime, "precision": "fp32", "layout": "nchw",
                            "batch_size": 1, "first_seen": pd.Timestamp("2024-01-01")})
            base = (models["flops"] ** 0.8 * speed
                    * np.exp(models["family"].map(inter) + rng.normal(0, noise, n_models)))
            lat[cid] = base
            mem[cid] = models["params"] * 4 * np.exp(rng.normal(0, 0.05, n_models))
            # edge: re-profiled two weeks later (run-to-run) and six months later (drift)
            for date, jitter in (("2024-03-01", 1.0), ("2024-03-15", None), ("2024-09-01", None)):
                if jitter is None and tier != "edge":
                    continue
                factor = 1.0 if jitter else np.exp(rng.normal(0, noise, n_models))
                for m, v, mm, f in zip(models.index, base * factor, mem[cid], models["family"]):
                    rows.append({"model": m, "family": f, "device": device, "device_tier": tier,
                                 "runtime": runtime, "precision": "fp32", "layout": "nchw",
                                 "input_size": 224, "batch_size": 1, "latency_ms": v,
                                 "peak_memory_mb": mm, "source": "aihub" if tier == "edge" else "timm",
                                 "measured_at": pd.Timestamp(date)})
    cfg = pd.DataFrame(configs).set_index("config")
    matrix = SmallMatrix(pd.DataFrame(lat), cfg, models)
    memory = SmallMatrix(pd.DataFrame(mem), cfg, models, metric="memory")
    return StudyData(latency=matrix, measurements=pd.DataFrame(rows), memory=memory)
