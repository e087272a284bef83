"""Cold-start latency: predict a network measured nowhere from its traced operator features.

``ColdStartPredictor(**config).fit(matrix, features).predict(rows, target)`` where ``target``
is a stored configuration id or a new configuration's known measurements (model → ms);
:func:`evaluate_coldstart` runs the leave-family-out / leave-models-out protocols, on stored
and on new devices, beside the FLOPs-only and timm-metadata baselines; :func:`tune_coldstart`
is an Optuna study scored by a family-grouped cross-validation (:func:`family_cv`).
"""

from predictor.coldstart.design import BASELINE_NAMES, FEATURE_SETS, design, feature_names, join_features, row_keys
from predictor.coldstart.evaluate import (PROTOCOLS, ColdStartResult, default_estimators, evaluate_coldstart,
                                          score_predictions)
from predictor.coldstart.model import CALIBRATION_GROUPS, LEARNERS, ColdStartPredictor, conformal_quantile
from predictor.coldstart.tune import TUNE_LEARNERS, ColdStartTuning, family_cv, tune_coldstart

__all__ = ["BASELINE_NAMES", "CALIBRATION_GROUPS", "FEATURE_SETS", "LEARNERS", "PROTOCOLS", "TUNE_LEARNERS",
           "ColdStartPredictor", "ColdStartResult", "ColdStartTuning", "conformal_quantile", "default_estimators",
           "design", "evaluate_coldstart", "family_cv", "feature_names", "join_features", "row_keys",
           "score_predictions", "tune_coldstart"]
