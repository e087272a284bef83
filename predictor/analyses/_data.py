"""The inputs every analysis shares: the latency and memory matrices and the raw measurements.

Why keep the raw measurements beside the matrices: a matrix holds the newest value per
configuration, but the noise ceiling and within-platform stability need the older AI Hub
re-profiles of the same configuration, which only the tidy table still has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class StudyData:
    """``latency``/``memory``: ``LatencyMatrix``-like (``values`` models×configs, ``configs``,
    ``models``); ``measurements``: every stored row (re-profiles included)."""
    latency: Any
    measurements: pd.DataFrame
    memory: Any | None = None

    @classmethod
    def from_store(cls, store, sources: list[str] | None = None) -> "StudyData":
        from predictor.matrix import matrix_from_store

        latency = matrix_from_store(store, metric="latency", sources=sources)
        try:
            memory = matrix_from_store(store, metric="memory", sources=sources)
        except ValueError:
            memory = None
        rows = store.measurements()
        if sources:
            rows = rows[rows["source"].isin(sources)]
        return cls(latency=latency, measurements=rows.reset_index(drop=True), memory=memory)


def model_column(matrix, column: str) -> pd.Series:
    """A per-model attribute (flops, top1, family) aligned to the matrix rows; NaN if absent."""
    models = matrix.models
    if column in models:
        return models[column].reindex(matrix.values.index)
    return pd.Series(np.nan, index=matrix.values.index, name=column)


def flops_of(matrix) -> pd.Series:
    """FLOPs per model: ``flops`` where known, else 2 × ``macs`` (the same count in FLOPs)."""
    flops = pd.to_numeric(model_column(matrix, "flops"), errors="coerce")
    macs = pd.to_numeric(model_column(matrix, "macs"), errors="coerce")
    return flops.fillna(2 * macs).where(lambda s: s > 0)


def config_label(matrix, config) -> str:
    """``device / runtime / precision`` (plus layout and batch when they vary) for tables."""
    row = matrix.configs.loc[config]
    parts = [str(row.get(k)) for k in ("device", "runtime", "precision", "layout")
             if k in row and pd.notna(row.get(k)) and str(row.get(k)) not in ("", "None")]
    if "batch_size" in row and pd.notna(row.get("batch_size")) and int(row["batch_size"]) != 1:
        parts.append(f"b{int(row['batch_size'])}")
    return " / ".join(parts) if parts else str(config)


def config_terms(data: StudyData, config, flops: pd.Series | None = None) -> pd.DataFrame:
    """flops, latency, memory of every model measured on ``config`` (the FRM inputs)."""
    lat = data.latency.values[config]
    frame = pd.DataFrame({"flops": flops if flops is not None else flops_of(data.latency),
                          "latency": lat})
    mem = data.memory
    if mem is not None and config in mem.values.columns:
        frame["memory"] = mem.values[config].reindex(frame.index)
    return frame[frame["latency"].notna()]


def measure_values(data: StudyData, measure: str, flops: pd.Series | None = None) -> pd.DataFrame:
    """models × configs values that rank models like ``measure`` does on each configuration.

    ``latency``: log latency. ``frm``: Σ log(flops, latency, memory) — FRM, the geometric mean of
    ratios to a per-configuration reference, is a monotone function of that sum, so ranks, rank
    displacements and pairwise orders are FRM's whatever the reference. A configuration uses its
    memory term when any of its models has memory (as :func:`predictor.compound.frm` does); a
    model lacking a used term is NaN. Models without FLOPs are NaN for every measure, so that
    each measure is compared with FLOPs on the same models.
    """
    flops = flops_of(data.latency) if flops is None else flops
    lat = data.latency.values.astype(float)
    log_flops = np.log(flops.reindex(lat.index).to_numpy(float))
    logs = np.log(lat.where(lat > 0))
    logs.loc[~np.isfinite(log_flops)] = np.nan
    if measure == "latency":
        return logs
    if measure != "frm":
        raise ValueError(f"unknown measure '{measure}' (use latency or frm)")
    key = logs.add(pd.Series(log_flops, index=lat.index), axis=0)
    if data.memory is not None:
        mem = data.memory.values.reindex(index=lat.index, columns=lat.columns).astype(float)
        mem = np.log(mem.where(mem > 0))
        used = mem.where(key.notna()).notna().any()
        key.loc[:, used] = key.loc[:, used] + mem.loc[:, used]
    return key


def tier_of(matrix, config) -> str:
    return str(matrix.configs.loc[config, "device_tier"])


__all__ = ["StudyData", "config_label", "config_terms", "flops_of", "measure_values",
           "model_column", "tier_of"]
