"""Predict the latency of a model measured nowhere, from its operator features.

The structure (chosen on the leave-family-out evidence in ``benchmarks/coldstart.py``):

1. **Anchor models.** Every stored configuration with at least ``min_anchor_models``
   measured models that have features gets its own regressor from log operator features to
   log latency. Per configuration because a GPU at batch 1024 and a CPU at batch 1 weigh the
   same operators very differently, and the timm configurations have 1,000+ models each,
   enough to learn that. The default ``learner="ensemble"`` is the log-space mean of three
   that err differently on a family they never saw: monotone xgboost trees; xgboost trees on
   the residual of a four-rate roofline log(C/P + traffic/W + weights/V + ops/K)
   (``roofline``; traffic = activation bytes read and written, C the per-operator roofline
   sum Σ max(FLOPs, R·traffic) at the traced ridge point R that fits the configuration); and
   a non-negative additive cost model per operator category with the costs of products that
   cannot fill a matrix unit and the per-operator roofline sums (``nnls``). Leave-family-out
   within ±10 % over the five timm configurations: 0.467 for the trees alone, 0.546 for the
   ensemble on features of the fused inference forms, with constant work apart and the bytes
   CUDA autocast moves beside the fp32 ones (0.502 before, with the same library versions;
   earlier steps: 0.465 before the traced reads and GEMM geometry, 0.498 before the roofline
   sums, on the versions of their day). A configuration that does not run under autocast
   learns without the autocast columns (:func:`runs_mixed_precision`). ``xgboost``, ``hgb``, ``blend`` (trees + nnls) and ``loglinear`` remain.
2. **Calibration for everything else.** A configuration with few models (an AI Hub phone,
   ~35 models) or a new device given as its k known measurements is predicted as
   ``a + b * anchor(x)`` in log space, for the anchors whose calibration explains its known
   models best (leave-one-out error), averaged with inverse-error weights over the best
   ``n_similar``. That is the shared feature model plus a per-configuration offset/slope.
3. **Intervals.** Conformal, on residuals of models the fit never saw. By default
   (``calibration_groups="family"``) cross-conformal over families: the whole fit is repeated
   once per family without it (a transformer predicted from the convnets), and each
   configuration's quantile is that of those leave-family-out absolute log residuals, so the
   per-family offset a cold-start model from an unseen family suffers is inside its interval
   (a random split of architectures covered only 0.83-0.88 of held-out families at 90 %
   nominal). ``"architecture"`` holds out a random ``calibration_fraction`` of the
   architectures (``resnet``, ``convnext``, ``vit``: all widths together) once;
   ``"model"`` single models. A configuration with too few held-out models takes its
   source's pooled quantile, and a new device gets the larger of its leave-one-out
   calibration residual quantile and its anchors' quantile.

Fitted state is plain JSON plus xgboost's own JSON (``save``/``load``); no pickles.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from sklearn.base import BaseEstimator

from collectors.features.amp import AMP_COLUMNS
from collectors.features.categories import CATEGORIES
from collectors.features.roofline import ROOFLINE_COLUMNS
from predictor.coldstart.design import (AMP_FEATURES, OPTIONAL_FEATURES, design, feature_column, join_features,
                                        per_image_traffic, row_keys)

__all__ = ["CALIBRATION_GROUPS", "ColdStartPredictor", "LEARNERS", "conformal_quantile", "runs_mixed_precision"]

LEARNERS = ("ensemble", "xgboost", "roofline", "hgb", "nnls", "blend", "loglinear")
CALIBRATION_GROUPS = ("family", "architecture", "model")
#: The additive model's cost terms: FLOPs, bytes written and kernel calls per category (what a
#: model saved before the later terms has), then the FLOPs of products that cannot fill a
#: matrix unit (not tile-aligned; narrow) and the activation bytes each category reads; each
#: may only add time; then the per-operator roofline sums (collectors.features.roofline), whose
#: non-negative rates let the fit say how memory-bound the configuration's operators are.
#: Leave-family-out within ±10 % over the five timm configurations, nnls alone: 0.398 (base
#: terms) -> 0.424 (+ GEMM) -> 0.449 (+ reads) -> 0.468 (+ roofline sums; i7 0.399 -> 0.486);
#: benchmarks/RESULTS-coldstart.md.
_ADDITIVE_BASE = [f"{s}_{c}" for s in ("flops", "bytes", "count") for c in CATEGORIES]
_ADDITIVE = [*_ADDITIVE_BASE, "flops_gemm_unaligned", "flops_gemm_narrow", *(f"reads_{c}" for c in CATEGORIES),
             *ROOFLINE_COLUMNS, *AMP_COLUMNS]
_GEMM_CATEGORIES = [c for c in CATEGORIES if c.startswith(("conv_", "linear_", "attention"))]


def _cost_terms(rows: pd.DataFrame, terms: list[str]) -> np.ndarray:
    """The ``terms`` columns of feature rows as floats; the unaligned GEMM FLOPs derived from
    the geometry columns, 0 (no extra cost) where a row was traced before they were recorded."""
    def column(name: str) -> pd.Series:
        if name == "flops_gemm_unaligned":
            products = sum(feature_column(rows, f"flops_{c}") for c in _GEMM_CATEGORIES)
            aligned = feature_column(rows, "flops_gemm_aligned") if "flops_gemm_aligned" in rows else products
            return (products - aligned).clip(lower=0)
        return feature_column(rows, name)
    return np.column_stack([column(t).fillna(0.0).to_numpy() for t in terms])


#: Operator features latency can only grow with (more work, more bytes, more kernels), all else
#: equal; constraining the trees to that extrapolates better to families they never saw
#: (leave-family-out on the RTX 4090: within ±10 % 0.32 -> 0.36 on the first 800 traced models).
_MONOTONE = ("log_flops", "log_bytes_", "log_reads_", "log_roof_", "log_count_", "log_activation_bytes",
             "log_weight_bytes", "log_n_ops", "log_amp_")


def conformal_quantile(residuals: np.ndarray, alpha: float) -> float:
    """Split-conformal quantile: the ceil((n+1)(1-alpha))-th smallest |residual| (inf when
    n is too small for that rank)."""
    r = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    r = r[np.isfinite(r)]
    rank = math.ceil((len(r) + 1) * (1 - alpha))
    return float(r[rank - 1]) if 0 < rank <= len(r) else float("inf")


class _Additive:
    """Latency = sum over categories of w·FLOPs + w·bytes + w·count (and the GEMM terms),
    w >= 0, fitted on relative error (each row divided by its latency). A roofline in
    disguise: it cannot bend, so it extrapolates to unseen families more soberly than trees.
    ``terms`` are kept with the coefficients, so a saved model reads back with its own."""

    def __init__(self, coef: np.ndarray | None = None, terms: list[str] | None = None):
        self.coef = coef
        self.terms = list(terms) if terms is not None else list(_ADDITIVE)

    def fit(self, rows: pd.DataFrame, ms: np.ndarray) -> _Additive:
        a = _cost_terms(rows, self.terms)
        scale = a.max(axis=0)
        scale[scale == 0] = 1.0
        aw = (a / scale) / ms[:, None]
        ridge = 1e-3 * np.eye(a.shape[1])
        coef, _ = nnls(np.vstack([aw, ridge]), np.concatenate([np.ones(len(ms)), np.zeros(a.shape[1])]))
        self.coef = coef / scale
        return self

    def predict_log(self, rows: pd.DataFrame) -> np.ndarray:
        return np.log(np.clip(_cost_terms(rows, self.terms) @ self.coef, 1e-12, None))


class _Roofline:
    """log latency = log(C/P + A/W + B/V + N/K): compute C at a peak rate, activation traffic
    (bytes read + written) at a bandwidth, parameter bytes at another (a GPU at batch 1024
    reads its weights once per 1024 images, a phone at batch 1 once per image) and operators
    at a launch cost, the rates fitted in log space (robust loss). C is the per-operator
    roofline sum at the traced ridge point that fits the configuration best (``roof_act_r<R>``
    = Σ max(FLOPs, R·traffic) per op: how much each op's arithmetic hides behind its own
    memory traffic, which totals cannot tell), or the FLOPs for rows traced before the sums;
    ``column`` says which.
    Four numbers and a choice, so it extrapolates to an unseen family as far as physics does;
    trees on its residual (``learner="roofline"``) learn what it misses. A model saved with
    three rates (before reads were traced: F, bytes written incl. parameters, N) is read back
    as such; one saved with four and no column used the FLOPs."""

    #: the roofline sums tried as the compute term, each bank with its own traffic: fp32
    #: bytes (``roof_act_``) and the bytes CUDA autocast moves (``roof_amp_``, with the
    #: autocast traffic; collectors.features.amp), whichever fits the configuration
    BANKS = ("roof_act_", "roof_amp_")

    def __init__(self, theta: np.ndarray | None = None, column: str = "flops"):
        self.theta = theta
        self.column = column

    @property
    def _three_rates(self) -> bool:
        """A model saved before reads were traced (or asked for with three starting rates)."""
        return self.theta is not None and len(self.theta) == 3

    def _terms(self, rows: pd.DataFrame, column: str | None = None) -> np.ndarray:
        flops, calls = feature_column(rows, "flops"), feature_column(rows, "n_ops")
        if self._three_rates:
            cols = [flops, sum(feature_column(rows, f"bytes_{c}") for c in CATEGORIES), calls]
        else:  # rows without reads count their writes only; without the roofline sums, FLOPs
            column = column or self.column
            # the sums on autocast traffic go with that traffic
            traffic = per_image_traffic(rows, autocast=column.startswith("roof_amp_"))
            compute = feature_column(rows, column).fillna(flops)
            cols = [compute, traffic, feature_column(rows, "weight_bytes"), calls]
        return np.log(np.clip(np.column_stack([np.asarray(c, dtype=float) for c in cols]), 1.0, None))

    def fit(self, rows: pd.DataFrame, ms: np.ndarray, banks: tuple[str, ...] | None = None) -> _Roofline:
        """The rates for each ridge point's roofline sum, lowest ridge first; the one that fits
        best (robust cost) is kept, and the search stops once two ridges in a row fit worse
        (on the 14 timm configurations the cost was lowest at ridge 4, once tied with 32, and
        rose from there; three fits take 0.08 s on an RTX 4090 anchor, all eight 0.28 s).
        Rows traced before the sums were recorded fit on FLOPs. FLOPs are not a candidate
        otherwise: the sums at a low ridge are the FLOPs of the compute-bound ops, and on the
        RTX 4090 the FLOPs fit the training families better and the unseen ones worse
        (leave-family-out within ±10 % 0.539 with FLOPs allowed, 0.557 without)."""
        from scipy.optimize import least_squares

        y = np.log(ms)
        best = None
        banks = [] if self._three_rates else [
            [c for c in ROOFLINE_COLUMNS if c.startswith(prefix) and feature_column(rows, c).notna().all()]
            for prefix in (banks or self.BANKS)]
        for bank in [b for b in banks if b] or [["flops"]]:
            bank_best, worse = np.inf, 0  # each bank searched on its own: ridges in order
            for column in bank:
                z = self._terms(rows, column)
                fit = least_squares(lambda th: np.logaddexp.reduce(z - th, axis=1) - y,
                                    np.median(z - y[:, None], axis=0), loss="soft_l1")
                if best is None or fit.cost < best[0]:
                    best = (fit.cost, fit.x, column)
                if fit.cost < bank_best:
                    bank_best, worse = fit.cost, 0
                elif (worse := worse + 1) == 2:
                    break
        _, self.theta, self.column = best
        return self

    def predict_log(self, rows: pd.DataFrame) -> np.ndarray:
        return np.logaddexp.reduce(self._terms(rows) - self.theta, axis=1)


class ColdStartPredictor(BaseEstimator):
    """Cold-start latency from operator features (see module docstring).

    ``feature_set``: ``operators`` (the traced features table), ``metadata`` (timm's
    GMACs/activations/params: pass the ``timm_macs`` table as ``features``; the issue's
    baseline) or ``flops`` (log FLOPs only). ``learner`` for the anchors: ``ensemble``
    (default: mean of xgboost, roofline and nnls in log space; operator features only),
    ``xgboost``, ``roofline`` (xgboost on the residual of a fitted four-rate roofline),
    ``hgb`` (scikit-learn HistGradientBoosting), ``nnls``, ``blend`` (mean of xgboost and
    nnls in log space) or ``loglinear`` (least squares on the features; the FLOPs-only
    baseline uses it). ``n_estimators``, ``learning_rate``, ``max_depth``, ``subsample``,
    ``colsample_bytree``, ``min_child_weight``, ``reg_lambda``: the trees (``hgb`` reads the
    first three and ``reg_lambda``, with 2**max_depth - 1 leaves). ``monotone``: xgboost trees
    non-decreasing in the work features (FLOPs, bytes, op counts per category). ``alpha``:
    1 - interval coverage. ``calibration_groups``: ``family`` (cross-conformal over
    ``matrix.models["family"]``), ``architecture`` or ``model`` (one split of
    ``calibration_fraction``).
    """

    def __init__(self, feature_set: str = "operators", learner: str = "ensemble", alpha: float = 0.1,
                 min_anchor_models: int = 150, n_similar: int = 3, n_estimators: int = 300,
                 learning_rate: float = 0.05, max_depth: int = 4, subsample: float = 0.8,
                 colsample_bytree: float = 0.6, min_child_weight: float = 3.0, reg_lambda: float = 1.0,
                 calibration_fraction: float = 0.2, calibration_groups: str = "family",
                 min_calibration_models: int = 10, monotone: bool = True, n_jobs: int = 2,
                 random_state: int = 0):
        self.feature_set = feature_set
        self.learner = learner
        self.alpha = alpha
        self.min_anchor_models = min_anchor_models
        self.n_similar = n_similar
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.calibration_fraction = calibration_fraction
        self.calibration_groups = calibration_groups
        self.min_calibration_models = min_calibration_models
        self.monotone = monotone
        self.n_jobs = n_jobs
        self.random_state = random_state

    # --- learners ------------------------------------------------------------------------------
    def _new_trees(self, names: list[str]):
        if self.learner in ("xgboost", "blend", "roofline", "ensemble"):
            import xgboost as xgb

            extra = {}
            if self.monotone:
                extra["monotone_constraints"] = tuple(int(n.startswith(_MONOTONE)) for n in names)
            return xgb.XGBRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                    max_depth=self.max_depth, subsample=self.subsample,
                                    colsample_bytree=self.colsample_bytree,
                                    min_child_weight=self.min_child_weight, reg_lambda=self.reg_lambda,
                                    tree_method="hist",
                                    n_jobs=self.n_jobs, random_state=self.random_state, **extra)
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=self.n_estimators, learning_rate=self.learning_rate,
                                             max_leaf_nodes=2 ** self.max_depth - 1, min_samples_leaf=10,
                                             l2_regularization=self.reg_lambda,
                                             random_state=self.random_state)

    def _fit_anchor(self, rows: pd.DataFrame, x: pd.DataFrame, ms: np.ndarray,
                    mixed_precision: bool = True) -> dict[str, Any]:
        """One configuration's learners. ``mixed_precision=False`` (a configuration that does not
        run under autocast, :func:`runs_mixed_precision`) leaves the autocast traffic out of all
        three: it describes another run than the one measured (on the two fp32 CPUs the trees
        and nnls only got noisier with it: i7 within ±10 % 0.611 -> 0.594)."""
        log_ms = np.log(ms)
        anchor: dict[str, Any] = {}
        terms, banks = list(_ADDITIVE), _Roofline.BANKS
        if not mixed_precision:
            amp = [c for c in x.columns if c in AMP_FEATURES or "roof_amp_" in c]
            x = x.drop(columns=amp)
            anchor["features"] = list(x.columns)
            terms = [t for t in terms if t not in AMP_COLUMNS and not t.startswith("roof_amp_")]
            banks = ("roof_act_",)
        if self.learner in ("nnls", "blend", "ensemble"):
            anchor["additive"] = _Additive(terms=terms).fit(rows, ms)
        if self.learner in ("xgboost", "hgb", "blend", "ensemble"):
            anchor["trees"] = self._new_trees(list(x.columns)).fit(x, log_ms)
        if self.learner in ("roofline", "ensemble"):
            anchor["roofline"] = _Roofline().fit(rows, ms, banks=banks)
            anchor["roofline_trees"] = self._new_trees(list(x.columns)).fit(
                x, log_ms, base_margin=anchor["roofline"].predict_log(rows))
        if self.learner == "loglinear":
            from sklearn.linear_model import Ridge

            anchor["linear"] = Ridge(alpha=1e-6).fit(x.fillna(0.0), log_ms)
        return anchor

    @staticmethod
    def _predict_anchor(anchor: dict[str, Any], rows: pd.DataFrame, x: pd.DataFrame) -> np.ndarray:
        if "features" in anchor:  # an anchor fitted on fewer columns (no autocast traffic)
            x = x[anchor["features"]]
        parts = []
        if "additive" in anchor:
            parts.append(anchor["additive"].predict_log(rows))
        if "trees" in anchor:
            parts.append(np.asarray(anchor["trees"].predict(x), dtype=float))
        if "roofline_trees" in anchor:
            margin = anchor["roofline"].predict_log(rows)
            parts.append(np.asarray(anchor["roofline_trees"].predict(x, base_margin=margin), dtype=float))
        if "linear" in anchor:
            parts.append(np.asarray(anchor["linear"].predict(x.fillna(0.0)), dtype=float))
        return np.mean(parts, axis=0)

    # --- fit -----------------------------------------------------------------------------------
    def _training_frame(self, matrix, features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Feature rows of the matrix rows (index: row label) and their design matrix."""
        rows = join_features(row_keys(matrix), features)
        x = design(rows, self.feature_set)
        # rows traced before the GEMM geometry and reads were recorded keep them missing (the
        # trees route missing values; the linear learner reads them as 0) rather than dropped
        ok = x.drop(columns=[c for c in OPTIONAL_FEATURES if c in x]).notna().all(axis=1)
        return rows[ok], x[ok]

    def _fit_core(self, values: pd.DataFrame, rows: pd.DataFrame, x: pd.DataFrame,
                  sources: pd.Series) -> dict[str, Any]:
        """Anchors on the big configurations, calibrations of the small ones onto them."""
        anchors, calib = {}, {}
        log_values = np.log(values)
        counts = values.notna().sum()
        chosen = list(counts.index[counts >= self.min_anchor_models]) or [counts.idxmax()]
        for config in chosen:  # a small store: its largest configuration anchors the rest
            y = values[config].dropna()
            anchors[config] = self._fit_anchor(rows.loc[y.index], x.loc[y.index], y.to_numpy(dtype=float),
                                               mixed_precision=runs_mixed_precision(config))
        base = pd.DataFrame({a: self._predict_anchor(m, rows, x) for a, m in anchors.items()}, index=rows.index)
        for config in values.columns:
            if config in anchors:
                continue
            y = log_values[config].dropna()
            if len(y) >= 3:
                calib[config] = self._calibrate(base.loc[y.index], y)
        return {"anchors": anchors, "calibrations": calib}

    def _calibrate(self, base: pd.DataFrame, log_y: pd.Series) -> list[dict[str, float]]:
        """For each anchor: log y = a + b·anchor by least squares (b fixed to 1 below 6 models)
        and its leave-one-out RMSE; the best ``n_similar`` with inverse-MSE weights."""
        fits = []
        yv = log_y.to_numpy(dtype=float)
        for anchor in base.columns:
            xv = base[anchor].to_numpy(dtype=float)
            a, b, loo = _line_fit(xv, yv)
            fits.append({"anchor": anchor, "a": a, "b": b, "loo_rmse": loo})
        fits.sort(key=lambda f: f["loo_rmse"])
        best = fits[: self.n_similar]
        w = np.array([1.0 / max(f["loo_rmse"], 1e-6) ** 2 for f in best])
        for f, wi in zip(best, w / w.sum()):
            f["weight"] = float(wi)
        return best

    def fit(self, matrix, features: pd.DataFrame) -> ColdStartPredictor:
        """Learn from every configuration of ``matrix`` (a ``LatencyMatrix``); ``features``
        is the features table (or the ``timm_macs`` table for ``feature_set="metadata"``)."""
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {LEARNERS}, got {self.learner!r}")
        if self.feature_set != "operators" and self.learner in ("ensemble", "roofline", "nnls", "blend"):
            raise ValueError(f"learner {self.learner!r} reads the operator features (FLOPs and bytes per "
                             f"category); with feature_set={self.feature_set!r} use xgboost, hgb or loglinear")
        rows, x = self._training_frame(matrix, features)
        if rows.empty:
            raise ValueError("no matrix row has features: trace them first (effbench features)")
        values = matrix.values.loc[rows.index]
        values = values.where(values > 0)
        values = values.loc[:, values.notna().sum() >= 3]
        sources = (matrix.configs["source"].reindex(values.columns).astype(str)
                   if "source" in matrix.configs else pd.Series("all", index=values.columns))
        self.feature_names_ = list(x.columns)
        self.configs_ = list(values.columns)
        self.sources_ = sources.to_dict()
        resid = self._calibration_residuals(matrix, values, rows, x, sources)
        self.quantiles_ = self._quantiles(resid, sources)
        self.calibration_residuals_ = resid
        core = self._fit_core(values, rows, x, sources)
        self.anchors_ = core["anchors"]
        self.calibrations_ = core["calibrations"]
        self.features_ = rows
        return self

    def _calibration_groups(self, matrix, rows: pd.DataFrame) -> tuple[str, pd.Series]:
        """(mode used, group label per row). ``family`` needs a ``family`` column in
        ``matrix.models`` with at least three families; otherwise architectures are used."""
        if self.calibration_groups not in CALIBRATION_GROUPS:
            raise ValueError(f"calibration_groups must be one of {CALIBRATION_GROUPS}, "
                             f"got {self.calibration_groups!r}")
        if self.calibration_groups == "family" and "family" in matrix.models:
            family = matrix.models["family"].reindex(rows.index).astype("string")
            # a model without a family is a group of its own architecture
            family = family.fillna(rows["model"].astype(str).map(lambda m: "arch:" + architecture_of(m)))
            if family.nunique() >= 3:
                return "family", family.astype(str)
        group_of = rows["model"].astype(str)
        if self.calibration_groups == "model":
            return "model", group_of
        return "architecture", group_of.map(architecture_of)

    def _calibration_residuals(self, matrix, values: pd.DataFrame, rows: pd.DataFrame, x: pd.DataFrame,
                               sources: pd.Series) -> pd.DataFrame:
        """Absolute log residuals of models predicted by a fit that never saw their group.

        ``family``: cross-conformal over families, every family held out in turn, so each
        configuration's quantile is that of leave-family-out errors: a cold-start model
        from an unseen family gets the per-family offset it will suffer inside its interval
        (the random architecture split covered 0.83-0.88 of held-out families at 90 %).
        ``architecture`` / ``model``: one split holding out a random ``calibration_fraction``
        of the groups."""
        mode, group_of = self._calibration_groups(matrix, rows)
        self.calibration_mode_ = mode
        if mode == "family":
            folds = [group_of.to_numpy() == g for g in sorted(group_of.unique())]
        else:
            rng = np.random.default_rng(self.random_state)
            groups = np.array(sorted(group_of.unique()))
            held = set(rng.choice(groups, size=max(1, int(round(self.calibration_fraction * len(groups)))),
                                  replace=False))
            folds = [group_of.isin(held).to_numpy()]
        resid = pd.DataFrame(np.nan, index=values.index, columns=values.columns)
        for cal in folds:
            if cal.all() or not cal.any():
                continue
            core = self._fit_core(values[~cal], rows[~cal], x[~cal], sources)
            pred = self._predict_core(core, rows[cal], x[cal], values.columns)
            resid.iloc[np.flatnonzero(cal)] = (np.log(values[cal]) - pred).abs().to_numpy()
        return resid[np.any(folds, axis=0)]

    def _quantiles(self, resid: pd.DataFrame, sources: pd.Series) -> dict[str, float]:
        out = {}
        pooled = {s: conformal_quantile(resid[sources.index[sources == s]].stack().to_numpy(), self.alpha)
                  for s in sources.unique()}
        for config in resid.columns:
            r = resid[config].dropna().to_numpy()
            q = conformal_quantile(r, self.alpha) if len(r) >= self.min_calibration_models else float("inf")
            out[config] = q if math.isfinite(q) else pooled[sources[config]]
        return out

    # --- predict -------------------------------------------------------------------------------
    def _predict_core(self, core: dict[str, Any], rows: pd.DataFrame, x: pd.DataFrame,
                      configs) -> pd.DataFrame:
        base = pd.DataFrame({a: self._predict_anchor(m, rows, x) for a, m in core["anchors"].items()},
                            index=rows.index)
        out = pd.DataFrame(index=rows.index, columns=list(configs), dtype=float)
        for config in configs:
            if config in base:
                out[config] = base[config]
            elif config in core["calibrations"]:
                out[config] = _apply(core["calibrations"][config], base)
        return out

    def _rows(self, features_rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        rows = features_rows.reset_index(drop=True)
        x = design(rows, self.feature_set)[self.feature_names_]
        return rows, x

    def predict(self, features_rows: pd.DataFrame, target: str | pd.Series | Mapping[str, float],
                exclude_configs: set[str] | None = None) -> pd.DataFrame:
        """Latency of the models in ``features_rows`` (feature-table rows) on ``target``: a
        stored configuration id, or a new configuration given as its known measurements
        (model → ms; the models need features, in ``features_rows`` or seen in ``fit``), then
        calibrated onto the anchors not in ``exclude_configs`` (e.g. the same device's).
        Returns (model, input_size, pred_ms, low_ms, high_ms)."""
        rows, x = self._rows(features_rows)
        base = pd.DataFrame({a: self._predict_anchor(m, rows, x) for a, m in self.anchors_.items()},
                            index=rows.index)
        if isinstance(target, str):
            if target in self.anchors_:
                log_pred = base[target].to_numpy()
            elif target in self.calibrations_:
                log_pred = _apply(self.calibrations_[target], base)
            else:
                raise ValueError(f"unknown configuration {target!r}: not among the {len(self.configs_)} "
                                 "fitted ones (give its known measurements instead)")
            q = self.quantiles_[target]
        else:
            calib, q = self.calibrate_new(pd.Series(target, dtype=float), features_rows, exclude_configs)
            log_pred = _apply(calib, base)
        pred = np.exp(log_pred)
        return pd.DataFrame({"model": rows["model"].astype(str), "input_size": rows["input_size"].astype("Int64"),
                             "pred_ms": pred, "low_ms": pred * math.exp(-q), "high_ms": pred * math.exp(q)})

    def calibrate_new(self, known: pd.Series, extra_rows: pd.DataFrame | None = None,
                      exclude_configs: set[str] | None = None) -> tuple[list[dict[str, float]], float]:
        """Calibration of a new configuration onto the anchors from its known models
        (index: model name or matrix row label), and its interval half-width in log space."""
        known = known[known > 0].dropna()
        pool = self.features_
        if extra_rows is not None and len(extra_rows):
            pool = pd.concat([extra_rows.reset_index(drop=True), pool], ignore_index=False)
        by_label = {str(i): i for i in self.features_.index}
        picked, ys = [], []
        for label, ms in known.items():
            if str(label) in by_label:
                picked.append(self.features_.loc[[by_label[str(label)]]])
            else:
                hit = pool[pool["model"].astype(str) == str(label)]
                if not len(hit):
                    continue
                picked.append(hit.iloc[[0]])
            ys.append(math.log(ms))
        if len(picked) < 2:
            raise ValueError(f"a new configuration needs >= 2 known models with features, got {len(picked)}")
        rows = pd.concat(picked).reset_index(drop=True)
        x = design(rows, self.feature_set)[self.feature_names_]
        anchors = {a: m for a, m in self.anchors_.items() if a not in (exclude_configs or ())}
        if not anchors:
            raise ValueError("every anchor configuration is excluded; nothing to calibrate onto")
        base = pd.DataFrame({a: self._predict_anchor(m, rows, x) for a, m in anchors.items()})
        calib = self._calibrate(base, pd.Series(ys))
        loo = [_loo_residuals(base[f["anchor"]].to_numpy(), np.array(ys)) for f in calib]
        resid = np.abs(np.sum([f["weight"] * r for f, r in zip(calib, loo)], axis=0))
        q_anchor = max(self.quantiles_.get(f["anchor"], 0.0) for f in calib)
        q = conformal_quantile(resid, self.alpha)
        return calib, float(max(q if math.isfinite(q) else 1.5 * float(resid.max()), q_anchor))

    # --- persistence ---------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``state.json`` (config, calibrations, quantiles, additive coefficients,
        roofline rates, features seen) and xgboost's JSON boosters of each anchor into ``folder``."""
        if self.learner == "hgb" or self.learner == "loglinear":
            raise ValueError(f"learner {self.learner!r} has no version-stable format; use ensemble, xgboost, "
                             "roofline, nnls or blend")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        anchors = {}
        for i, (config, anchor) in enumerate(self.anchors_.items()):
            entry: dict[str, Any] = {}
            if "features" in anchor:
                entry["features"] = anchor["features"]
            if "additive" in anchor:
                entry["additive"] = anchor["additive"].coef.tolist()
                entry["additive_terms"] = anchor["additive"].terms
            if "trees" in anchor:
                entry["trees"] = f"anchor-{i}.json"
                anchor["trees"].get_booster().save_model(str(folder / entry["trees"]))
            if "roofline" in anchor:
                entry["roofline"] = anchor["roofline"].theta.tolist()
                entry["roofline_column"] = anchor["roofline"].column
                entry["roofline_trees"] = f"anchor-{i}-roofline.json"
                anchor["roofline_trees"].get_booster().save_model(str(folder / entry["roofline_trees"]))
            anchors[config] = entry
        state = {"params": self.get_params(), "feature_names": self.feature_names_, "configs": self.configs_,
                 "sources": self.sources_, "quantiles": self.quantiles_, "calibrations": self.calibrations_,
                 "anchors": anchors, "features": json.loads(self.features_.reset_index(names="row")
                                                             .to_json(orient="records"))}
        (folder / "state.json").write_text(json.dumps(state))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ColdStartPredictor:
        import xgboost as xgb

        folder = Path(folder)
        state = json.loads((folder / "state.json").read_text())
        self = cls(**state["params"])
        self.feature_names_ = state["feature_names"]
        self.configs_ = state["configs"]
        self.sources_ = state["sources"]
        self.quantiles_ = {k: float(v) for k, v in state["quantiles"].items()}
        self.calibrations_ = state["calibrations"]
        self.anchors_ = {}
        for config, entry in state["anchors"].items():
            anchor: dict[str, Any] = {}
            if "features" in entry:
                anchor["features"] = list(entry["features"])
            if "additive" in entry:
                # a file written before the GEMM terms has the base terms only
                anchor["additive"] = _Additive(np.array(entry["additive"], dtype=float),
                                               entry.get("additive_terms", _ADDITIVE_BASE))
            for key in ("trees", "roofline_trees"):
                if key in entry:
                    booster = xgb.XGBRegressor()
                    booster.load_model(str(folder / entry[key]))
                    anchor[key] = booster
            if "roofline" in entry:
                anchor["roofline"] = _Roofline(np.array(entry["roofline"], dtype=float),
                                               entry.get("roofline_column", "flops"))
            self.anchors_[config] = anchor
        self.features_ = pd.DataFrame(state["features"]).set_index("row")
        return self


#: Precisions that run under mixed precision (autocast): where the autocast traffic is what moves.
MIXED_PRECISIONS = ("amp", "fp16", "float16", "half", "mixed")


def runs_mixed_precision(config: str) -> bool:
    """Whether a configuration id (``device|runtime|precision|...``) runs under autocast."""
    parts = str(config).split("|")
    return len(parts) > 2 and parts[2].strip().lower() in MIXED_PRECISIONS


def architecture_of(model: str) -> str:
    """The architecture a model name belongs to: its leading letters after timm's old
    weight-source prefixes (``tf_efficientnet_b3`` → ``efficientnet``, ``vit_base_patch16_224``
    → ``vit``, ``resnet50d`` → ``resnet``)."""
    from models_registry.families import SOURCE_PREFIXES

    name = model.lower()
    for prefix in SOURCE_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    match = re.match(r"[a-z]+", name)
    return match.group(0) if match else name


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(a, b, leave-one-out RMSE) of y = a + b x; slope 1 (offset only) below 6 points or
    when the fitted slope leaves [0.5, 1.5]."""
    n = len(y)
    if n >= 6 and np.ptp(x) > 0:
        b, a = np.polyfit(x, y, 1)
        if 0.5 <= b <= 1.5:
            return float(a), float(b), float(np.sqrt(np.mean(_loo_residuals(x, y) ** 2)))
    a = float(np.mean(y - x))
    return a, 1.0, float(np.sqrt(np.mean(_loo_residuals(x, y, slope=False) ** 2)))


def _loo_residuals(x: np.ndarray, y: np.ndarray, slope: bool | None = None) -> np.ndarray:
    """Leave-one-out residuals of the line (or offset-only) fit, closed form."""
    n = len(y)
    if slope is None:
        slope = n >= 6 and np.ptp(x) > 0 and 0.5 <= np.polyfit(x, y, 1)[0] <= 1.5
    if not slope:
        d = y - x
        return (d - d.mean()) * n / (n - 1) if n > 1 else d
    a = np.vstack([np.ones(n), x]).T
    h = np.einsum("ij,jk,ik->i", a, np.linalg.pinv(a.T @ a), a)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    return (y - a @ coef) / np.clip(1 - h, 1e-6, None)


def _apply(calib: list[dict[str, float]], base: pd.DataFrame) -> np.ndarray:
    return np.sum([f["weight"] * (f["a"] + f["b"] * base[f["anchor"]].to_numpy(dtype=float)) for f in calib],
                  axis=0)
