"""Hyper-parameter tuning of the transfer methods with Optuna, by nested cross-device validation.

The objective of a trial is an *inner* leave-one-device-out score: every inner device in turn is
held out, the method is pre-trained on the remaining devices and calibrated on k known models of
each of the held-out device's configurations. The *outer* held-out device (the one an evaluation
reports on) must never reach this function: pass it as ``exclude_devices`` (or hand in a matrix
without it). The study lives in any Optuna RDB storage, so a tuning run can resume or be shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from predictor import metrics
from predictor.design import make_design, target_vector
from predictor.matrix import LatencyMatrix
from predictor.methods import NotEnoughKnownModels, make_method

from collectors import workspace

DEFAULT_STORAGE = workspace.optuna_storage()
OBJECTIVES = ("within10", "log_mae")


class TuningError(ValueError):
    """Unknown method/objective, or too few devices for an inner LODO."""


def _learned_space(trial: optuna.Trial) -> dict:
    return {"n_top": trial.suggest_int("n_top", 1, 6),
            "setup_weight": trial.suggest_float("setup_weight", 0.0, 10.0),
            "offset_weight": trial.suggest_float("offset_weight", 0.0, 0.5)}


SPACES: dict[str, Callable[[optuna.Trial], dict]] = {
    "xgboost": lambda t: {**_learned_space(t),
                          "n_estimators": t.suggest_int("n_estimators", 30, 300, log=True),
                          "max_depth": t.suggest_int("max_depth", 2, 5),
                          "learning_rate": t.suggest_float("learning_rate", 0.02, 0.3, log=True),
                          "min_child_weight": t.suggest_float("min_child_weight", 1.0, 30.0, log=True)},
    "sklearn": lambda t: {**_learned_space(t),
                          "estimator": t.suggest_categorical("estimator", ["ridge", "hgb"]),
                          "alpha": t.suggest_float("alpha", 1e-2, 100.0, log=True),
                          "max_iter": t.suggest_int("max_iter", 30, 300, log=True),
                          "max_depth": t.suggest_int("max_depth", 2, 5),
                          "learning_rate": t.suggest_float("learning_rate", 0.02, 0.3, log=True),
                          "l2_regularization": t.suggest_float("l2_regularization", 1e-3, 10.0, log=True)},
    "statsmodels": lambda t: {**_learned_space(t),
                              "family_effects": t.suggest_categorical("family_effects", [True, False])},
    "lowrank": lambda t: {"rank": t.suggest_int("rank", 1, 6),
                          "alpha": t.suggest_float("alpha", 1e-3, 10.0, log=True),
                          "target_alpha": t.suggest_float("target_alpha", 1e-3, 10.0, log=True)},
    "krt": lambda t: {"scope": t.suggest_categorical("scope", ["global", "family"]),
                      "prefer_same_setup": t.suggest_categorical("prefer_same_setup", [True, False])},
    "rank": lambda t: {"consensus": t.suggest_categorical("consensus", [True, False]),
                       "calibration": t.suggest_categorical("calibration", ["isotonic", "ratio"])},
}


def lodo_score(method_name: str, params: dict, matrix: LatencyMatrix, k: int = 5, *,
               devices: Iterable[str] | None = None, n_draws: int = 2, objective: str = "within10",
               seed: int = 0) -> float:
    """Mean over held-out devices of the per-target objective on the unknown models."""
    if objective not in OBJECTIVES:
        raise TuningError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    rng = np.random.default_rng(seed)
    per_device = []
    for device in devices if devices is not None else matrix.devices:
        est = make_method(method_name, **params)
        settable = est.get_params()
        est.set_params(**{k_: v for k_, v in (("intervals", False), ("warm_start", True)) if k_ in settable})
        scores, columns = [], None
        for target in matrix.configs_of(device):
            X = make_design(matrix, target, exclude_devices=[device])
            if list(X.columns) != columns:
                est.fit_source(X)
                columns = list(X.columns)
            y = target_vector(matrix, target)
            y = y[y.index.isin(X.index)]
            if len(y) < k + 3:
                continue
            for _ in range(n_draws):
                mask = np.zeros(len(y), dtype=bool)
                mask[rng.choice(len(y), size=k, replace=False)] = True
                try:
                    pred = est.fit(X, y[mask]).predict(X.loc[y.index[~mask]])
                except NotEnoughKnownModels:
                    continue
                true = y[~mask].to_numpy()
                scores.append(metrics.within(true, pred, 0.10) if objective == "within10"
                              else float(np.nanmean(np.abs(np.log(pred) - np.log(true)))))
        if scores:
            per_device.append(float(np.nanmean(scores)))
    return float(np.mean(per_device)) if per_device else float("nan")


@dataclass
class TuningResult:
    method: str
    best_params: dict
    best_value: float
    objective: str
    n_trials: int
    study_name: str
    storage: str
    inner_devices: list[str]
    trials: pd.DataFrame = field(repr=False)

    def summary(self) -> str:
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in self.best_params.items())
        return (f"{self.method}: best inner-LODO {self.objective} = {self.best_value:.3f} after "
                f"{self.n_trials} trials on {len(self.inner_devices)} devices ({params}); "
                f"study '{self.study_name}' in {self.storage}")


def _ensure_sqlite_folder(storage: str) -> None:
    if storage.startswith("sqlite:///"):
        Path(storage[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


def tune(method_name: str, matrix: LatencyMatrix, n_trials: int = 20, k: int = 5,
         storage: str | None = None, study_name: str | None = None, *,
         exclude_devices: Iterable[str] = (), max_devices: int | None = 6, n_draws: int = 2,
         objective: str = "within10", seed: int = 0) -> TuningResult:
    """Tune ``method_name`` by inner LODO over the matrix's devices minus ``exclude_devices``.

    ``max_devices`` caps the inner held-out devices (a fixed random subset, the same for every
    trial so that trials are comparable) to keep a study fast.
    """
    if method_name not in SPACES:
        raise TuningError(f"no search space for method {method_name!r}; tunable: {sorted(SPACES)}")
    if objective not in OBJECTIVES:
        raise TuningError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    excluded = set(exclude_devices)
    inner = matrix.subset(configs=[c for c in matrix.values.columns
                                   if matrix.configs.at[c, "device"] not in excluded])
    devices = inner.devices
    if len(devices) < 3:
        raise TuningError(f"inner leave-one-device-out needs >= 3 devices, got {len(devices)}")
    rng = np.random.default_rng(seed)
    if max_devices and len(devices) > max_devices:
        devices = sorted(rng.choice(devices, size=max_devices, replace=False).tolist())
    storage = storage or workspace.optuna_storage()
    _ensure_sqlite_folder(storage)
    study_name = study_name or f"{method_name}-k{k}-{objective}"
    direction = "maximize" if objective == "within10" else "minimize"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                                load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=seed))

    def run(trial: optuna.Trial) -> float:
        params = SPACES[method_name](trial)
        value = lodo_score(method_name, params, inner, k, devices=devices, n_draws=n_draws,
                           objective=objective, seed=seed)
        return value if np.isfinite(value) else (0.0 if direction == "maximize" else 1e6)

    study.optimize(run, n_trials=n_trials)
    trials = study.trials_dataframe(attrs=("number", "value", "params", "state"))
    return TuningResult(method=method_name, best_params=dict(study.best_params),
                        best_value=float(study.best_value), objective=objective,
                        n_trials=len(study.trials), study_name=study_name, storage=storage,
                        inner_devices=list(devices), trials=trials)


__all__ = ["DEFAULT_STORAGE", "SPACES", "TuningError", "TuningResult", "lodo_score", "tune"]
