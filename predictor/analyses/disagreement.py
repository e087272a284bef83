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
from predictor.analyses._data import StudyData, config_label, config_terms, flops_of
from predictor.compound import frm
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


def measure_of(data: StudyData, config, measure: str, reference: str) -> pd.DataFrame:
    """flops and the measured value (latency or FRM) of the models on ``config``."""
    terms = config_terms(data, config)
    terms = terms[terms["flops"].notna()]
    if measure == "latency":
        value = terms["latency"]
    elif measure == "frm":
        ref = reference if reference == "median" or reference in terms.index else "median"
        value = frm(terms, reference=ref).values if len(terms) else terms["latency"]
    else:
        raise ValueError(f"disagreement: unknown measure '{measure}' (use one of {MEASURES})")
    return pd.DataFrame({"flops": terms["flops"], "value": value}).dropna()


def _siblings(configs: pd.DataFrame, config) -> list:
    device = configs.loc[config, "device"]
    same = configs.index[(configs["device"] == device) & (configs.index != config)]
    return list(same)


@dataclass
class DisagreementResult(AnalysisResult):
    name = "disagreement"
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)      # per (measure, config, model)
    per_config: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (measure, config)
    effect: dict[str, dict[str, float]] = field(default_factory=dict)  # per measure
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def _measure(self, measure: str) -> dict[str, Estimate]:
        cells = self.cells[self.cells["measure"] == measure]
        per = self.per_config[self.per_config["measure"] == measure]
        if per.empty:
            return {}
        case = cells["case"].to_numpy(dtype=float)
        out = {
            "cases": point(case.sum(), len(case)),
            "share_configs_with_case": bootstrap_ci(np.mean, per["n_cases"].to_numpy() > 0),
            "share_cells_case": bootstrap_ci(np.mean, case),
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

    def estimates(self) -> dict[str, Estimate]:
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
    """Count and test FLOPs-rank disagreement on every configuration of ``data.latency``."""
    flops = flops_of(data.latency)
    configs = data.latency.configs
    cells, per, effect, samples = [], [], {}, {}
    for measure in measures:
        ranked: dict = {}
        for config in data.latency.values.columns:
            frame = measure_of(data, config, measure, reference)
            if len(frame) < min_models:
                continue
            ranked[config] = frame
            rf = frame["flops"].rank()
            rm = frame["value"].rank()
            disp = (rf - rm).abs()
            n = len(frame)
            wrong, total = pair_decision_error(frame["flops"], frame["value"])
            label = config_label(data.latency, config)
            per.append({"measure": measure, "config": config, "label": label,
                        "device_tier": configs.loc[config, "device_tier"], "n_models": n,
                        "n_cases": int((disp >= threshold).sum()), "pairs_wrong": wrong,
                        "pairs_total": total, "spearman": float(stats.spearmanr(rf, rm).statistic)})
            for model in frame.index:
                cells.append({"measure": measure, "config": config, "label": label,
                              "model": model, "flops_rank": rf[model], "measured_rank": rm[model],
                              "n_models": n, "displacement": disp[model],
                              "displacement_norm": disp[model] / (n - 1),
                              "case": bool(disp[model] >= threshold)})
        a, b = [], []
        for config, frame in ranked.items():
            for sib in _siblings(configs, config):
                if sib not in ranked:
                    continue
                common = frame.index.intersection(ranked[sib].index)
                if len(common) < min_models:
                    continue
                rm = frame.loc[common, "value"].rank()
                scale = len(common) - 1
                a.extend(((frame.loc[common, "flops"].rank() - rm).abs() / scale).tolist())
                b.extend(((ranked[sib].loc[common, "value"].rank() - rm).abs() / scale).tolist())
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        samples[measure] = (a_arr, b_arr)
        if len(a_arr) >= 2 and len(b_arr) >= 2:
            test = stats.mannwhitneyu(a_arr, b_arr, alternative="greater")
            effect[measure] = {"U": float(test.statistic), "p": float(test.pvalue),
                               "d": cohens_d(a_arr, b_arr), "n_a": len(a_arr), "n_b": len(b_arr)}
    return DisagreementResult(
        cells=pd.DataFrame(cells), per_config=pd.DataFrame(per), effect=effect, samples=samples,
        parameters={"threshold": threshold, "measures": ",".join(measures), "reference": reference,
                    "min_models": min_models})


__all__ = ["DisagreementResult", "cohens_d", "flops_disagreement", "pair_decision_error"]
