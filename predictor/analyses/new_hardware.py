"""Transfer to new hardware: the ``forward`` protocol on AI Hub, the report's headline for prediction.

Why in the study: a user's device is newer than the store, so the question that decides whether
effbench is worth using is how well ``effbench predict`` does on devices first seen after the
store's date T, with the store read as it stood before T — not leave-one-out over devices whose
silicon twins stay among the sources. The analysis runs :func:`predictor.evaluation.evaluate`
(every prediction through the prediction service, as ``effbench predict`` makes it) for the
plain single-source KRT baseline and the default's prior (``krt_power``), and puts the data's
own references beside them: the best single source in hindsight and how often the targets' own
re-profiles agree within ±10 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from predictor.analyses._base import AnalysisResult, Finding
from predictor.analyses._data import StudyData
from predictor.analyses._registry import register_analysis
from predictor.metrics import Estimate


@dataclass
class NewHardwareResult(AnalysisResult):
    """``scores``: one row per (method, k): within ±10 %, Spearman, 90 % interval coverage
    (means over held-out devices, with the 95 % CI over devices), the references, and the share
    of target configurations where the method beats the baseline."""
    scores: pd.DataFrame
    cutoff: str
    n_devices: int

    name = "new_hardware"

    def _findings(self) -> dict[str, Finding]:
        out = {}
        for row in self.scores.itertuples():
            for metric in ("within_10", "spearman", "coverage"):
                low, high = getattr(row, f"{metric}_low"), getattr(row, f"{metric}_high")
                out[f"{row.method}.k{row.k}.{metric}"] = Finding(
                    Estimate(getattr(row, metric), low, high, self.n_devices),
                    unit="held-out devices",
                    method=f"forward at T = {self.cutoff}: sources as of T, devices first seen "
                           "from T on")
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"forward": self.scores}

    def summary(self) -> str:
        lines = [f"new_hardware: forward at T = {self.cutoff} on AI Hub ({self.n_devices} devices "
                 "first seen from T on; the store as it stood before T)"]
        for r in self.scores.itertuples():
            beats = ("(the baseline)" if pd.isna(r.beats_baseline) else
                     f"beats the baseline on {r.beats_baseline:.0%} of targets")
            lines.append(f"  {r.method:<10} k={r.k:<3} within ±10 % {r.within_10:.3f} "
                         f"[{r.within_10_low:.3f}, {r.within_10_high:.3f}]  Spearman "
                         f"{r.spearman:.3f}  coverage {r.coverage:.2f}  {beats}  | references: "
                         f"oracle {r.ref_oracle_within_10:.3f} / ρ {r.ref_oracle_spearman:.3f}, retest "
                         f"{r.ref_retest_within_10:.3f} / ρ {r.ref_retest_spearman:.3f}")
        return "\n".join(lines)


@register_analysis("new_hardware", result=NewHardwareResult)
def new_hardware(data: StudyData, cutoff: str = "2024-10-01", source: str = "aihub",
                 methods: Sequence[str] = ("plain_krt", "krt_power"), ks: Sequence[int] = (5,),
                 n_draws: int = 3, n_jobs: int = 1) -> NewHardwareResult:
    """Forward transfer to devices first seen from ``cutoff`` on, beside the references."""
    from predictor.evaluation import evaluate
    from predictor.evaluation.result import BASELINE_METHOD

    matrix = data.latency
    configs = matrix.configs
    chosen = (list(configs.index[configs["source"].astype(str) == source])
              if "source" in configs else list(configs.index))
    matrix = matrix.subset(configs=chosen)
    names = list(dict.fromkeys([BASELINE_METHOD, *methods]))
    result = evaluate(matrix, names, "forward", ks=tuple(ks), n_draws=n_draws, cutoff=cutoff,
                      n_jobs=n_jobs)
    scores = result.scoreboard()
    scores = scores[scores["method"].isin(names)].reset_index(drop=True)
    n_devices = int(result.per_target["target_device"].nunique()) if len(result.per_target) else 0
    return NewHardwareResult(scores=scores, cutoff=str(cutoff), n_devices=n_devices,
                             parameters={"cutoff": str(cutoff), "source": source,
                                         "methods": ",".join(names), "ks": ",".join(map(str, ks)),
                                         "n_draws": n_draws})


__all__ = ["NewHardwareResult", "new_hardware"]
