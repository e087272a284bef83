"""Optuna search spaces of the registered methods, attached to their registry entries.

Why here and not in ``predictor.tuning``: the space belongs to the method's declaration (the
registry), so ``effbench tune`` can tune any registered method that declares one and lists them
without a list of its own. Spaces only call ``trial.suggest_*``: no optuna import is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from predictor.methods.registry import SPECS

Space = Callable[[Any], dict[str, Any]]


def space_of(*names: str) -> Callable[[Space], Space]:
    """Attach the decorated space to the registry entries ``names``."""

    def attach(fn: Space) -> Space:
        for name in names:
            SPECS[name] = replace(SPECS[name], space=fn)
        return fn

    return attach


def _similarity(trial) -> dict[str, Any]:
    """The similarity ensemble every learned method corrects."""
    return {"n_top": trial.suggest_int("n_top", 1, 6),
            "setup_weight": trial.suggest_float("setup_weight", 0.0, 10.0),
            "offset_weight": trial.suggest_float("offset_weight", 0.0, 0.5)}


@space_of("xgboost")
def xgboost_space(t) -> dict[str, Any]:
    return {**_similarity(t),
            "n_estimators": t.suggest_int("n_estimators", 30, 300, log=True),
            "max_depth": t.suggest_int("max_depth", 2, 5),
            "learning_rate": t.suggest_float("learning_rate", 0.02, 0.3, log=True),
            "min_child_weight": t.suggest_float("min_child_weight", 1.0, 30.0, log=True)}


@space_of("sklearn")
def sklearn_space(t) -> dict[str, Any]:
    return {**_similarity(t),
            "estimator": t.suggest_categorical("estimator", ["ridge", "hgb"]),
            "alpha": t.suggest_float("alpha", 1e-2, 100.0, log=True),
            "max_iter": t.suggest_int("max_iter", 30, 300, log=True),
            "max_depth": t.suggest_int("max_depth", 2, 5),
            "learning_rate": t.suggest_float("learning_rate", 0.02, 0.3, log=True),
            "l2_regularization": t.suggest_float("l2_regularization", 1e-3, 10.0, log=True)}


@space_of("statsmodels")
def statsmodels_space(t) -> dict[str, Any]:
    return {**_similarity(t),
            "family_effects": t.suggest_categorical("family_effects", [True, False])}


@space_of("lowrank")
def lowrank_space(t) -> dict[str, Any]:
    return {"rank": t.suggest_int("rank", 1, 6),
            "alpha": t.suggest_float("alpha", 1e-3, 10.0, log=True),
            "target_alpha": t.suggest_float("target_alpha", 1e-3, 10.0, log=True)}


@space_of("krt")
def krt_space(t) -> dict[str, Any]:
    return {"scope": t.suggest_categorical("scope", ["global", "family"]),
            "same_setup": t.suggest_categorical("same_setup", ["prefer", "only", "ignore"]),
            "min_cover": t.suggest_float("min_cover", 0.0, 1.0),
            "prior_strength": t.suggest_float("prior_strength", 0.0, 5.0)}


@space_of("krt_power")
def krt_power_space(t) -> dict[str, Any]:
    return {"exponent_shrink": t.suggest_float("exponent_shrink", 0.1, 10.0, log=True),
            "same_setup": t.suggest_categorical("same_setup", ["prefer", "only"])}


@space_of("rank")
def rank_space(t) -> dict[str, Any]:
    return {"consensus": t.suggest_categorical("consensus", [True, False]),
            "calibration": t.suggest_categorical("calibration", ["isotonic", "ratio"])}


__all__ = ["space_of"]
