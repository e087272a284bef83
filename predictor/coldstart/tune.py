"""Tuning the cold-start learner with Optuna, scored by a family-grouped cross-validation.

Why grouped by family: a cold-start model is usually a new kind of network, and the score
that matters is leave-family-out (``predictor.coldstart.evaluate``). Hyper-parameters chosen
on random folds reward memorising widths of known architectures (deeper trees, more rounds)
and lose on an unseen family. So a trial's objective is :func:`family_cv`: every family of
the *training* models held out in turn, the anchors of ``configs`` refitted without it, and
the held-out predictions scored by within ±10 % (pooled over families and configurations).

The held-out family of an outer evaluation must never reach the objective: hand in the
matrix without it (``benchmarks/coldstart.py tune`` does exactly that, one study per outer
family, and scores the tuned fit on the held-out family against the defaults).

The search covers the anchor learner (the default ``ensemble``, ``xgboost``, scikit-learn
``hgb``, ``loglinear``) and, for the trees, rounds, learning rate, depth, row / column subsampling, child weight, L2
penalty and the monotone constraints. The result carries constructor keyword arguments of
:class:`ColdStartPredictor`, so a tuned predictor saves to the same JSON state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from predictor.coldstart.model import ColdStartPredictor, runs_mixed_precision

__all__ = ["TUNE_LEARNERS", "ColdStartTuning", "family_cv", "suggest", "tune_coldstart"]

TUNE_LEARNERS = ("ensemble", "xgboost", "hgb", "loglinear")


def _family(matrix, index: pd.Index) -> pd.Series:
    if "family" not in matrix.models:
        raise ValueError("family_cv needs a 'family' column in matrix.models")
    return matrix.models["family"].reindex(index).astype("string").fillna("unknown").astype(str)


def family_cv(params: dict[str, Any], matrix, features: pd.DataFrame, configs: Sequence[str],
              tol: float = 0.10) -> dict[str, float]:
    """Leave-one-family-out scores of the anchors of ``configs`` for ``ColdStartPredictor(**params)``.

    Every family of ``matrix`` (``matrix.models["family"]``) is held out in turn; each
    configuration's anchor is fitted on the other families' models and predicts the held-out
    ones. Returns ``within_10`` (pooled), ``spearman`` (mean over configurations),
    ``mae_log`` (mean absolute log error), ``n`` and per configuration ``within_10/<config>``.
    For anchor configurations this is the same number as ``evaluate_coldstart``'s
    leave-family-out on stored configurations, without the conformal refits.
    """
    est = ColdStartPredictor(**params)
    rows, x = est._training_frame(matrix, features)
    family = _family(matrix, rows.index)
    out: dict[str, float] = {}
    hits, errs, rhos, n = [], [], [], 0
    for config in configs:
        y = matrix.values.loc[rows.index, config]
        ok = (y > 0).to_numpy()
        pred = pd.Series(np.nan, index=rows.index)
        for fam in sorted(family[ok].unique()):
            test = ok & (family == fam).to_numpy()
            train = ok & ~test
            if train.sum() < 10 or not test.any():
                continue
            anchor = est._fit_anchor(rows[train], x[train], y[train].to_numpy(dtype=float),
                                     mixed_precision=runs_mixed_precision(config))
            pred.iloc[np.flatnonzero(test)] = est._predict_anchor(anchor, rows[test], x[test])
        have = pred.notna().to_numpy() & ok
        err = pred[have].to_numpy() - np.log(y[have].to_numpy(dtype=float))
        within = np.abs(np.exp(err) - 1) <= tol
        hits.append(within)
        errs.append(np.abs(err))
        rhos.append(float(spearmanr(pred[have], y[have]).statistic))
        out[f"within_10/{config}"] = float(within.mean())
        n += int(have.sum())
    out.update(within_10=float(np.concatenate(hits).mean()), spearman=float(np.mean(rhos)),
               mae_log=float(np.concatenate(errs).mean()), n=float(n))
    return out


def suggest(trial, learners: Sequence[str] = TUNE_LEARNERS, fixed: Mapping[str, Any] | None = None
            ) -> dict[str, Any]:
    """One trial's ``ColdStartPredictor`` keyword arguments (the search space), less the
    ``fixed`` ones (given by the caller, not tuned; a fixed ``learner`` is searched within)."""
    fixed = dict(fixed or {})
    if "learner" in fixed:
        learner, params = fixed["learner"], {}
    else:
        learner = trial.suggest_categorical("learner", list(learners))
        params = {"learner": learner}
    space: list[tuple[str, Any]] = []
    if learner in ("ensemble", "xgboost", "roofline", "hgb"):
        space += [("n_estimators", lambda: trial.suggest_int("n_estimators", 100, 1000, log=True)),
                  ("learning_rate", lambda: trial.suggest_float("learning_rate", 0.01, 0.2, log=True)),
                  ("max_depth", lambda: trial.suggest_int("max_depth", 2, 8)),
                  ("reg_lambda", lambda: trial.suggest_float("reg_lambda", 1e-2, 30.0, log=True))]
    if learner in ("ensemble", "xgboost", "roofline"):
        space += [("subsample", lambda: trial.suggest_float("subsample", 0.5, 1.0)),
                  ("colsample_bytree", lambda: trial.suggest_float("colsample_bytree", 0.2, 1.0)),
                  ("min_child_weight", lambda: trial.suggest_float("min_child_weight", 1.0, 30.0, log=True)),
                  ("monotone", lambda: trial.suggest_categorical("monotone", [True, False]))]
    params.update({name: draw() for name, draw in space if name not in fixed})
    return params


@dataclass
class ColdStartTuning:
    """A finished study: the best keyword arguments, their score beside the defaults' and
    every trial (tidy)."""

    best_params: dict[str, Any]
    best_score: dict[str, float]
    default_score: dict[str, float]
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    params_: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return self.params_

    def metrics(self) -> dict[str, float]:
        return {**{f"best/{k}": v for k, v in self.best_score.items()},
                **{f"default/{k}": v for k, v in self.default_score.items()}}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"coldstart_tuning_trials": self.trials}

    def summary(self) -> str:
        b, d = self.best_score, self.default_score
        return (f"ColdStartTuning: {len(self.trials)} trials, family CV within ±10 % "
                f"{b['within_10']:.3f} (defaults {d['within_10']:.3f}), Spearman {b['spearman']:.3f} "
                f"({d['spearman']:.3f}); best {self.best_params}")


def tune_coldstart(matrix, features: pd.DataFrame, configs: Sequence[str], n_trials: int = 30,
                   learners: Sequence[str] = TUNE_LEARNERS, base: dict[str, Any] | None = None,
                   seed: int = 0, storage: str | None = None, study_name: str | None = None,
                   timeout: float | None = None) -> ColdStartTuning:
    """Optuna study (TPE, seeded) maximising :func:`family_cv` within ±10 % over ``configs``.

    ``matrix`` must hold the training models only. ``base``: fixed keyword arguments (e.g.
    ``n_jobs``). The defaults are enqueued as the first trial, so the best is never worse
    than them on the objective. ``storage``: an Optuna RDB URL (default: in memory).
    """
    import optuna

    base = dict(base or {})
    defaults = ColdStartPredictor(**base).get_params()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                storage=storage, study_name=study_name, load_if_exists=storage is not None)
    first = {k: defaults[k] for k in ("learner", "n_estimators", "learning_rate", "max_depth", "reg_lambda",
                                      "subsample", "colsample_bytree", "min_child_weight", "monotone")
             if k not in base}
    enqueued = defaults["learner"] in learners and not study.trials
    if enqueued:
        study.enqueue_trial(first)
    scores: dict[int, dict[str, float]] = {}

    def objective(trial) -> float:
        params = {**base, **suggest(trial, learners, fixed=base)}
        score = family_cv(params, matrix, features, configs)
        scores[trial.number] = score
        for k in ("spearman", "mae_log"):
            trial.set_user_attr(k, score[k])
        return score["within_10"]

    study.optimize(objective, n_trials=n_trials, timeout=timeout)
    best = study.best_trial
    best_params = {**base, **_params_of(best.params)}
    default_score = scores[0] if enqueued and 0 in scores else family_cv(base, matrix, features, configs)
    trials = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "duration"))
    return ColdStartTuning(best_params=best_params, best_score=scores.get(best.number) or
                           family_cv(best_params, matrix, features, configs), default_score=default_score,
                           trials=trials,
                           params_={"configs": list(configs), "n_trials": n_trials, "learners": list(learners),
                                    "seed": seed})


def _params_of(trial_params: dict[str, Any]) -> dict[str, Any]:
    """Constructor keyword arguments from a trial's parameters (ints stay ints)."""
    out = dict(trial_params)
    for k in ("n_estimators", "max_depth"):
        if k in out:
            out[k] = int(out[k])
    return out
