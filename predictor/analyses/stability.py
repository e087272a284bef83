"""How stable are measurements and rankings when nothing but the run (or the runtime) changes?

Two analyses that share one idea — the ceiling any predictor faces:

* :func:`noise_ceiling` uses AI Hub's re-profiles: the same (model, device, runtime, precision)
  profiled again in a later release. Its spread (CV, median |log ratio|, share within ±5/10 %)
  is how well a *perfect* predictor could match a single measurement; the Spearman ρ between a
  platform's first and last profiles is the study's "within-platform rank stability", computed
  for latency, memory and FRM.
* :func:`runtime_stability` compares rankings of the same models on the same device across
  runtimes (TFLite ↔ QNN ↔ ONNX on AI Hub; torch ↔ onnxruntime ↔ openvino locally).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.analyses._base import AnalysisResult, ClaimCheck, judge
from predictor.analyses._data import StudyData, flops_of
from predictor.analyses._rank import group_spearman
from predictor.metrics import Estimate, bootstrap_ci, mean_ci, spearman

PLATFORM = ["device", "runtime", "precision"]
_CMD = "effbench experiment run experiments/paper.yaml  (analysis: {})"


def _config_key(rows: pd.DataFrame) -> list[str]:
    from collectors.schema import CONFIG_KEY
    return [c for c in CONFIG_KEY if c in rows]


def _frm_key(frame: pd.DataFrame, latency: str, memory: str) -> pd.Series:
    """Σ log(flops, latency, memory) per row, ranking like FRM within each platform (terms a
    platform lacks entirely are left out, as :func:`predictor.compound.frm` does)."""
    total = pd.Series(0.0, index=frame.index)
    for column in ("flops", latency, memory):
        logs = np.log(frame[column].where(frame[column] > 0))
        used = logs.notna().groupby([frame[c] for c in PLATFORM], dropna=False).transform("any")
        total = total + logs.where(used, 0.0)
    return total


def _platform_stability(first: pd.DataFrame, last: pd.DataFrame, key: list[str],
                        flops: pd.Series, min_models: int) -> pd.DataFrame:
    """ρ between each platform's first and last profile of its models: latency, memory, FRM."""
    cols = [*PLATFORM, "model"]
    values = ["latency_ms", "peak_memory_mb"]
    both = first.set_index(key)[values].join(last.set_index(key)[values], rsuffix="_last")
    both = both.reset_index().drop_duplicates(cols)
    both["flops"] = both["model"].map(flops).astype(float)
    both["frm"] = _frm_key(both, "latency_ms", "peak_memory_mb")
    both["frm_last"] = _frm_key(both, "latency_ms_last", "peak_memory_mb_last")
    sizes = both.groupby(PLATFORM, dropna=False, sort=False).size().rename("n_models")
    out = pd.concat([sizes] + [
        group_spearman(both, PLATFORM, a, f"{a}_last").rename(f"rho_{name}")
        for name, a in (("latency", "latency_ms"), ("memory", "peak_memory_mb"), ("frm", "frm"))],
        axis=1)
    out = out[out["n_models"] >= min_models]
    out.index.names = PLATFORM
    return out.reset_index()


@dataclass
class NoiseResult(AnalysisResult):
    name = "noise"
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)     # per re-profiled configuration
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)      # consecutive re-profile pairs
    platforms: pd.DataFrame = field(default_factory=pd.DataFrame)  # first-vs-last ρ per platform

    def _estimates(self) -> dict[str, Estimate]:
        if self.pairs.empty:
            return {}
        lr = self.pairs["abs_log_ratio"].to_numpy()
        out = {"median_abs_log_ratio": bootstrap_ci(np.median, lr),
               "share_within_5pct": mean_ci(lr <= np.log(1.05)),
               "share_within_10pct": mean_ci(lr <= np.log(1.10)),
               "median_cv": bootstrap_ci(np.median, self.groups["cv"].to_numpy())}
        for measure in ("latency", "memory", "frm"):
            col = f"rho_{measure}"
            if col in self.platforms and self.platforms[col].notna().any():
                out[f"rank_stability_{measure}"] = mean_ci(self.platforms[col].to_numpy())
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"noise_platforms": self.platforms, "noise_groups": self.groups}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"noise_ceiling": plots.noise_figure(self.pairs)} if not self.pairs.empty else {}

    def claims(self) -> list[ClaimCheck]:
        e = self.estimates()
        cmd = _CMD.format("noise")
        return [
            ClaimCheck("Within-platform rank stability of FRM ρ = 0.956", "0.956",
                       e.get("rank_stability_frm"),
                       judge(e.get("rank_stability_frm"), approx=0.956, tol=0.02), cmd,
                       "ρ between a platform's first and last AI Hub profile of each model"),
            ClaimCheck("Within-platform rank stability of latency ρ = 0.746", "0.746",
                       e.get("rank_stability_latency"),
                       judge(e.get("rank_stability_latency"), approx=0.746, tol=0.05), cmd),
        ]


def noise_ceiling(data: StudyData, source: str | None = "aihub",
                  min_models: int = 5) -> NoiseResult:
    """Spread of repeated profiles of one configuration, and first-vs-last rank stability."""
    rows = data.measurements
    if source is not None and "source" in rows:
        rows = rows[rows["source"] == source]
    rows = rows[rows["latency_ms"] > 0]
    key = _config_key(rows)
    params = {"source": source, "min_models": min_models}
    if rows.empty:
        return NoiseResult(parameters=params)
    rows = rows.sort_values("measured_at", kind="stable")
    grouped = rows.groupby(key, dropna=False, sort=False)
    size = grouped["latency_ms"].transform("size")
    rep = rows[size >= 2].copy()
    if rep.empty:
        return NoiseResult(parameters=params)
    g = rep.groupby(key, dropna=False, sort=False)
    groups = g["latency_ms"].agg(n="size", mean="mean", std="std").reset_index()
    groups["cv"] = groups["std"] / groups["mean"]
    rep["prev"] = g["latency_ms"].shift(1)
    pairs = rep[rep["prev"].notna()].copy()
    pairs["abs_log_ratio"] = np.abs(np.log(pairs["latency_ms"] / pairs["prev"]))
    platforms = _platform_stability(g.head(1), g.tail(1), key, flops_of(data.latency)
                                    if data.latency is not None else pd.Series(dtype=float),
                                    min_models)
    return NoiseResult(groups=groups, pairs=pairs.reset_index(drop=True),
                       platforms=pd.DataFrame(platforms), parameters=params)


@dataclass
class RuntimeResult(AnalysisResult):
    name = "runtime_stability"
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)    # per (device, config pair)
    cvs: pd.DataFrame = field(default_factory=pd.DataFrame)      # per (device, model)

    def by_runtime_pair(self) -> pd.DataFrame:
        if self.pairs.empty:
            return pd.DataFrame()
        rows = []
        for (a, b), grp in self.pairs.groupby(["runtime_a", "runtime_b"]):
            e = mean_ci(grp["rho"].to_numpy())
            rows.append({"runtime_a": a, "runtime_b": b, "n_pairs": len(grp),
                         "median_n_models": float(grp["n_models"].median()), "rho": e.value,
                         "ci_low": e.low, "ci_high": e.high})
        return pd.DataFrame(rows)

    def _pair_estimate(self, left: str, right: str) -> Estimate | None:
        if self.pairs.empty:
            return None
        ra, rb = self.pairs["runtime_a"].str.lower(), self.pairs["runtime_b"].str.lower()
        def is_(s, pat):
            return s.str.fullmatch(pat)
        mask = ((is_(ra, left) & is_(rb, right)) | (is_(ra, right) & is_(rb, left)))
        return mean_ci(self.pairs.loc[mask, "rho"].to_numpy()) if mask.any() else None

    def _estimates(self) -> dict[str, Estimate]:
        out = {}
        if not self.pairs.empty:
            out["rho_all_runtime_pairs"] = mean_ci(self.pairs["rho"].to_numpy())
        onnx_torch = self._pair_estimate(r"onnx(runtime)?", r"(py)?torch(-eager)?")
        if onnx_torch is not None:
            out["rho_onnx_torch"] = onnx_torch
        if not self.cvs.empty:
            out["median_cv_across_runtimes"] = bootstrap_ci(np.median, self.cvs["cv"].to_numpy())
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"runtime_pairs": self.by_runtime_pair(), "runtime_pair_detail": self.pairs}

    def claims(self) -> list[ClaimCheck]:
        e = self.estimates().get("rho_onnx_torch")
        return [ClaimCheck("ONNX Runtime ↔ PyTorch rank agreement ρ = 0.984", "0.984", e,
                           judge(e, approx=0.984, tol=0.02), _CMD.format("runtime_stability"),
                           "needs torch and onnxruntime on one device: only local collection has both"
                           if e is None else "local collection, same machine")]


def runtime_stability(data: StudyData, min_models: int = 5) -> RuntimeResult:
    """Spearman ρ between runtimes on one device (same precision/layout/batch), and per-model CVs."""
    m = data.latency
    configs = m.configs
    group_cols = [c for c in ("device", "precision", "layout", "batch_size") if c in configs]
    rows, cvs = [], []
    for _, grp in configs.groupby(group_cols, dropna=False):
        ids = list(grp.index)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                ra, rb = str(configs.loc[a, "runtime"]), str(configs.loc[b, "runtime"])
                if ra == rb:
                    continue
                both = m.values[[a, b]].dropna()
                if len(both) < min_models:
                    continue
                if ra > rb:
                    ra, rb = rb, ra
                rows.append({"device": configs.loc[a, "device"], "runtime_a": ra, "runtime_b": rb,
                             "n_models": len(both), "rho": spearman(both[a], both[b])})
        vals = m.values[ids]
        multi = vals[vals.notna().sum(axis=1) >= 2]
        if len(ids) >= 2 and len(multi):
            cv = multi.std(axis=1) / multi.mean(axis=1)
            cvs.extend({"device": grp["device"].iloc[0], "model": k, "cv": v}
                       for k, v in cv.items())
    return RuntimeResult(pairs=pd.DataFrame(rows), cvs=pd.DataFrame(cvs),
                         parameters={"min_models": min_models})


__all__ = ["NoiseResult", "RuntimeResult", "noise_ceiling", "runtime_stability"]
