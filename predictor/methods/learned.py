"""Learned transfer: a regressor that corrects a similarity-weighted ensemble of source devices.

Assumptions (what makes it generalise to a device never seen): how much a target resembles each
source configuration is *measured*, not remembered. For a target with k known models every source
gets an offset (mean log ratio) and a dissimilarity score (shrunk variance of the log ratio over the
known models, plus a small penalty on the offset's size at small k, plus ``setup_penalty`` when its
runtime|precision differs from the target's: a new device's runtime and precision are known). The
base prediction is the 1/score-weighted mean of the ``n_top`` most similar sources' ratio
predictions. The regressor learns, from *relative* features only (top-1/top-3/all-source
predictions minus the base, their spread, the model's size on a typical source, log FLOPs/params,
k), the residual log latency; it is pre-trained (``fit_source``) with every source configuration
as pseudo-target (its whole device removed from the sources; k known models drawn for several
k), so no feature names a particular device. ``fit`` then measures the similarities on the k known
target models and subtracts the median remaining residual on them (calibration). Warm-started fits
skip pre-training, so a trained predictor answers a new device in milliseconds.

Intervals: pseudo-targets are scored by a regressor cross-fitted on the other device groups, so a
pseudo-target never calibrates a model that saw it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from predictor.design import config_of, device_of, source_columns
from predictor.methods.base import (TransferMethod, dump_json, load_json, log_sources, nanmedian,
                                    setup_of, source_block, store_params)
from predictor.methods.krt import first_available, ratio_evidence, setup_penalty
from predictor.methods.registry import register_method

FEATURES = ("d_top1", "d_top3", "d_all", "spread", "size", "best_score", "log_flops", "log_params", "log_k")
PRETRAIN_KS = (1, 3, 5, 10)


def source_stats(L: np.ndarray, known: np.ndarray, y_log: np.ndarray, columns: list[str] | np.ndarray,
                 target: str | None, *, tau: float = 2.0, prior_var: float = 0.02,
                 offset_weight: float = 0.05, setup_weight: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per source: (log offset, dissimilarity score); score is inf where the source measured none
    of the known models."""
    offset, var, n = ratio_evidence(L, known, y_log, center="mean")
    dof = np.clip(n - 1, 0, None)
    d2 = (np.nan_to_num(var) * dof + tau * prior_var) / (dof + tau)
    score = d2 + offset_weight * np.nan_to_num(offset) ** 2 / np.maximum(n, 1)
    penalty = (setup_penalty(columns, target) if isinstance(columns, list)
               else (columns != setup_of(target or "")).astype(float))  # columns: setups, precomputed
    score = score + setup_weight * penalty
    return offset, np.where(n >= 1, score, np.inf)


def ensemble(L: np.ndarray, offset: np.ndarray, score: np.ndarray, n_top: int,
             log_k: float, medians: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(base log prediction, relative feature matrix) for every row of L."""
    order = np.argsort(score, kind="stable")
    order = order[np.isfinite(score[order])]
    P = L[:, order] + offset[order]
    top = P[:, :n_top]
    w = np.where(np.isnan(top), 0.0, 1.0 / score[order[:n_top]])
    wsum = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        base = np.where(wsum > 0, np.nansum(np.nan_to_num(top) * w, axis=1) / wsum, np.nan)
        first = first_available(P)
        base = np.where(np.isnan(base), first, base)
        top3 = np.nanmean(P[:, :3], axis=1)
        every = np.nanmean(P, axis=1)
        spread = np.sqrt(np.where(wsum > 0, np.nansum(w * (np.nan_to_num(top) - base[:, None]) ** 2, axis=1)
                                  / np.where(wsum > 0, wsum, 1), np.nan))
        size = np.nanmean(L - medians, axis=1)  # the model's size on a typical source
    best = score[order[0]] if len(order) else np.nan
    F = np.column_stack([first - base, top3 - base, every - base, spread, size,
                         np.full(len(L), best), np.full(len(L), log_k)])
    return base, F


def _model_features(X: pd.DataFrame) -> np.ndarray:
    out = []
    for column in ("flops", "params"):
        v = X[column].to_numpy(dtype=float, na_value=np.nan) if column in X else np.full(len(X), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(v)
        out.append(np.where(np.isfinite(v), v, np.nan))
    return np.column_stack(out)


def _assemble(F: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Relative features + model features in FEATURES order."""
    return np.column_stack([F[:, :6], model, F[:, 6:]])


class _LearnedTransfer(TransferMethod):
    """Shared machinery of the learned methods; subclasses provide the regressor."""

    # -- regressor hooks -------------------------------------------------------------
    def _new_regressor(self):
        raise NotImplementedError

    def _fit_regressor(self, reg, F: pd.DataFrame, r: np.ndarray, family: pd.Series):
        reg.fit(F.to_numpy(), r)
        return reg

    def _predict_regressor(self, reg, F: pd.DataFrame, family: pd.Series) -> np.ndarray:
        return reg.predict(F.to_numpy())

    def _stats_kw(self) -> dict:
        return {"setup_weight": self.setup_weight, "offset_weight": self.offset_weight}

    # -- stage 1 ---------------------------------------------------------------------
    def _training_rows(self, X: pd.DataFrame, cols: list[str], rng: np.random.Generator
                       ) -> tuple[pd.DataFrame, np.ndarray, pd.Series, np.ndarray]:
        """Rows (features, residual target, family, pseudo-target device) with every source
        configuration as pseudo-target, its device's configurations removed from the sources."""
        L_all = log_sources(X, cols)
        model = _model_features(X)
        family = (X["family"].astype(str) if "family" in X else pd.Series("", index=X.index)).to_numpy()
        devices = np.array([device_of(config_of(c)) for c in cols])
        setups = np.array([setup_of(config_of(c)) for c in cols])
        feats, targets, fams, devs = [], [], [], []
        for j, p in enumerate(cols):
            keep = devices != devices[j]
            if not keep.any():
                continue
            y = L_all[:, j]
            Lk = L_all[:, keep]
            medians = nanmedian(Lk, axis=0)
            observed = np.flatnonzero(~np.isnan(y) & ~np.isnan(Lk).all(axis=1))
            for k in PRETRAIN_KS:
                if len(observed) < k + 3:
                    continue
                for _ in range(int(self.pretrain_draws)):
                    known = rng.choice(observed, size=k, replace=False)
                    unknown = np.setdiff1d(observed, known)
                    offset, score = source_stats(Lk, known, y[known], setups[keep], config_of(p),
                                                 **self._stats_kw())
                    base, F = ensemble(Lk[unknown], offset, score, self.n_top, np.log(k), medians)
                    feats.append(_assemble(F, model[unknown]))
                    targets.append(y[unknown] - base)
                    fams.append(family[unknown])
                    devs.append(np.full(len(unknown), devices[j]))
        if not feats:
            return pd.DataFrame(columns=FEATURES), np.array([]), pd.Series(dtype=str), np.array([])
        F = pd.DataFrame(np.vstack(feats), columns=FEATURES)
        r = np.concatenate(targets)
        ok = np.isfinite(r)
        return (F[ok].reset_index(drop=True), r[ok], pd.Series(np.concatenate(fams)[ok]),
                np.concatenate(devs)[ok])

    def _fit_source(self, X: pd.DataFrame) -> None:
        cols = source_columns(X)
        rng = np.random.default_rng(self.random_state)
        F, r, fam, dev = self._training_rows(X, cols, rng)
        self.source_model_ = self._fit_regressor(self._new_regressor(), F, r, fam) if len(r) else None
        self.fold_models_ = {}
        if self.intervals and len(r):
            # Cross-fitting for the conformal pseudo-targets: the model that scores a pseudo-target
            # never had that device's configurations as training targets.
            devices = sorted(set(dev))
            groups = {d: i % self.n_folds for i, d in enumerate(rng.permutation(devices))}
            group_of = np.array([groups[d] for d in dev])
            for g in range(self.n_folds):
                train = group_of != g
                model = (self._fit_regressor(self._new_regressor(), F[train].reset_index(drop=True),
                                             r[train], fam[train].reset_index(drop=True))
                         if train.any() else None)
                for d, gg in groups.items():
                    if gg == g:
                        self.fold_models_[d] = model

    def _pseudo_estimator(self, pseudo_target: str) -> TransferMethod:
        est = clone(self).set_params(intervals=False, warm_start=True)
        est.source_model_ = self.fold_models_.get(device_of(config_of(pseudo_target)))
        est._frozen_source = True  # the fold model is relative: valid for any set of sources
        return est

    # -- stage 2 ---------------------------------------------------------------------
    def _features(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        L = log_sources(X, self.source_columns_)
        base, F = ensemble(L, self.offsets_, self.scores_, self.n_top, np.log(max(self.n_known_, 1)),
                           self.source_medians_)
        return base, pd.DataFrame(_assemble(F, _model_features(X)), columns=FEATURES, index=X.index)

    def _correction(self, X: pd.DataFrame, F: pd.DataFrame) -> np.ndarray:
        if self.source_model_ is None:
            return np.zeros(len(X))
        family = X["family"].astype(str) if "family" in X else pd.Series("", index=X.index)
        return np.nan_to_num(self._predict_regressor(self.source_model_, F, family))

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        cols, L, known = source_block(X, y_log)
        self.source_columns_ = cols
        self.source_medians_ = nanmedian(L, axis=0)
        self.offsets_, self.scores_ = source_stats(L, known, y_log.to_numpy(), cols, self.target_,
                                                   **self._stats_kw())
        self.offsets_ = np.nan_to_num(self.offsets_)
        Xk = X.iloc[known]
        base, F = self._features(Xk)
        resid = y_log.to_numpy() - base - self._correction(Xk, F)
        self.calibration_ = float(nanmedian(resid)) if np.isfinite(resid).any() else 0.0

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        base, F = self._features(X)
        return base + self._correction(X, F) + self.calibration_

    # -- persistence -----------------------------------------------------------------
    def save_extra(self, directory: Path) -> None:
        """The regressor, and the cross-fitted fold regressors, so that a loaded predictor
        calibrates intervals for a new k exactly as the one that was trained."""
        if self.source_model_ is not None:
            self._save_regressor(self.source_model_, directory)
        folds: dict[str, int] = {}
        index_of: dict[int, int] = {}  # id(regressor) -> fold number: devices share a fold's model
        for device, model in getattr(self, "fold_models_", {}).items():
            if model is None:
                continue
            if id(model) not in index_of:
                index_of[id(model)] = len(index_of)
                fold_dir = directory / f"fold-{index_of[id(model)]}"
                fold_dir.mkdir(exist_ok=True)
                self._save_regressor(model, fold_dir)
            folds[device] = index_of[id(model)]
        dump_json(directory / "folds.json", folds)

    def load_extra(self, directory: Path) -> None:
        self.source_model_ = self._load_regressor(directory)
        self.fold_models_ = {}
        if (directory / "folds.json").exists():
            loaded: dict[int, object] = {}
            for device, index in load_json(directory / "folds.json").items():
                if index not in loaded:
                    loaded[index] = self._load_regressor(directory / f"fold-{index}")
                self.fold_models_[device] = loaded[index]


@register_method("xgboost", pretrains=True, learned=True)
class XGBoostTransfer(_LearnedTransfer):
    """Gradient-boosted trees (xgboost) as the residual corrector; saved as xgboost JSON."""

    def __init__(self, n_estimators: int = 150, max_depth: int = 3, learning_rate: float = 0.05,
                 subsample: float = 0.8, min_child_weight: float = 5.0, reg_lambda: float = 1.0,
                 n_top: int = 3, setup_weight: float = 1.0, offset_weight: float = 0.05,
                 pretrain_draws: int = 1, warm_start: bool = False, intervals: bool = True,
                 n_calibration: int = 10, n_folds: int = 3, random_state: int | None = 0):
        store_params(self, locals())

    def _new_regressor(self):
        from xgboost import XGBRegressor
        return XGBRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                            learning_rate=self.learning_rate, subsample=self.subsample,
                            min_child_weight=self.min_child_weight, reg_lambda=self.reg_lambda,
                            n_jobs=1, random_state=self.random_state or 0, tree_method="hist")

    def _save_regressor(self, reg, directory: Path) -> None:
        reg.get_booster().save_model(str(directory / "xgboost.json"))

    def _load_regressor(self, directory: Path):
        from xgboost import XGBRegressor
        path = directory / "xgboost.json"
        if not path.exists():
            return None
        reg = XGBRegressor()
        reg.load_model(str(path))
        return reg


@register_method("sklearn", pretrains=True, learned=True)
class SklearnTransfer(_LearnedTransfer):
    """A scikit-learn regressor as the residual corrector: ``estimator="ridge"`` (median-imputed,
    standardised ridge; the default: pre-training in well under a second, and the correction on
    top of the similarity ensemble is close to linear) or ``"hgb"`` (HistGradientBoosting, for
    non-linear corrections; slower). Saved with skops (no pickle)."""

    def __init__(self, estimator: str = "ridge", max_iter: int = 150, max_depth: int | None = 3,
                 learning_rate: float = 0.05, l2_regularization: float = 1.0, alpha: float = 1.0,
                 n_top: int = 3, setup_weight: float = 1.0, offset_weight: float = 0.05,
                 pretrain_draws: int = 1, warm_start: bool = False, intervals: bool = True,
                 n_calibration: int = 10, n_folds: int = 3, random_state: int | None = 0):
        store_params(self, locals())

    def _new_regressor(self):
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        if self.estimator == "ridge":
            return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                 StandardScaler(), Ridge(alpha=self.alpha))
        if self.estimator == "hgb":
            return HistGradientBoostingRegressor(max_iter=self.max_iter, max_depth=self.max_depth,
                                                 learning_rate=self.learning_rate,
                                                 l2_regularization=self.l2_regularization,
                                                 random_state=self.random_state or 0)
        raise ValueError(f"estimator must be 'hgb' or 'ridge', got {self.estimator!r}")

    def _predict_regressor(self, reg, F: pd.DataFrame, family: pd.Series) -> np.ndarray:
        if isinstance(reg, dict):  # a ridge read back from JSON
            Z = (np.where(np.isnan(F.to_numpy()), reg["fill"], F.to_numpy()) - reg["mean"]) / reg["scale"]
            return Z @ reg["coef"] + reg["intercept"]
        return reg.predict(F.to_numpy())

    def _save_regressor(self, reg, directory: Path) -> None:
        if isinstance(reg, dict) or self.estimator == "ridge":
            # a linear model is its coefficients: plain JSON, no skops import (seconds) needed
            if not isinstance(reg, dict):
                imputer, scaler, ridge = (step for _, step in reg.steps)
                reg = {"fill": imputer.statistics_, "mean": scaler.mean_, "scale": scaler.scale_,
                       "coef": ridge.coef_, "intercept": float(ridge.intercept_)}
            dump_json(directory / "sklearn_ridge.json", reg)
            return
        import skops.io as sio
        sio.dump(reg, directory / "sklearn.skops")

    def _load_regressor(self, directory: Path):
        if (directory / "sklearn_ridge.json").exists():
            return load_json(directory / "sklearn_ridge.json")
        path = directory / "sklearn.skops"
        if not path.exists():
            return None
        import skops.io as sio
        return sio.load(path, trusted=sio.get_untrusted_types(file=path))


@register_method("statsmodels", pretrains=True, learned=True)
class StatsmodelsTransfer(_LearnedTransfer):
    """OLS (statsmodels) residual corrector with family fixed effects and a family × size
    interaction: families that a runtime accelerates differently get their own shift and slope.
    Unseen families fall back to the reference level. Coefficients saved as JSON."""

    def __init__(self, family_effects: bool = True, n_top: int = 3, setup_weight: float = 1.0,
                 offset_weight: float = 0.05, pretrain_draws: int = 1, warm_start: bool = False,
                 intervals: bool = True, n_calibration: int = 10, n_folds: int = 3,
                 random_state: int | None = 0):
        store_params(self, locals())

    def _new_regressor(self):
        return {"coef": {}, "fill": {}, "families": []}

    def _design(self, reg, F: pd.DataFrame, family: pd.Series) -> pd.DataFrame:
        D = F.fillna(reg["fill"]).fillna(0.0).reset_index(drop=True).copy()
        D.insert(0, "const", 1.0)
        fam = family.reset_index(drop=True).astype(str)
        for f in reg["families"]:
            D[f"fam[{f}]"] = (fam == f).astype(float)
            D[f"fam[{f}]:size"] = D[f"fam[{f}]"] * D["size"]
        return D

    def _fit_regressor(self, reg, F: pd.DataFrame, r: np.ndarray, family: pd.Series):
        from statsmodels.regression.linear_model import OLS  # not statsmodels.api: 5 s of imports
        reg = dict(reg)
        reg["fill"] = F.median().fillna(0.0).to_dict()
        if self.family_effects:
            counts = family.value_counts()
            reg["families"] = sorted(counts.index[counts >= 20])[1:]  # first level = reference
        D = self._design(reg, F, family)
        fit = OLS(r, D).fit()
        reg["coef"] = {k: float(v) for k, v in fit.params.items() if np.isfinite(v)}
        return reg

    def _predict_regressor(self, reg, F: pd.DataFrame, family: pd.Series) -> np.ndarray:
        D = self._design(reg, F, family)
        coef = pd.Series(reg["coef"]).reindex(D.columns).fillna(0.0)
        return D.to_numpy() @ coef.to_numpy()

    def _save_regressor(self, reg, directory: Path) -> None:
        dump_json(directory / "statsmodels.json", reg)

    def _load_regressor(self, directory: Path):
        path = directory / "statsmodels.json"
        return load_json(path) if path.exists() else None
