"""Do rankings measured on one device tier carry over to another?

For every (source configuration, target configuration) on different tiers with ≥ ``min_common``
models in common, the Spearman ρ of the two rankings is computed for latency, for FRM, and for
FRM *without its device-invariant terms* (FLOPs is the same number on both sides, so part of
FRM's cross-tier ρ holds by construction; the ablation shows how much). Each tier pair reports
the mean ρ over configuration pairs, a bootstrap CI over those pairs (pairs share models, so the
CI is optimistic — the report says so) and n (pairs, median common models). Spearman ρ is
symmetric, so gpu→edge and edge→gpu carry the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.analyses._base import AnalysisResult, ClaimCheck, judge
from predictor.analyses._data import StudyData, config_terms, flops_of
from predictor.compound import DEVICE_INVARIANT_TERMS, FRM_TERMS
from predictor.metrics import Estimate, mean_ci, spearman

TIER_PAIRS = (("gpu", "edge"), ("cpu", "edge"), ("edge", "gpu"), ("cpu", "gpu"), ("edge", "cpu"),
              ("gpu", "cpu"))
MEASURES = ("latency", "frm", "frm_no_invariant")
_CMD = "effbench experiment run experiments/paper.yaml  (analysis: transfer)"


def pair_rhos(logs_a: dict[str, np.ndarray], logs_b: dict[str, np.ndarray]) -> dict[str, float]:
    """ρ of latency, FRM and FRM-without-FLOPs between two configurations.

    ``logs_*`` map each FRM term to the log values of the common models (same order). FRM ranks
    like the sum of its log terms (the reference only shifts it), so that sum is what is ranked;
    a term enters only when both sides measured it for every common model.
    """
    shared = [t for t in FRM_TERMS if t in logs_a and t in logs_b
              and np.isfinite(logs_a[t]).all() and np.isfinite(logs_b[t]).all()]
    varying = [t for t in shared if t not in DEVICE_INVARIANT_TERMS]
    return {"latency": spearman(logs_a["latency"], logs_b["latency"]),
            "frm": spearman(sum(logs_a[t] for t in shared), sum(logs_b[t] for t in shared)),
            "frm_no_invariant": spearman(sum(logs_a[t] for t in varying),
                                         sum(logs_b[t] for t in varying))}


@dataclass
class TransferResult(AnalysisResult):
    name = "transfer"
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)

    def cell(self, source: str, target: str, measure: str) -> Estimate | None:
        if self.pairs.empty:
            return None
        if source == "overall":
            sel = self.pairs[self.pairs["source_tier"] != self.pairs["target_tier"]]
        else:
            sel = self.pairs[(self.pairs["source_tier"] == source)
                             & (self.pairs["target_tier"] == target)]
        return mean_ci(sel[measure].to_numpy()) if len(sel) else None

    def table(self) -> pd.DataFrame:
        rows = []
        for source, target in TIER_PAIRS + (("overall", "overall"),):
            sel = (self.pairs if source == "overall" else self.pairs[
                (self.pairs["source_tier"] == source) & (self.pairs["target_tier"] == target)]
                ) if not self.pairs.empty else pd.DataFrame()
            row = {"transfer": "overall (cross-tier)" if source == "overall" else f"{source}→{target}",
                   "n_config_pairs": len(sel),
                   "median_common_models": float(sel["n_models"].median()) if len(sel) else np.nan}
            for m in MEASURES:
                e = self.cell(source, target, m)
                row[f"rho_{m}"] = e.value if e else np.nan
                row[f"rho_{m}_ci"] = f"[{e.low:.3f}, {e.high:.3f}]" if e else "—"
            rows.append(row)
        return pd.DataFrame(rows)

    def _estimates(self) -> dict[str, Estimate]:
        out = {}
        for source, target in TIER_PAIRS + (("overall", "overall"),):
            for m in MEASURES:
                e = self.cell(source, target, m)
                if e is not None:
                    key = "overall" if source == "overall" else f"{source}_to_{target}"
                    out[f"{key}.{m}"] = e
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"transfer_by_tier": self.table(), "transfer_pairs": self.pairs}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"transfer_heatmap": plots.transfer_heatmap(self.pairs)} if not self.pairs.empty else {}

    def claims(self) -> list[ClaimCheck]:
        g = lambda m: self.cell("gpu", "edge", m)
        o = self.cell("overall", "overall", "frm")
        abl = g("frm_no_invariant")
        note = f"FRM without FLOPs: {abl}" if abl else "no GPU/edge models in common"
        lat = g("latency")
        if abl and lat and abs(abl.value - lat.value) < 1e-9:
            note += (" = latency's ρ: the only terms both tiers measured are FLOPs and latency "
                     "(timm publishes no memory), so FRM's gain over latency is FLOPs, a number "
                     "identical on both devices")
        return [
            ClaimCheck("GPU→edge ranking transfer with FRM ρ = 0.961", "0.961", g("frm"),
                       judge(g("frm"), approx=0.961, tol=0.02), _CMD, note),
            ClaimCheck("GPU→edge ranking transfer with latency ρ = 0.582", "0.582", g("latency"),
                       judge(g("latency"), approx=0.582, tol=0.05), _CMD),
            ClaimCheck("Cross-tier ranking transfer overall ρ = 0.907 (FRM)", "0.907", o,
                       judge(o, approx=0.907, tol=0.02), _CMD),
        ]


def cross_tier_transfer(data: StudyData, min_common: int = 5,
                        include_same_tier: bool = False) -> TransferResult:
    """ρ between every pair of configurations on different tiers (or all pairs, if asked)."""
    m = data.latency
    flops = flops_of(m)
    logs = {}
    for c in m.values.columns:
        t = config_terms(data, c, flops)
        logs[c] = {k: np.log(t[k].reindex(m.values.index).to_numpy(float)) for k in t.columns}
    tiers = m.configs["device_tier"].astype(str)
    present = (m.values.notna() & flops.notna().to_numpy()[:, None]).to_numpy()
    rows = []
    configs = list(m.values.columns)
    for i, a in enumerate(configs):
        for j in range(i + 1, len(configs)):
            b = configs[j]
            if tiers[a] == tiers[b] and not include_same_tier:
                continue
            common = present[:, i] & present[:, j]
            n = int(common.sum())
            if n < min_common:
                continue
            rhos = pair_rhos({k: v[common] for k, v in logs[a].items()},
                             {k: v[common] for k, v in logs[b].items()})
            for src, tgt in ((a, b), (b, a)):
                rows.append({"source": src, "target": tgt, "source_tier": tiers[src],
                             "target_tier": tiers[tgt], "n_models": n, **rhos})
    return TransferResult(pairs=pd.DataFrame(rows),
                          parameters={"min_common": min_common,
                                      "include_same_tier": include_same_tier})


__all__ = ["TransferResult", "cross_tier_transfer", "pair_rhos"]
