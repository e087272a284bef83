"""Cold-start latency: predict a network measured nowhere from its traced operator features.

``ColdStartPredictor(**config).fit(matrix, features).predict(rows, target)`` where ``target``
is a stored configuration id or a new configuration's known measurements (model → ms);
:func:`evaluate_coldstart` runs the leave-family-out / leave-models-out protocols, on stored
and on new devices, beside the FLOPs-only and timm-metadata baselines.
"""

from predictor.coldstart.design import BASELINE_NAMES, FEATURE_SETS, design, feature_names, join_features, row_keys
from predictor.coldstart.evaluate import (PROTOCOLS, ColdStartResult, default_estimators, evaluate_coldstart,
                                          score_predictions)
from predictor.coldstart.model import LEARNERS, ColdStartPredictor, conformal_quantile

__all__ = ["BASELINE_NAMES", "FEATURE_SETS", "LEARNERS", "PROTOCOLS", "ColdStartPredictor", "ColdStartResult",
           "conformal_quantile", "default_estimators", "design", "evaluate_coldstart", "feature_names",
           "join_features", "row_keys", "score_predictions"]
