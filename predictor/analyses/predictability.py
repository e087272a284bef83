"""How well can latency on an unseen device be predicted, per model family, and does KRT work?

Both questions are read off one :func:`predictor.evaluation.evaluate` run (leave-one-device-out
by default):

* MAPE per family (``EvaluationResult.per_family``: mean over held-out devices, bootstrap CI over
  devices) for the best method at the headline k — the study: 5.2 % for standard CNNs to 23.4 %
  for transformers;
* the KRT check: r² of KRT ratio transfer on *log* latency of the models *not* given to it on
  each target, 1 − Σ(log y − log ŷ)² / Σ(log y − mean log y)², averaged over targets (CI over
  targets) at the smallest k KRT runs with — the study: r² < 0.5;
* MAPE vs k per target tier, which ``effbench recommend`` uses to pick how many target
  measurements to spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictor.analyses._base import AnalysisResult, ClaimCheck, judge
from predictor.analyses._data import StudyData
from predictor.metrics import Estimate, mean_ci

_CMD = "effbench experiment run experiments/paper.yaml  (analysis: predictability)"
KRT = "krt"


def log_r2(true, pred) -> float:
    """r² of predicted vs measured log latency (1 − SS_res/SS_tot, may be negative)."""
    lt, lp = np.log(np.asarray(true, float)), np.log(np.asarray(pred, float))
    ss_tot = ((lt - lt.mean()) ** 2).sum()
    return float(1 - ((lt - lp) ** 2).sum() / ss_tot) if ss_tot > 0 else float("nan")


@dataclass
class PredictabilityResult(AnalysisResult):
    name = "predictability"
    evaluation: Any = None
    k: int = 0
    best_method: str = ""

    def per_family(self) -> pd.DataFrame:
        fam = self.evaluation.per_family(self.k) if self.evaluation is not None else pd.DataFrame()
        if fam.empty:
            return fam
        return fam[fam["method"] == self.best_method].sort_values("mape").reset_index(drop=True)

    def k_curve(self) -> pd.DataFrame:
        """MAPE of the best method by target tier and k (CI over targets)."""
        pt = self.evaluation.per_target if self.evaluation is not None else pd.DataFrame()
        if pt.empty:
            return pd.DataFrame()
        pt = pt[pt["method"] == self.best_method]
        rows = []
        for (tier, k), grp in pt.groupby(["target_tier", "k"], observed=True):
            per_target = grp.groupby("target", observed=True)["mape"].mean()
            e = mean_ci(per_target.to_numpy())
            rows.append({"tier": str(tier), "k": int(k), "n_targets": len(per_target),
                         "mape": e.value, "ci_low": e.low, "ci_high": e.high})
        return pd.DataFrame(rows)

    def krt_r2(self) -> Estimate | None:
        p = self.evaluation.predictions if self.evaluation is not None else pd.DataFrame()
        if p.empty:
            return None
        p = p[(p["method"].astype(str) == KRT) & ~p["known"].astype(bool)]
        if p.empty:
            return None
        p = p[p["k"] == p["k"].min()]
        r2 = [log_r2(g["true_ms"], g["pred_ms"])
              for _, g in p.groupby(["target", "draw"], observed=True) if len(g) >= 3]
        return mean_ci(np.asarray(r2))

    def _family(self, family: str) -> Estimate | None:
        fam = self.per_family()
        row = fam[fam["family"] == family] if len(fam) else fam
        if row.empty:
            return None
        r = row.iloc[0]
        return Estimate(float(r["mape"]), float(r["mape_low"]), float(r["mape_high"]),
                        int(r["n_devices"]))

    def _estimates(self) -> dict[str, Estimate]:
        out = {}
        for name, e in (("mape_standard_cnn", self._family("standard_cnn")),
                        ("mape_transformer", self._family("transformer")),
                        ("krt_log_r2", self.krt_r2())):
            if e is not None:
                out[name] = e
        if self.evaluation is not None and self.best_method:
            e = self.evaluation.estimate(self.best_method, self.k, "mape")
            if np.isfinite(e.value):
                out["mape_all"] = e
        return out

    def evidence(self) -> dict:
        ev = super().evidence()
        ev["per_family"] = self.per_family().to_dict(orient="records")
        ev["k_curve"] = self.k_curve().to_dict(orient="records")
        ev["best_method"] = self.best_method
        ev["k"] = self.k
        return ev

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"family_mape": self.per_family(), "k_curve": self.k_curve()}

    def figures(self) -> dict:
        from predictor.analyses import plots
        fam = self.per_family()
        return {"family_error": plots.family_figure(fam, self.best_method)} if len(fam) else {}

    def claims(self) -> list[ClaimCheck]:
        e = self.estimates()
        note = f"method {self.best_method}, k={self.k}, leave-one-device-out; CI over devices"
        return [
            ClaimCheck("Prediction error of standard CNNs 5.2 % MAPE", "5.2 %",
                       e.get("mape_standard_cnn"),
                       judge(e.get("mape_standard_cnn"), approx=5.2, tol=1.0), _CMD, note),
            ClaimCheck("Prediction error of transformers 23.4 % MAPE", "23.4 %",
                       e.get("mape_transformer"),
                       judge(e.get("mape_transformer"), approx=23.4, tol=3.0), _CMD, note),
            ClaimCheck("KRT ratio transfer fails (r² < 0.5)", "< 0.5", e.get("krt_log_r2"),
                       judge(e.get("krt_log_r2"), below=0.5), _CMD,
                       "r² on log latency of the models not given to KRT, mean over targets"),
        ]


def predictability(data: StudyData, methods=("krt", "rank"), protocol: str = "lodo",
                   ks=(0, 5), n_draws: int = 2, k: int | None = None, intervals: bool = False,
                   n_jobs: int = 1, evaluation=None) -> PredictabilityResult:
    """Run (or take) an evaluation; summarise error by family, by k, and KRT's log r².

    ``intervals`` defaults to False: no claim here needs prediction intervals, and their
    conformal calibration is most of an evaluation's cost.
    """
    if evaluation is None:
        from predictor.evaluation import evaluate
        evaluation = evaluate(data.latency, list(methods), protocol=protocol, ks=list(ks),
                              n_draws=n_draws, intervals=intervals, n_jobs=n_jobs)
    k = int(evaluation.headline_k() if k is None else k)
    best = evaluation.best_method(k, metric="mape") or ""
    return PredictabilityResult(evaluation=evaluation, k=k, best_method=best,
                                parameters={"methods": ",".join(methods), "protocol": protocol,
                                            "ks": ",".join(map(str, ks)), "n_draws": n_draws,
                                            "intervals": intervals})


__all__ = ["PredictabilityResult", "log_r2", "predictability"]
