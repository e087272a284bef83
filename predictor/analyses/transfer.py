"""Do rankings measured on one device tier carry over to another?

For every pair of configurations on different tiers with ≥ ``min_common`` models in common, the
Spearman ρ of the two rankings is computed for latency, for FRM and for FRM *without its
device-invariant terms*. A tier pair reports the mean ρ over its configuration pairs; the CI
resamples **models and devices** (two-way cluster bootstrap): configuration pairs share models,
so resampling the pairs as if independent gave CIs a tenth as wide.

What the public data can and cannot say:

* GPU rankings: timm publishes large-batch mixed-precision *throughput* (batch 48–1024, AMP),
  not batch-1 GPU latency. Where the store has batch-1 GPU latency (a local collection on a
  CUDA device), only those configurations stand for the GPU tier; otherwise every GPU finding
  is marked **proxy** and names the proxy.
* FRM (FLOPs-Ratio-Memory: the geometric mean of a model's FLOPs, latency and memory, each as a
  ratio to a reference model) shares FLOPs across tiers: FLOPs is the same number on both
  devices, so part of FRM's ρ holds by construction. Where one side measured no memory (timm),
  FRM = FLOPs × latency and FRM-without-FLOPs *is* latency: "FRM's advantage comes from FLOPs"
  is then **true by construction**, not a finding. ``measured_memory.*`` tests it where both
  sides measured memory (AI Hub peak memory across devices; a local collection).

Spearman ρ is symmetric, so gpu→edge and edge→gpu carry the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from predictor.analyses._base import BY_CONSTRUCTION, PROXY, AnalysisResult, Finding
from predictor.analyses._data import StudyData, config_terms, flops_of
from predictor.analyses._registry import register_analysis
from predictor.analyses._resample import (LEAVE_OUT, LEAVE_OUT_DRAWS, N_BOOT, RHO, RankUnits,
                                          resample_many, unit_device_weights, weighted_mean)
from predictor.compound import DEVICE_INVARIANT_TERMS, FRM_TERMS

TIER_PAIRS = (("gpu", "edge"), ("cpu", "edge"), ("edge", "gpu"), ("cpu", "gpu"), ("edge", "cpu"),
              ("gpu", "cpu"))
MEASURES = ("latency", "frm", "frm_no_invariant")
GAINS = {"frm_gain": ("frm", "latency"), "frm_gain_without_flops": ("frm_no_invariant", "latency")}


def _keys(terms: dict[str, np.ndarray], shared: list[str]) -> dict[str, np.ndarray]:
    """log values that rank like latency, FRM and FRM without its device-invariant terms."""
    varying = [t for t in shared if t not in DEVICE_INVARIANT_TERMS]
    return {"latency": terms["latency"], "frm": sum(terms[t] for t in shared),
            "frm_no_invariant": sum(terms[t] for t in varying)}


@dataclass
class TransferResult(AnalysisResult):
    name = "transfer"
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)   # one row per configuration pair
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # scope → mask over pairs
    units: RankUnits | None = field(default=None, repr=False)
    n_models: int = 0
    n_devices: int = 0
    gpu_proxy: str = ""        # what stands in for GPU latency ("" when batch-1 latency exists)

    def _stat(self, wm, wd) -> dict[str, np.ndarray]:
        rho = {m: self.units.spearman(wm, 2 * k, 2 * k + 1) for k, m in enumerate(MEASURES)}
        dw = unit_device_weights(wd, self.units.devices, len(np.atleast_2d(wm)))
        out = {}
        for scope, mask in self.groups.items():
            w = dw * mask[None, :]
            means = {m: weighted_mean(r, w) for m, r in rho.items()}
            out.update({f"{scope}.{m}": v for m, v in means.items()})
            out.update({f"{scope}.{g}": means[a] - means[b] for g, (a, b) in GAINS.items()})
        return out

    def _findings(self) -> dict[str, Finding]:
        if self.units is None or not self.groups:
            return {}
        p = self.parameters
        n = {f"{scope}.{m}": int(self.pairs.loc[mask, "n_models"].median())
             for scope, mask in self.groups.items() for m in (*MEASURES, *GAINS)}
        found = resample_many(self._stat, self.n_models,
                              self.n_devices if p.get("devices", True) else None,
                              n_boot=p.get("n_boot", N_BOOT), leave_out=p.get("leave_out", LEAVE_OUT),
                              leave_out_draws=p.get("leave_out_draws", LEAVE_OUT_DRAWS),
                              seed=p.get("seed", 0), n=n,
                              bounds=lambda key: None if key.split(".", 1)[1] in GAINS else RHO)
        out: dict[str, Finding] = {}
        for key, r in found.items():
            scope, stat = key.split(".", 1)
            mask = self.groups[scope]
            method = (f"mean Spearman ρ over {int(mask.sum())} configuration pairs (median "
                      f"{int(self.pairs.loc[mask, 'n_models'].median())} common models)")
            if stat in GAINS:
                method = f"ρ({GAINS[stat][0]}) − ρ({GAINS[stat][1]}); {method}"
            f = replace(Finding.from_resampled(r), method=method)
            gpu = scope != "measured_memory" and (
                "gpu" in scope.split("_to_") or (scope == "overall" and self._has_gpu(mask)))
            if self.gpu_proxy and gpu:
                f = replace(f, basis=PROXY, basis_note=self.gpu_proxy)
            if stat == "frm_gain_without_flops" and not self.pairs.loc[mask, "memory_used"].any():
                f = replace(f, basis=BY_CONSTRUCTION, basis_note=(
                    "no memory is measured on both sides, so FRM = FLOPs × latency and FRM "
                    "without FLOPs is latency: its gain over latency is 0 and FRM's whole "
                    "advantage is FLOPs, a number identical on both devices"))
            out[key] = f
            if "_to_" in scope:    # ρ is symmetric: edge→gpu is gpu→edge
                a, b = scope.split("_to_")
                out[f"{b}_to_{a}.{stat}"] = f
        return out

    def _has_gpu(self, mask: np.ndarray) -> bool:
        sel = self.pairs[mask]
        return bool(((sel["source_tier"] == "gpu") | (sel["target_tier"] == "gpu")).any())

    def table(self) -> pd.DataFrame:
        rows = []
        f = self.findings()
        for scope, mask in self.groups.items():
            row = {"transfer": scope.replace("_to_", "→"), "n_config_pairs": int(mask.sum()),
                   "median_common_models": float(self.pairs.loc[mask, "n_models"].median())}
            for m in (*MEASURES, *GAINS):
                e = f[f"{scope}.{m}"].estimate
                row[f"rho_{m}"] = e.value
                row[f"rho_{m}_ci"] = f"[{e.low:.3f}, {e.high:.3f}]"
            row["basis"] = f[f"{scope}.latency"].basis
            rows.append(row)
        return pd.DataFrame(rows)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"transfer_by_tier": self.table(), "transfer_pairs": self.pairs,
                "transfer_findings": self.findings_frame()}

    def figures(self) -> dict:
        from predictor.analyses import plots
        cross = self.pairs[self.pairs["cross_tier"]] if len(self.pairs) else self.pairs
        return {"transfer_heatmap": plots.transfer_heatmap(cross)} if len(cross) else {}


def _tier_key(a: str, b: str) -> str:
    """``gpu_to_edge`` for either order: the first of TIER_PAIRS that names the two tiers."""
    first = next((p for p in TIER_PAIRS if p in ((a, b), (b, a))), (a, b))
    return f"{first[0]}_to_{first[1]}"


def _gpu_proxy(configs: pd.DataFrame) -> tuple[pd.Index, str]:
    """GPU configurations standing for GPU latency, and the proxy's description (or "")."""
    gpu = configs[configs["device_tier"].astype(str) == "gpu"]
    if gpu.empty:
        return gpu.index, ""
    batch = pd.to_numeric(gpu.get("batch_size", pd.Series(1, index=gpu.index)), errors="coerce")
    batch1 = gpu.index[batch.fillna(1) == 1]
    if len(batch1):
        return batch1, ""
    prec = ", ".join(sorted(gpu["precision"].astype(str).unique())) if "precision" in gpu else "?"
    src = ", ".join(sorted(gpu["source"].astype(str).unique())) if "source" in gpu else "the store"
    return gpu.index, (f"{src} large-batch {prec} throughput (batch {int(batch.min())}–"
                       f"{int(batch.max())}), not batch-1 GPU latency — the store has no batch-1 "
                       "GPU measurement")


@register_analysis("transfer", result=TransferResult)
def cross_tier_transfer(data: StudyData, min_common: int = 5, n_boot: int = N_BOOT,
                        devices: bool = True, leave_out: float = LEAVE_OUT,
                        leave_out_draws: int = LEAVE_OUT_DRAWS, seed: int = 0) -> TransferResult:
    """ρ between every pair of configurations on different tiers, and across devices where
    both sides measured memory; CIs over models × devices."""
    m = data.latency
    flops = flops_of(m)
    configs = m.configs
    gpu_keep, proxy = _gpu_proxy(configs)
    tiers = configs["device_tier"].astype(str)
    keep = [c for c in m.values.columns if tiers[c] != "gpu" or c in gpu_keep]
    model_pos = {name: i for i, name in enumerate(m.values.index)}
    device_codes, device_names = pd.factorize(configs["device"].astype(str))
    device_of = dict(zip(configs.index, device_codes))
    logs = {}
    for c in keep:
        t = config_terms(data, c, flops)
        logs[c] = {k: np.log(t[k].reindex(m.values.index).to_numpy(float)) for k in t.columns}
    present = (m.values[keep].notna() & flops.notna().to_numpy()[:, None]).to_numpy()
    items, rows = [], []
    for i, a in enumerate(keep):
        for j in range(i + 1, len(keep)):
            b = keep[j]
            cross_tier = tiers[a] != tiers[b]
            common = present[:, i] & present[:, j]
            if common.sum() < min_common:
                continue
            shared = [t for t in FRM_TERMS if t in logs[a] and t in logs[b]
                      and np.isfinite(logs[a][t][common]).all()
                      and np.isfinite(logs[b][t][common]).all()]
            with_memory = "memory" in shared
            if not cross_tier and not (with_memory and device_of[a] != device_of[b]):
                continue
            ka = _keys({t: v[common] for t, v in logs[a].items()}, shared)
            kb = _keys({t: v[common] for t, v in logs[b].items()}, shared)
            items.append((np.flatnonzero(common),
                          [s for meas in MEASURES for s in (ka[meas], kb[meas])],
                          (device_of[a], device_of[b])))
            rows.append({"source": a, "target": b, "source_tier": tiers[a],
                         "target_tier": tiers[b], "tier_pair": _tier_key(tiers[a], tiers[b]),
                         "cross_tier": cross_tier,
                         "cross_device_memory": with_memory and device_of[a] != device_of[b],
                         "n_models": int(common.sum()), "memory_used": with_memory})
    params = {"min_common": min_common, "n_boot": n_boot, "devices": devices,
              "leave_out": leave_out, "leave_out_draws": leave_out_draws, "seed": seed}
    pairs = pd.DataFrame(rows)
    if not items:
        return TransferResult(pairs=pairs, gpu_proxy=proxy, parameters=params)
    units = RankUnits([it[0] for it in items],
                      [[it[1][s] for it in items] for s in range(2 * len(MEASURES))],
                      devices=np.array([it[2] for it in items]))
    for k, meas in enumerate(MEASURES):
        pairs[meas] = units.spearman(np.ones((1, len(m.values))), 2 * k, 2 * k + 1)[0]
    cross = pairs["cross_tier"].to_numpy()
    groups = {key: (pairs["tier_pair"] == key).to_numpy() & cross
              for key in [f"{a}_to_{b}" for a, b in TIER_PAIRS]}
    groups = {k: v for k, v in groups.items() if v.any()}
    if cross.any():
        groups["overall"] = cross
    if pairs["cross_device_memory"].any():
        groups["measured_memory"] = pairs["cross_device_memory"].to_numpy()
    return TransferResult(pairs=pairs, groups=groups, units=units, n_models=len(model_pos),
                          n_devices=len(device_names), gpu_proxy=proxy, parameters=params)


__all__ = ["TransferResult", "cross_tier_transfer"]
