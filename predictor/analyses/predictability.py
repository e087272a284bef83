"""How well can latency on an unseen device be predicted, per model family, and does KRT work?

* MAPE per family for the best method of a :func:`predictor.evaluation.evaluate` run
  (leave-one-device-out) at the headline k — the study: 5.2 % for standard CNNs to 23.4 % for
  transformers. The CI resamples models × devices from the evaluation's per-model errors.
* The KRT claim ("ratio transfer fails, r² < 0.5") is tested with the method the study names:
  **plain KRT** — one known model (k = 1), the best single source with no preference for the
  target's own runtime|precision. effbench's KRT (same-setup sources first) is fitted on the
  same targets and the same known models and reported beside it. r² is on *log* latency of the
  models not given to KRT, 1 − Σ(log y − log ŷ)² / Σ(log y − mean log y)², averaged over
  (target, draw); CI over models × devices.
* MAPE vs k per target tier, which ``effbench recommend`` uses to pick how many target
  measurements to spend.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from predictor.analyses._base import UNTESTABLE, AnalysisResult, Finding
from predictor.analyses._data import StudyData, model_column
from predictor.analyses._registry import register_analysis
from predictor.analyses._resample import (LEAVE_OUT, LEAVE_OUT_DRAWS, N_BOOT, resample,
                                          unit_device_weights, weighted_mean)
from predictor.metrics import mean_ci

KRT_VARIANTS = ("plain", "effbench")


def _krt_params(variant: str) -> dict[str, Any]:
    """KRTTransfer keywords for the study's plain KRT (every source competes: no preference for
    the target's runtime|precision) and for effbench's default; spelled as the installed
    KRTTransfer spells its same-setup option (``same_setup=`` or the older boolean)."""
    from predictor.methods import KRTTransfer

    params = inspect.signature(KRTTransfer.__init__).parameters
    if variant == "effbench":
        return {}
    if "same_setup" in params:
        return {"same_setup": "ignore"}
    if "prefer_same_setup" in params:
        return {"prefer_same_setup": False}
    return {}


def log_r2(true, pred) -> float:
    """r² of predicted vs measured log latency (1 − SS_res/SS_tot, may be negative)."""
    lt, lp = np.log(np.asarray(true, float)), np.log(np.asarray(pred, float))
    ss_tot = ((lt - lt.mean()) ** 2).sum()
    return float(1 - ((lt - lp) ** 2).sum() / ss_tot) if ss_tot > 0 else float("nan")


@dataclass
class _Padded:
    """Units (rows) over models (padded columns) with one or two value arrays."""
    idx: np.ndarray
    pad: np.ndarray
    a: np.ndarray
    b: np.ndarray
    devices: np.ndarray
    weight: np.ndarray

    @classmethod
    def build(cls, idx, a, b, devices, weight=None) -> "_Padded":
        width = max(len(i) for i in idx)
        u = len(idx)
        out = cls(np.zeros((u, width), int), np.ones((u, width), bool), np.zeros((u, width)),
                  np.zeros((u, width)), np.asarray(devices, int).reshape(u, -1),
                  np.ones(u) if weight is None else np.asarray(weight, float))
        for r, i in enumerate(idx):
            k = len(i)
            out.idx[r, :k], out.pad[r, :k] = i, False
            out.a[r, :k], out.b[r, :k] = a[r], b[r]
        return out

    def w(self, row: np.ndarray) -> np.ndarray:
        return np.where(self.pad, 0.0, row[self.idx])


def _r2_stat(p: _Padded):
    """Mean weighted log r² over units, per replicate (a = log true, b = log predicted)."""
    def fn(wm, wd):
        wm = np.atleast_2d(wm)
        vals = np.empty((len(wm), len(p.weight)))
        for r, row in enumerate(wm):
            w = p.w(row)
            tot = w.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (w * p.a).sum(axis=1) / tot
                ss_tot = (w * (p.a - mean[:, None]) ** 2).sum(axis=1)
                ss_res = (w * (p.a - p.b) ** 2).sum(axis=1)
                vals[r] = np.where((ss_tot > 1e-12) & ((w > 0).sum(axis=1) >= 3),
                                   1 - ss_res / ss_tot, np.nan)
        return weighted_mean(vals, unit_device_weights(wd, p.devices, len(wm)) * p.weight[None, :])
    return fn


def _mape_stat(p: _Padded, n_devices: int):
    """MAPE (%): mean over devices of the mean over the device's targets of the weighted mean
    absolute percentage error (``a``) of its models; per replicate."""
    dev = p.devices[:, 0]

    def fn(wm, wd):
        wm = np.atleast_2d(wm)
        out = np.empty(len(wm))
        for r, row in enumerate(wm):
            w = p.w(row)
            tot = w.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_target = np.where(tot > 0, (w * p.a).sum(axis=1) / tot, np.nan)
            ok = np.isfinite(per_target)
            num = np.bincount(dev[ok], per_target[ok], minlength=n_devices)
            cnt = np.bincount(dev[ok], minlength=n_devices)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_dev = np.where(cnt > 0, num / cnt, np.nan)
            dw = wd[r] if wd is not None else np.ones(n_devices)
            out[r] = weighted_mean(per_dev[None, :], dw[None, :])[0]
        return out
    return fn


def krt_predictions(matrix, n_draws: int = 3, seed: int = 0, min_models: int = 4) -> pd.DataFrame:
    """Leave-one-device-out KRT at k = 1, plain and effbench's, on the same known models.

    One row per (variant, target, draw, unknown model): log true and log predicted ms.
    """
    from predictor.design import make_design, target_vector
    from predictor.methods import KRTTransfer

    rng = np.random.default_rng(seed)
    configs = matrix.configs
    rows = []
    takes_target = "target" in inspect.signature(KRTTransfer.fit).parameters
    variants = {v: _krt_params(v) for v in KRT_VARIANTS}
    for target in matrix.values.columns:
        device = str(configs.at[target, "device"])
        try:
            X = make_design(matrix, target, exclude_devices=[device])
        except ValueError:
            continue
        y = target_vector(matrix, target)
        y = y[y.index.isin(X.index)]
        if len(y) < min_models or X.shape[1] == 0:
            continue
        for draw in range(n_draws):
            known = y.index[[rng.integers(len(y))]]
            unknown = y.index.difference(known)
            for variant, params in variants.items():
                est = KRTTransfer(intervals=False, **params)
                try:
                    est.fit(X, y.loc[known], **({"target": target} if takes_target else {}))
                    pred = np.asarray(est.predict(X.loc[unknown]), float)
                except ValueError:
                    continue
                ok = np.isfinite(pred) & (pred > 0)
                rows.append(pd.DataFrame({"variant": variant, "target": target, "device": device,
                                          "draw": draw, "model": unknown[ok],
                                          "log_true": np.log(y.loc[unknown].to_numpy()[ok]),
                                          "log_pred": np.log(pred[ok])}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["variant", "target", "device", "draw", "model", "log_true", "log_pred"])


@dataclass
class PredictabilityResult(AnalysisResult):
    name = "predictability"
    evaluation: Any = None
    k: int = 0
    best_method: str = ""
    krt: pd.DataFrame = field(default_factory=pd.DataFrame)
    models: pd.Index = field(default_factory=pd.Index)
    devices: pd.Index = field(default_factory=pd.Index)
    configs: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    families: pd.Series = field(default_factory=pd.Series, repr=False)

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

    def _resample(self, fn, n: int, bounds: tuple[float, float]) -> Finding:
        p = self.parameters
        return Finding.from_resampled(resample(
            fn, len(self.models), len(self.devices), n_boot=p.get("n_boot", N_BOOT),
            leave_out=p.get("leave_out", LEAVE_OUT),
            leave_out_draws=p.get("leave_out_draws", LEAVE_OUT_DRAWS), seed=p.get("seed", 0), n=n,
            bounds=bounds))

    def _krt_finding(self, variant: str) -> Finding:
        sel = self.krt[self.krt["variant"] == variant] if len(self.krt) else self.krt
        if sel.empty:
            return Finding(None, basis=UNTESTABLE, basis_note="no target KRT could be fitted on")
        units = list(sel.groupby(["target", "draw"], sort=True))
        n_draws = sel.groupby("target")["draw"].nunique()
        p = _Padded.build([self.models.get_indexer(g["model"]) for _, g in units],
                          [g["log_true"].to_numpy() for _, g in units],
                          [g["log_pred"].to_numpy() for _, g in units],
                          [self.devices.get_loc(g["device"].iloc[0]) for _, g in units],
                          [1.0 / n_draws[t] for (t, _), _ in units])
        what = ("plain KRT: best single source, no same-setup preference" if variant == "plain"
                else "effbench KRT: sources of the target's runtime|precision first")
        f = self._resample(_r2_stat(p), sel["target"].nunique(), (-np.inf, 1.0))
        return replace(f, method=f"{what}; k = 1, leave-one-device-out, log r² of the models "
                                 f"not given, mean over {sel['target'].nunique()} targets")

    def _family_findings(self) -> dict[str, Finding]:
        pred = self.evaluation.predictions if self.evaluation is not None else pd.DataFrame()
        if pred.empty or not self.best_method:
            return {}
        p = pred[(pred["method"].astype(str) == self.best_method) & (pred["k"] == self.k)
                 & ~pred["known"].astype(bool)]
        p = p.assign(ape=100 * (p["pred_ms"] - p["true_ms"]).abs() / p["true_ms"],
                     target=p["target"].astype(str), model=p["model"].astype(str))
        cell = p.groupby(["target", "model"], observed=True)["ape"].mean().reset_index()
        cell["family"] = cell["model"].map(self.families).astype(object).fillna("unknown")
        cell["device"] = cell["target"].map(self.configs["device"].astype(str))
        out = {}
        for fam, grp in cell.groupby("family"):
            units = list(grp.groupby("target", sort=True))
            pad = _Padded.build([self.models.get_indexer(g["model"]) for _, g in units],
                                [g["ape"].to_numpy() for _, g in units],
                                [g["ape"].to_numpy() for _, g in units],
                                [self.devices.get_loc(g["device"].iloc[0]) for _, g in units])
            f = self._resample(_mape_stat(pad, len(self.devices)), grp["device"].nunique(),
                               (0.0, np.inf))
            out[f"mape_{fam}"] = replace(f, method=(
                f"{self.best_method}, k = {self.k}, leave-one-device-out; MAPE % of the models "
                f"not given, mean over {grp['device'].nunique()} held-out devices"))
        return out

    def _findings(self) -> dict[str, Finding]:
        out = self._family_findings()
        out["krt_log_r2"] = self._krt_finding("plain")
        out["krt_log_r2_effbench"] = self._krt_finding("effbench")
        if self.evaluation is not None and self.best_method:
            e = self.evaluation.estimate(self.best_method, self.k, "mape")
            if np.isfinite(e.value):
                out["mape_all"] = Finding(e, "held-out devices (the evaluation's CI)",
                                          method=f"{self.best_method}, k = {self.k}")
        return out

    def evidence(self) -> dict:
        ev = super().evidence()
        ev["per_family"] = self.per_family().to_dict(orient="records")
        ev["k_curve"] = self.k_curve().to_dict(orient="records")
        ev["best_method"] = self.best_method
        ev["k"] = self.k
        return ev

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"family_mape": self.per_family(), "k_curve": self.k_curve(),
                "predictability_findings": self.findings_frame()}

    def figures(self) -> dict:
        from predictor.analyses import plots
        fam = self.per_family()
        return {"family_error": plots.family_figure(fam, self.best_method)} if len(fam) else {}


@register_analysis("predictability", result=PredictabilityResult)
def predictability(data: StudyData, methods=("krt", "rank"), protocol: str = "lodo",
                   ks=(0, 5), n_draws: int = 2, k: int | None = None, intervals: bool = False,
                   n_jobs: int = 1, evaluation=None, krt_draws: int = 3, n_boot: int = N_BOOT,
                   leave_out: float = LEAVE_OUT, leave_out_draws: int = LEAVE_OUT_DRAWS,
                   seed: int = 0) -> PredictabilityResult:
    """Run (or take) an evaluation; summarise error by family and by k; test KRT as the study
    states it (plain, k = 1) with effbench's KRT beside it.

    ``intervals`` defaults to False: no claim here needs prediction intervals, and their
    conformal calibration is most of an evaluation's cost.
    """
    if evaluation is None:
        from predictor.evaluation import evaluate
        evaluation = evaluate(data.latency, list(methods), protocol=protocol, ks=list(ks),
                              n_draws=n_draws, intervals=intervals, n_jobs=n_jobs)
    k = int(evaluation.headline_k() if k is None else k)
    best = evaluation.best_method(k, metric="mape") or ""
    matrix = data.latency
    return PredictabilityResult(
        evaluation=evaluation, k=k, best_method=best,
        krt=krt_predictions(matrix, n_draws=krt_draws, seed=seed),
        models=pd.Index(matrix.values.index.astype(str)),
        devices=pd.Index(sorted(matrix.configs["device"].astype(str).unique())),
        configs=matrix.configs, families=model_column(matrix, "family").rename(
            index=str),
        parameters={"methods": ",".join(methods), "protocol": protocol,
                    "ks": ",".join(map(str, ks)), "n_draws": n_draws, "intervals": intervals,
                    "krt_draws": krt_draws, "n_boot": n_boot, "leave_out": leave_out,
                    "leave_out_draws": leave_out_draws, "seed": seed})


__all__ = ["PredictabilityResult", "krt_predictions", "log_r2", "predictability"]
