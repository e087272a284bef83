"""Do FLOPs rank models the way measurements (or a compound measure) do on each configuration?

Definitions (the study leaves them implicit, so they are fixed and documented here):

* case: a (configuration, model) whose FLOPs rank and measured rank differ by ≥ ``threshold``
  positions (ranks over the models measured on that configuration, ties averaged). A *count*
  of cases scales with how many models and configurations are compared: the study's "774
  cases" came from another dataset and is **not comparable**; the rate per cell is given;
* share of configurations: configurations with at least one case;
* deployment-decision error (the study's "~10 % of decisions"): over all pairs of models on a
  configuration with different FLOPs, the share where the lower-FLOPs model is the slower one,
  pooled over configurations — a decision is a choice between two models, not a cell;
* effect size and significance, with a *real* comparison group and independent units: per
  device (the unit), A = mean normalised rank displacement |Δrank|/(n−1) between FLOPs and
  measured latency, B = the same between two profiles of one configuration a few weeks apart
  (how far ranks move when nothing changes). Mann-Whitney U tests A > B (one-sided) and
  Cohen's d = (mean A − mean B)/pooled sd, both over devices; the CI resamples devices. On
  latency only: FRM contains FLOPs, so FLOPs-vs-FRM displacement is shrunk by construction.

The measure the study names is FRM (its "compound ranking"); latency is reported beside it.
CIs resample models × devices (two-way cluster bootstrap), never (configuration, model) cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from predictor.analyses._base import NOT_COMPARABLE, UNTESTABLE, AnalysisResult, Finding, point
from predictor.analyses._data import StudyData, config_label, flops_of, measure_values
from predictor.analyses._profiles import RUN_TO_RUN, profile_pairs
from predictor.analyses._rank import column_pearson
from predictor.analyses._registry import register_analysis
from predictor.analyses._resample import (LEAVE_OUT, LEAVE_OUT_DRAWS, N_BOOT, RHO, SHARE,
                                          RankUnits,
                                          resample, resample_many, unit_device_weights,
                                          weighted_mean)
from predictor.metrics import bootstrap_ci

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


def _wrong_valid(flops: np.ndarray, measured: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 0/1 matrices over model pairs: FLOPs order contradicted by the measure; FLOPs differ."""
    df = np.sign(flops[:, None] - flops[None, :])
    dm = np.sign(measured[:, None] - measured[None, :])
    valid = df != 0
    return ((dm == -df) & valid).astype(np.float32), valid.astype(np.float32)


def pair_decision_error(flops, measured) -> tuple[int, int]:
    """(wrong, total) over pairs with different FLOPs: lower FLOPs but higher measured value."""
    wrong, valid = _wrong_valid(np.asarray(flops, float), np.asarray(measured, float))
    return int(wrong.sum() // 2), int(valid.sum() // 2)


@dataclass
class _Measure:
    units: RankUnits
    configs: list[str]
    model_idx: list[np.ndarray]
    flops: list[np.ndarray]
    values: list[np.ndarray]


@dataclass
class DisagreementResult(AnalysisResult):
    name = "disagreement"
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)      # per (measure, config, model)
    per_config: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (measure, config)
    effect: pd.DataFrame = field(default_factory=pd.DataFrame)      # per device: A, B
    measures: dict[str, _Measure] = field(default_factory=dict, repr=False)
    n_models: int = 0
    n_devices: int = 0

    def _resample(self, fn, n: int, bounds=SHARE) -> Finding:
        p = self.parameters
        return Finding.from_resampled(resample(
            fn, self.n_models, self.n_devices, n_boot=p.get("n_boot", N_BOOT),
            leave_out=p.get("leave_out", LEAVE_OUT),
            leave_out_draws=p.get("leave_out_draws", LEAVE_OUT_DRAWS), seed=p.get("seed", 0), n=n,
            bounds=bounds))

    def _case_stats(self, mm: _Measure, wm: np.ndarray, wd: np.ndarray | None):
        """Per replicate: (share of configurations with a case, share of cells that are cases)."""
        thr = self.parameters.get("threshold", 2)
        wm = np.atleast_2d(wm)
        any_case = np.zeros((len(wm), mm.units.n_units))
        case_w = np.zeros_like(any_case)
        cell_w = np.zeros_like(any_case)
        for r, row in enumerate(wm):
            for bucket, w, disp in mm.units.displacement(row):
                hit = (disp >= thr) & (w > 0)
                any_case[r, bucket.positions] = hit.any(axis=1)
                case_w[r, bucket.positions] = (w * hit).sum(axis=1)
                cell_w[r, bucket.positions] = w.sum(axis=1)
        dw = unit_device_weights(wd, mm.units.devices, len(wm))
        share_configs = weighted_mean(np.where(cell_w > 0, any_case, np.nan), dw)
        with np.errstate(invalid="ignore", divide="ignore"):
            share_cells = (dw * case_w).sum(axis=1) / (dw * cell_w).sum(axis=1)
        return share_configs, share_cells

    def _pair_error(self, mm: _Measure, wm: np.ndarray, wd: np.ndarray | None) -> np.ndarray:
        wm = np.atleast_2d(wm)
        dw = unit_device_weights(wd, mm.units.devices, len(wm))
        wrong_tot = np.zeros(len(wm))
        valid_tot = np.zeros(len(wm))
        for c, (idx, f, v) in enumerate(zip(mm.model_idx, mm.flops, mm.values)):
            wrong, valid = _wrong_valid(f, v)
            w = wm[:, idx].astype(np.float32)      # counts ≤ n: exact in float32 products
            wrong_tot += dw[:, c] * 0.5 * ((w @ wrong) * w).sum(axis=1)
            valid_tot += dw[:, c] * 0.5 * ((w @ valid) * w).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return wrong_tot / valid_tot

    def _measure_findings(self, measure: str) -> dict[str, Finding]:
        mm = self.measures.get(measure)
        if mm is None:
            return {}
        per = self.per_config[self.per_config["measure"] == measure]
        cells = self.cells[self.cells["measure"] == measure]
        n_cfg = len(per)
        cases = int(cells["case"].sum())
        thr = self.parameters.get("threshold", 2)
        what = f"FLOPs vs {'FRM' if measure == 'frm' else 'latency'} ranks"
        out = {"cases": Finding(point(cases, len(cells)), "—", basis=NOT_COMPARABLE, basis_note=(
            f"a count: it scales with how many models and configurations are compared; here "
            f"{cases} of {len(cells)} (configuration, model) cells ({cases / max(len(cells), 1):.3f})"
            f" over {n_cfg} configurations ({cases / max(n_cfg, 1):.1f} per configuration)"),
            method=f"{what}, |Δrank| ≥ {thr}")}
        p = self.parameters
        both = resample_many(
            lambda wm, wd: dict(zip(("share_configs_with_case", "share_cells_case"),
                                    self._case_stats(mm, wm, wd))),
            self.n_models, self.n_devices, n_boot=p.get("n_boot", N_BOOT),
            leave_out=p.get("leave_out", LEAVE_OUT),
            leave_out_draws=p.get("leave_out_draws", LEAVE_OUT_DRAWS), seed=p.get("seed", 0),
            n={"share_configs_with_case": n_cfg, "share_cells_case": len(cells)},
            bounds=lambda _: SHARE)
        out.update({k: Finding.from_resampled(r) for k, r in both.items()})
        out["pair_decision_error"] = self._resample(
            lambda wm, wd: self._pair_error(mm, wm, wd), n_cfg)
        out["spearman_flops_vs_measured"] = self._resample(mm.units.mean_spearman, n_cfg, RHO)
        methods = {"share_configs_with_case": f"{what}: configurations with a |Δrank| ≥ {thr}",
                   "share_cells_case": f"{what}: (configuration, model) cells with |Δrank| ≥ {thr}",
                   "pair_decision_error": f"{what}: model pairs where the lower-FLOPs model is "
                                          "slower, pooled over configurations",
                   "spearman_flops_vs_measured": f"{what}: mean Spearman ρ over configurations"}
        for k, text in methods.items():
            out[k] = replace(out[k], method=text)
        return out

    def _effect_findings(self) -> dict[str, Finding]:
        if self.effect.empty or len(self.effect) < 3:
            note = ("needs ≥ 3 devices with both FLOPs-vs-latency ranks and re-profiles a few "
                    "weeks apart (the comparison group)")
            return {"cohens_d": Finding(None, basis=UNTESTABLE, basis_note=note),
                    "mannwhitney_p": Finding(None, basis=UNTESTABLE, basis_note=note)}
        a, b = self.effect["a_flops"].to_numpy(), self.effect["b_reprofile"].to_numpy()
        n = len(a)
        test = stats.mannwhitneyu(a, b, alternative="greater")
        method = (f"per device (n = {n}): |Δrank|/(n−1) FLOPs vs latency (A) against two "
                  f"profiles ≤ {self.parameters.get('run_to_run_days', 28):g} days apart (B)")
        d = bootstrap_ci(lambda x: cohens_d(x[:, 0], x[:, 1]), np.column_stack([a, b]),
                         n_boot=self.parameters.get("n_boot", N_BOOT))
        return {"cohens_d": Finding(d, "devices", method=method),
                "mannwhitney_p": Finding(point(float(test.pvalue), n), "devices (exact test)",
                                         method=f"one-sided Mann-Whitney U = {test.statistic:.0f}; "
                                                + method)}

    def _findings(self) -> dict[str, Finding]:
        out = {f"{m}.{k}": f for m in MEASURES for k, f in self._measure_findings(m).items()}
        out.update({f"latency.{k}": f for k, f in self._effect_findings().items()})
        return out

    def worst_cases(self, n: int = 20) -> pd.DataFrame:
        cells = self.cells[self.cells["measure"] == "latency"]
        return cells.sort_values("displacement_norm", ascending=False).head(n).reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"disagreement_per_config": self.per_config,
                "disagreement_worst_cases": self.worst_cases(),
                "disagreement_effect_per_device": self.effect,
                "disagreement_findings": self.findings_frame()}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"flops_vs_measured_rank": plots.flops_rank_figure(self.cells)}


def _mean_norm_displacement(x: np.ndarray, y: np.ndarray) -> float:
    n = len(x)
    return float(np.mean(np.abs(stats.rankdata(x) - stats.rankdata(y))) / (n - 1))


def _effect_table(data: StudyData, per_config: pd.DataFrame, cells: pd.DataFrame,
                  days: float, min_models: int) -> pd.DataFrame:
    """Per device: A (FLOPs vs latency displacement) and B (re-profile displacement)."""
    if per_config.empty or data.measurements.empty:
        return pd.DataFrame()
    lat = cells[cells["measure"] == "latency"]
    configs = data.latency.configs
    a = (lat.groupby("config")["displacement_norm"].mean()
         .groupby(configs["device"].astype(str)).mean())
    pairs = profile_pairs(data.measurements, RUN_TO_RUN, days, source=None)
    if pairs.empty:
        return pd.DataFrame()
    b = {}
    for unit, grp in pairs.groupby("unit"):
        if len(grp) >= min_models:
            b.setdefault(str(grp["device"].iloc[0]), []).append(
                _mean_norm_displacement(grp["latency_ms_prev"].to_numpy(float),
                                        grp["latency_ms"].to_numpy(float)))
    b = pd.Series({k: float(np.mean(v)) for k, v in b.items()}, dtype=float)
    both = pd.DataFrame({"a_flops": a, "b_reprofile": b}).dropna()
    return both.rename_axis("device").reset_index()


@register_analysis("disagreement", result=DisagreementResult)
def flops_disagreement(data: StudyData, threshold: int = 2, measures=MEASURES,
                       reference: str = "median", min_models: int = 3,
                       run_to_run_days: float = 28, n_boot: int = N_BOOT,
                       leave_out: float = LEAVE_OUT, leave_out_draws: int = LEAVE_OUT_DRAWS,
                       seed: int = 0) -> DisagreementResult:
    """Count and test FLOPs-rank disagreement on every configuration of ``data.latency``.

    ``reference`` is recorded only: FRM ranks (all this analysis uses) do not depend on it.
    """
    flops = flops_of(data.latency)
    configs = data.latency.configs
    models = data.latency.values.index
    device_codes, device_names = pd.factorize(configs["device"].astype(str))
    device_of = dict(zip(configs.index, device_codes))
    cells, per, found = [], [], {}
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
        idx_list, f_list, v_list, counts = [], [], [], []
        for c in range(v.shape[1]):
            ok = ~np.isnan(v[:, c])
            idx_list.append(models.get_indexer(values.index[ok]))
            f_list.append(f[ok, c])
            v_list.append(v[ok, c])
            counts.append(pair_decision_error(f[ok, c], v[ok, c]))
        counts = np.array(counts).reshape(-1, 2)
        found[measure] = _Measure(
            RankUnits(idx_list, [[np.log(x) for x in f_list], v_list],
                      devices=np.array([device_of[c] for c in values.columns])),
            list(values.columns), idx_list, f_list, v_list)
        labels = [config_label(data.latency, c) for c in values.columns]
        per.append(pd.DataFrame({
            "measure": measure, "config": values.columns, "label": labels,
            "device_tier": configs.loc[values.columns, "device_tier"].to_numpy(),
            "n_models": n, "n_cases": np.nansum(disp >= threshold, axis=0),
            "pairs_wrong": counts[:, 0], "pairs_total": counts[:, 1],
            "spearman": column_pearson(rf, rm)}))
        row, col = np.nonzero(~np.isnan(v))
        cells.append(pd.DataFrame({
            "measure": measure, "config": values.columns[col], "label": np.asarray(labels)[col],
            "model": values.index[row], "flops_rank": rf[row, col], "measured_rank": rm[row, col],
            "n_models": n[col], "displacement": disp[row, col],
            "displacement_norm": disp[row, col] / np.maximum(n[col] - 1, 1),
            "case": disp[row, col] >= threshold}))
    cells_df = pd.concat(cells, ignore_index=True) if cells else pd.DataFrame()
    per_df = pd.concat(per, ignore_index=True) if per else pd.DataFrame()
    effect = _effect_table(data, per_df, cells_df, run_to_run_days, max(min_models, 5)) \
        if "latency" in found else pd.DataFrame()
    return DisagreementResult(
        cells=cells_df, per_config=per_df, effect=effect, measures=found,
        n_models=len(models), n_devices=len(device_names),
        parameters={"threshold": threshold, "measures": ",".join(measures), "reference": reference,
                    "min_models": min_models, "run_to_run_days": run_to_run_days,
                    "n_boot": n_boot, "leave_out": leave_out, "leave_out_draws": leave_out_draws,
                    "seed": seed})


__all__ = ["DisagreementResult", "cohens_d", "flops_disagreement", "pair_decision_error"]
