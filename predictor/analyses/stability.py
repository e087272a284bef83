"""How stable are measurements and rankings when nothing but the run (or the runtime) changes?

* :func:`noise_ceiling` uses AI Hub's re-profiles. Their spread (CV, median |log ratio|, share
  within ±5/10 %) is how well a *perfect* predictor could match one measurement. Rank stability
  is reported twice, because the two are different claims (see ``predictor.analyses._profiles``):
  **run-to-run** (the same configuration re-profiled at most ``run_to_run_days`` later — the
  study's "within-platform stability") and **toolchain drift** (a model's first and last
  profile, at least ``drift_days`` apart, up to 18 months). Each is the mean Spearman ρ over
  platforms (a platform re-profiled at many releases counts once), for latency, memory and FRM
  (FRM: FLOPs × latency × memory; its FLOPs term is the same number in both profiles, so FRM's
  stability is partly by construction), with CIs over models × devices.
* :func:`runtime_stability` compares rankings of the same models on the same device across
  runtimes (TFLite ↔ QNN ↔ ONNX on AI Hub; torch ↔ onnxruntime ↔ openvino locally).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.analyses._base import UNTESTABLE, AnalysisResult, Finding
from predictor.analyses._data import StudyData, flops_of
from predictor.analyses._profiles import (DRIFT, RUN_TO_RUN, config_key, profile_pairs,
                                          stability_units)
from predictor.analyses._registry import register_analysis
from predictor.analyses._resample import (LEAVE_OUT, LEAVE_OUT_DRAWS, N_BOOT, RHO, RankUnits,
                                          resample, unit_device_weights, weighted_mean)
from predictor.metrics import bootstrap_ci, mean_ci

STABILITY_MEASURES = ("latency", "memory", "frm")


def _resample_params(p: dict) -> dict:
    return dict(n_boot=p.get("n_boot", N_BOOT), leave_out=p.get("leave_out", LEAVE_OUT),
                leave_out_draws=p.get("leave_out_draws", LEAVE_OUT_DRAWS), seed=p.get("seed", 0))


@dataclass
class NoiseResult(AnalysisResult):
    name = "noise"
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)     # per re-profiled configuration
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)      # consecutive re-profile pairs
    platforms: pd.DataFrame = field(default_factory=pd.DataFrame)  # per stability unit
    units: dict = field(default_factory=dict, repr=False)          # (kind, measure) → RankUnits
    n_models: int = 0
    n_devices: int = 0

    def _findings(self) -> dict[str, Finding]:
        out: dict[str, Finding] = {}
        if not self.pairs.empty:
            lr = self.pairs["abs_log_ratio"].to_numpy()
            unit = "re-profile pairs"
            out["median_abs_log_ratio"] = Finding(bootstrap_ci(np.median, lr), unit)
            out["share_within_5pct"] = Finding(mean_ci(lr <= np.log(1.05)), unit)
            out["share_within_10pct"] = Finding(mean_ci(lr <= np.log(1.10)), unit)
            out["median_cv"] = Finding(bootstrap_ci(np.median, self.groups["cv"].to_numpy()),
                                       "re-profiled configurations")
        p = self.parameters
        for kind in (RUN_TO_RUN, DRIFT):
            days = p.get(f"{kind}_days")
            what = (f"profiles of one configuration ≤ {days:g} days apart" if kind == RUN_TO_RUN
                    else f"first vs last profile ≥ {days:g} days apart")
            for measure in STABILITY_MEASURES:
                key = f"{kind}.rank_stability_{measure}"
                ru = self.units.get((kind, measure))
                if ru is None:
                    out[key] = Finding(None, basis=UNTESTABLE,
                                       basis_note=f"no {what} on ≥ {p.get('min_models')} models")
                    continue
                sel = self.platforms[(self.platforms["kind"] == kind)
                                     & (self.platforms["measure"] == measure)]
                r = resample(ru.mean_spearman, self.n_models, self.n_devices,
                             n=int(sel["platform"].nunique()), bounds=RHO, **_resample_params(p))
                out[key] = Finding.from_resampled(
                    r, method=f"mean Spearman ρ over {sel['platform'].nunique()} platforms "
                              f"({len(sel)} rankings), {what}")
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"noise_platforms": self.platforms, "noise_groups": self.groups,
                "noise_findings": self.findings_frame()}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"noise_ceiling": plots.noise_figure(self.pairs)} if not self.pairs.empty else {}


@register_analysis("noise", result=NoiseResult)
def noise_ceiling(data: StudyData, source: str | None = "aihub", min_models: int = 5,
                  run_to_run_days: float = 28, drift_days: float = 180, n_boot: int = N_BOOT,
                  leave_out: float = LEAVE_OUT, leave_out_draws: int = LEAVE_OUT_DRAWS,
                  seed: int = 0) -> NoiseResult:
    """Spread of repeated profiles, and run-to-run vs drift rank stability."""
    params = {"source": source, "min_models": min_models, "run_to_run_days": run_to_run_days,
              "drift_days": drift_days, "n_boot": n_boot, "leave_out": leave_out,
              "leave_out_draws": leave_out_draws, "seed": seed}
    rows = data.measurements
    if source is not None and "source" in rows:
        rows = rows[rows["source"] == source]
    rows = rows[rows["latency_ms"] > 0] if len(rows) else rows
    if rows.empty:
        return NoiseResult(parameters=params)
    key = config_key(rows)
    rows = rows.sort_values("measured_at", kind="stable")
    size = rows.groupby(key, dropna=False, sort=False)["latency_ms"].transform("size")
    rep = rows[size >= 2].copy()
    groups = pairs = pd.DataFrame()
    if len(rep):
        g = rep.groupby(key, dropna=False, sort=False)
        groups = g["latency_ms"].agg(n="size", mean="mean", std="std").reset_index()
        groups["cv"] = groups["std"] / groups["mean"]
        rep["prev"] = g["latency_ms"].shift(1)
        pairs = rep[rep["prev"].notna()].copy()
        pairs["abs_log_ratio"] = np.abs(np.log(pairs["latency_ms"] / pairs["prev"]))
        pairs = pairs.reset_index(drop=True)
    flops = flops_of(data.latency) if data.latency is not None else pd.Series(dtype=float)
    models = pd.Index(sorted(set(rows["model"].astype(str))))
    devices = pd.Index(sorted(set(rows["device"].astype(str))))
    units, tables = {}, []
    for kind, days in ((RUN_TO_RUN, run_to_run_days), (DRIFT, drift_days)):
        pp = profile_pairs(data.measurements, kind, days, source=source)
        for measure in STABILITY_MEASURES:
            ru, table = stability_units(pp, measure, flops, models, devices, min_models)
            if ru is not None:
                units[(kind, measure)] = ru
                tables.append(table.assign(kind=kind, measure=measure))
    return NoiseResult(groups=groups, pairs=pairs,
                       platforms=pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
                       units=units, n_models=len(models), n_devices=len(devices),
                       parameters=params)


@dataclass
class RuntimeResult(AnalysisResult):
    name = "runtime_stability"
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)    # per (device, config pair)
    cvs: pd.DataFrame = field(default_factory=pd.DataFrame)      # per (device, model)
    units: RankUnits | None = field(default=None, repr=False)
    n_models: int = 0
    n_devices: int = 0

    def by_runtime_pair(self) -> pd.DataFrame:
        if self.pairs.empty:
            return pd.DataFrame()
        return (self.pairs.groupby(["runtime_a", "runtime_b"])
                .agg(n_pairs=("rho", "size"), median_n_models=("n_models", "median"),
                     rho=("rho", "mean")).reset_index())

    def _mask(self, left: str, right: str) -> np.ndarray:
        ra, rb = self.pairs["runtime_a"].str.lower(), self.pairs["runtime_b"].str.lower()
        return ((ra.str.fullmatch(left) & rb.str.fullmatch(right))
                | (ra.str.fullmatch(right) & rb.str.fullmatch(left))).to_numpy()

    def _finding(self, mask: np.ndarray, what: str) -> Finding:
        if self.units is None or not mask.any():
            return Finding(None, basis=UNTESTABLE, basis_note=(
                f"needs {what} measured on one device: only a local collection has both"))
        ru = self.units
        weight = mask.astype(float)

        def fn(wm, wd):
            rho = ru.spearman(wm)
            w = unit_device_weights(wd, ru.devices, len(rho)) * weight[None, :]
            return weighted_mean(rho, w)

        n_dev = len(set(self.pairs.loc[mask, "device"]))
        r = resample(fn, self.n_models, self.n_devices if n_dev > 1 else None,
                     n=int(mask.sum()), bounds=RHO, **_resample_params(self.parameters))
        return Finding.from_resampled(r, method=f"mean Spearman ρ over {int(mask.sum())} "
                                                f"runtime pairs on {n_dev} device(s)")

    def _findings(self) -> dict[str, Finding]:
        out = {}
        if not self.pairs.empty:
            out["rho_all_runtime_pairs"] = self._finding(np.ones(len(self.pairs), bool),
                                                         "two runtimes")
        out["rho_onnx_torch"] = self._finding(
            self._mask(r"onnx(runtime)?", r"(py)?torch(-eager)?") if not self.pairs.empty
            else np.zeros(0, bool), "torch and onnxruntime")
        if not self.cvs.empty:
            out["median_cv_across_runtimes"] = Finding(
                bootstrap_ci(np.median, self.cvs["cv"].to_numpy()), "(device, model) cells")
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"runtime_pairs": self.by_runtime_pair(), "runtime_pair_detail": self.pairs}


@register_analysis("runtime_stability", result=RuntimeResult)
def runtime_stability(data: StudyData, min_models: int = 5, n_boot: int = N_BOOT,
                      leave_out: float = LEAVE_OUT, leave_out_draws: int = LEAVE_OUT_DRAWS,
                      seed: int = 0) -> RuntimeResult:
    """Spearman ρ between runtimes on one device (same precision/layout/batch), and per-model CVs."""
    m = data.latency
    configs = m.configs
    group_cols = [c for c in ("device", "precision", "layout", "batch_size") if c in configs]
    models = m.values.index
    devices = pd.Index(sorted(configs["device"].astype(str).unique()))
    rows, cvs, idx, xs, ys, devs = [], [], [], [], [], []
    for _, grp in configs.groupby(group_cols, dropna=False):
        ids = list(grp.index)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                ra, rb = str(configs.loc[a, "runtime"]), str(configs.loc[b, "runtime"])
                if ra == rb:
                    continue
                both = np.log(m.values[[a, b]].dropna())
                if len(both) < min_models:
                    continue
                if ra > rb:
                    ra, rb, a, b = rb, ra, b, a
                device = str(configs.loc[a, "device"])
                rows.append({"device": device, "runtime_a": ra, "runtime_b": rb,
                             "n_models": len(both)})
                idx.append(models.get_indexer(both.index))
                xs.append(both[a].to_numpy())
                ys.append(both[b].to_numpy())
                devs.append(devices.get_loc(device))
        vals = m.values[ids]
        multi = vals[vals.notna().sum(axis=1) >= 2]
        if len(ids) >= 2 and len(multi):
            cv = multi.std(axis=1) / multi.mean(axis=1)
            cvs.extend({"device": grp["device"].iloc[0], "model": k, "cv": v}
                       for k, v in cv.items())
    units = RankUnits(idx, [xs, ys], devices=np.array(devs)) if rows else None
    pairs = pd.DataFrame(rows)
    if units is not None:
        pairs["rho"] = units.spearman(np.ones((1, len(models))))[0]
    return RuntimeResult(pairs=pairs, cvs=pd.DataFrame(cvs), units=units, n_models=len(models),
                         n_devices=len(devices),
                         parameters={"min_models": min_models, "n_boot": n_boot,
                                     "leave_out": leave_out, "leave_out_draws": leave_out_draws,
                                     "seed": seed})


__all__ = ["NoiseResult", "RuntimeResult", "noise_ceiling", "runtime_stability"]
