"""Does a source configuration's (latency, top-1) Pareto frontier predict the target's?

For each (source, target) configuration pair with ≥ ``min_common`` models measured on both and a
known top-1, the source frontier over the common models is taken as the prediction of the
target frontier; precision/recall/F1 come from :func:`predictor.metrics.set_agreement`. The
cost saved is 1 − |source frontier| / |common models|: the runs needed on the target when only
the predicted frontier is measured there, against measuring every model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.analyses._base import AnalysisResult, ClaimCheck, judge
from predictor.analyses._data import StudyData, model_column
from predictor.metrics import Estimate, mean_ci, pareto_front, set_agreement

_CMD = "effbench experiment run experiments/paper.yaml  (analysis: pareto)"


@dataclass
class ParetoResult(AnalysisResult):
    name = "pareto"
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    example: dict = field(default_factory=dict)

    def _est(self, column: str, cross_tier: bool | None = None) -> Estimate | None:
        sel = self.pairs
        if sel.empty:
            return None
        if cross_tier is not None:
            sel = sel[(sel["source_tier"] != sel["target_tier"]) == cross_tier]
        return mean_ci(sel[column].to_numpy()) if len(sel) else None

    def _estimates(self) -> dict[str, Estimate]:
        out = {}
        for scope, flag in (("all", None), ("cross_tier", True), ("same_tier", False)):
            for col in ("f1", "precision", "recall", "runs_saved"):
                e = self._est(col, flag)
                if e is not None:
                    out[f"{scope}.{col}"] = e
        return out

    def by_tier(self) -> pd.DataFrame:
        if self.pairs.empty:
            return pd.DataFrame()
        g = self.pairs.groupby(["source_tier", "target_tier"])
        return g.agg(n_pairs=("f1", "size"), f1=("f1", "mean"), precision=("precision", "mean"),
                     recall=("recall", "mean"), runs_saved=("runs_saved", "mean"),
                     median_common=("n_models", "median")).reset_index()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"pareto_by_tier": self.by_tier(), "pareto_pairs": self.pairs}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"pareto_frontiers": plots.pareto_figure(self.example)} if self.example else {}

    def claims(self) -> list[ClaimCheck]:
        f1, saved = self._est("f1"), self._est("runs_saved")
        return [ClaimCheck("Source Pareto frontier predicts the target's with F1 = 0.87", "0.87",
                           f1, judge(f1, approx=0.87, tol=0.03), _CMD,
                           "mean over all source/target configuration pairs"),
                ClaimCheck("… with 99.5 % fewer measurement runs", "0.995", saved,
                           judge(saved, approx=0.995, tol=0.005), _CMD,
                           "1 − |source frontier| / |models common to both configurations|")]


def pareto_transfer(data: StudyData, min_common: int = 5, max_pairs: int = 3000,
                    seed: int = 0) -> ParetoResult:
    """Frontier agreement over (a random sample of at most ``max_pairs``) configuration pairs."""
    m = data.latency
    top1 = pd.to_numeric(model_column(m, "top1"), errors="coerce")
    tiers = m.configs["device_tier"].astype(str)
    present = m.values.notna() & top1.notna().to_numpy()[:, None]
    configs = list(m.values.columns)
    candidates = [(a, b) for a in configs for b in configs if a != b]
    rng = np.random.default_rng(seed)
    if len(candidates) > max_pairs:
        candidates = [candidates[i] for i in rng.choice(len(candidates), max_pairs, replace=False)]
    rows, best = [], None
    for a, b in candidates:
        common = present.index[present[a] & present[b]]
        if len(common) < min_common:
            continue
        acc = top1[common].to_numpy()
        src, tgt = m.values.loc[common, a].to_numpy(), m.values.loc[common, b].to_numpy()
        pred, true = pareto_front(src, acc), pareto_front(tgt, acc)
        agree = set_agreement(true, pred)
        rows.append({"source": a, "target": b, "source_tier": tiers[a], "target_tier": tiers[b],
                     "n_models": len(common), "frontier_source": int(pred.sum()),
                     "frontier_target": int(true.sum()), "precision": agree.precision,
                     "recall": agree.recall, "f1": agree.f1,
                     "runs_saved": 1 - pred.sum() / len(common)})
        if tiers[a] != tiers[b] and (best is None or len(common) > best["n"]):
            best = {"n": len(common), "models": list(common), "top1": acc, "source": src,
                    "target": tgt, "source_name": a, "target_name": b}
    return ParetoResult(pairs=pd.DataFrame(rows), example=best or {},
                        parameters={"min_common": min_common, "max_pairs": max_pairs, "seed": seed})


__all__ = ["ParetoResult", "pareto_transfer"]
