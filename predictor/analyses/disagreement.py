"""Do FLOPs rank models the way measurements (or a compound measure) do on each configuration?

Definitions (the study leaves them implicit, so they are fixed and documented here):

* case: a (configuration, model) whose FLOPs rank and measured rank differ by ≥ ``threshold``
  positions (ranks over the models measured on that configuration, ties averaged);
* share of configurations: configurations with at least one case;
* deployment-decision error: over all pairs of models on a configuration with different FLOPs,
  the share where the lower-FLOPs model is the slower (higher-measure) one;
* share of cases: cases / (configuration, model) cells — the study's "~10 % of decisions";
* effect size: two samples of *normalised* rank displacement |Δrank|/(n−1) on the same models —
  A: FLOPs rank vs the configuration's measured rank; B: a sibling configuration's measured rank
  (same device, other runtime/precision/layout) vs the same measured rank. Mann-Whitney U tests
  A > B (one-sided); Cohen's d = (mean A − mean B)/pooled sd. B says how much rankings move
  anyway when only the software changes, so d measures FLOPs' disagreement beyond that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from predictor.analyses._base import AnalysisResult, ClaimCheck, judge, point
from predictor.analyses._data import StudyData, config_label, flops_of, measure_values
from predictor.analyses._rank import column_pearson
from predictor.metrics import Estimate, bootstrap_ci, mean_ci

MEASURES = ("latency", "frm")


def cohens_d(a, b) -> float:
    """(mean a − mean b) / pooled standard deviation (ddof = 1)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return float("nan")
    pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("nan")


def pair_decision_error(flops, measured) -> tuple[int, int]:
    """(wrong, total) over pairs with different FLOPs: lower FLOPs but higher measured value."""
    f = np.asarray(flops, dtype=float)
    m = np.asarray(measured, dtype=float)
    df = np.sign(f[:, None] - f[None, :])
    dm = np.sign(m[:, None] - m[None, :])
    upper = np.triu(np.ones_like(df, dtype=bool), 1)
    valid = upper & (df != 0)
    wrong = valid & (dm == -df)
    return int(wrong.sum()), int(valid.sum())


def _sibling_pairs(configs: pd.DataFrame, columns) -> list[tuple[int, int]]:
    """(i, j) column positions of distinct configurations on the same device."""
    device = configs.loc[list(columns), "device"].astype(str).to_numpy()
    return [(i, j) for i in range(len(device)) for j in range(len(device))
            if i != j and device[i] == device[j]]


def _sibling_samples(values: np.ndarray, flops: np.ndarray, pairs, min_models: int):
    """Samples A (FLOPs vs measured) and B (sibling vs measured) of normalised |Δrank|."""
    a, b = [], []
    for i, j in pairs:
        common = ~np.isnan(values[:, i]) & ~np.isnan(values[:, j])
        n = int(common.sum())
        if n < min_models:
            continue
        rm = stats.rankdata(values[common, i])
        a.append(np.abs(stats.rankdata(flops[common]) - rm) / (n - 1))
        b.append(np.abs(stats.rankdata(values[common, j]) - rm) / (n - 1))
    return (np.concatenate(a) if a else np.array([]), np.concatenate(b) if b else np.array([]))


@dataclass
class DisagreementResult(AnalysisResult):
    name = "disagreement"
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)      # per (measure, config, model)
    per_config: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (measure, config)
    effect: dict[str, dict[str, float]] = field(default_factory=dict)  # per measure
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def _measure(self, measure: str) -> dict[str, Estimate]:
        return self.memo(f"measure.{measure}", lambda: self._compute_measure(measure))

    def _compute_measure(self, measure: str) -> dict[str, Estimate]:
        if self.per_config.empty:
            return {}
        cells = self.cells[self.cells["measure"] == measure]
        per = self.per_config[self.per_config["measure"] == measure]
        if per.empty:
            return {}
        case = cells["case"].to_numpy(dtype=float)
        out = {
            "cases": point(case.sum(), len(case)),
            "share_configs_with_case": mean_ci(per["n_cases"].to_numpy() > 0),
            "share_cells_case": mean_ci(case),
            "pair_decision_error": bootstrap_ci(
                lambda w, t: w.sum() / t.sum() if t.sum() else np.nan,
                per["pairs_wrong"].to_numpy(), per["pairs_total"].to_numpy()),
            "spearman_flops_vs_measured": mean_ci(per["spearman"].to_numpy()),
        }
        a, b = self.samples.get(measure, (np.array([]), np.array([])))
        if len(a) >= 2 and len(b) >= 2:
            out["cohens_d"] = bootstrap_ci(lambda x: cohens_d(x[:, 0], x[:, 1]),
                                           np.column_stack([a, b]), n_boot=300)
            out["mannwhitney_p"] = point(self.effect[measure]["p"], len(a))
        return out

    def _estimates(self) -> dict[str, Estimate]:
        return {f"{m}.{k}": e for m in MEASURES for k, e in self._measure(m).items()}

    def worst_cases(self, n: int = 20) -> pd.DataFrame:
        cells = self.cells[self.cells["measure"] == "latency"]
        return cells.sort_values("displacement_norm", ascending=False).head(n).reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"disagreement_per_config": self.per_config,
                "disagreement_worst_cases": self.worst_cases()}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"flops_vs_measured_rank": plots.flops_rank_figure(self.cells)}

    def claims(self) -> list[ClaimCheck]:
        cmd = "effbench experiment run experiments/paper.yaml  (analysis: disagreement)"
        e = self._measure("frm") or self._measure("latency")
        which = "FRM" if self._measure("frm") else "latency"
        get = e.get
        return [
            ClaimCheck("FLOPs vs compound ranking differ by ≥ 2 positions in 774 cases", "774",
                       get("cases"), judge(get("cases"), approx=774, tol=77), cmd,
                       f"measure={which}; a count, so it scales with how many models/configs are compared"),
            ClaimCheck("… in 95.8 % of device configurations", "0.958",
                       get("share_configs_with_case"),
                       judge(get("share_configs_with_case"), approx=0.958, tol=0.02), cmd),
            ClaimCheck("… in ~10 % of deployment decisions", "≈0.10", get("share_cells_case"),
                       judge(get("share_cells_case"), approx=0.10, tol=0.03), cmd,
                       "share of (configuration, model) cells; the pairwise decision error is "
                       f"{get('pair_decision_error') or '—'}"),
            ClaimCheck("FLOPs disagreement is significant (Mann-Whitney U p < 0.0001)", "< 0.0001",
                       get("mannwhitney_p"), judge(get("mannwhitney_p"), below=1e-4), cmd,
                       "A: |Δrank| FLOPs vs measured; B: |Δrank| sibling runtime vs measured"),
            ClaimCheck("Effect size Cohen's d = 0.73", "0.73", get("cohens_d"),
                       judge(get("cohens_d"), approx=0.73, tol=0.1), cmd),
        ]


def flops_disagreement(data: StudyData, threshold: int = 2, measures=MEASURES,
                       reference: str = "median", min_models: int = 3) -> DisagreementResult:
    """Count and test FLOPs-rank disagreement on every configuration of ``data.latency``.

    ``reference`` is recorded only: FRM ranks (all this analysis uses) do not depend on it.
    Vectorised over configurations (rank per column); only the O(n²) pair count loops.
    """
    flops = flops_of(data.latency)
    configs = data.latency.configs
    cells, per, effect, samples = [], [], {}, {}
    for measure in measures:
        if measure not in MEASURES:
            raise ValueError(f"disagreement: unknown measure '{measure}' (use one of {MEASURES})")
        values = measure_values(data, measure, flops)
        values = values.loc[:, values.notna().sum() >= min_models]
        if values.empty:
            continue
        v = values.to_numpy(float)
        f = np.where(np.isnan(v), np.nan, flops.reindex(values.index).to_numpy(float)[:, None])
        rf = pd.DataFrame(f).rank().to_numpy()
        rm = pd.DataFrame(v).rank().to_numpy()
        disp = np.abs(rf - rm)
        n = (~np.isnan(v)).sum(axis=0)
        pair_counts = np.array([pair_decision_error(f[~np.isnan(v[:, c]), c], v[~np.isnan(v[:, c]), c])
                                for c in range(v.shape[1])]).reshape(-1, 2)
        labels = [config_label(data.latency, c) for c in values.columns]
        per.append(pd.DataFrame({
            "measure": measure, "config": values.columns, "label": labels,
            "device_tier": configs.loc[values.columns, "device_tier"].to_numpy(),
            "n_models": n, "n_cases": np.nansum(disp >= threshold, axis=0),
            "pairs_wrong": pair_counts[:, 0], "pairs_total": pair_counts[:, 1],
            "spearman": column_pearson(rf, rm)}))
        row, col = np.nonzero(~np.isnan(v))
        cells.append(pd.DataFrame({
            "measure": measure, "config": values.columns[col], "label": np.asarray(labels)[col],
            "model": values.index[row], "flops_rank": rf[row, col], "measured_rank": rm[row, col],
            "n_models": n[col], "displacement": disp[row, col],
            "displacement_norm": disp[row, col] / np.maximum(n[col] - 1, 1),
            "case": disp[row, col] >= threshold}))
        a, b = _sibling_samples(v, flops.reindex(values.index).to_numpy(float),
                                _sibling_pairs(configs, values.columns), min_models)
        samples[measure] = (a, b)
        if len(a) >= 2 and len(b) >= 2:
            test = stats.mannwhitneyu(a, b, alternative="greater")
            effect[measure] = {"U": float(test.statistic), "p": float(test.pvalue),
                               "d": cohens_d(a, b), "n_a": len(a), "n_b": len(b)}
    return DisagreementResult(
        cells=pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(),
        per_config=pd.concat(per, ignore_index=True) if per else pd.DataFrame(),
        effect=effect, samples=samples,
        parameters={"threshold": threshold, "measures": ",".join(measures), "reference": reference,
                    "min_models": min_models})


__all__ = ["DisagreementResult", "cohens_d", "flops_disagreement", "pair_decision_error"]
