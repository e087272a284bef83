"""The prediction service behind ``effbench predict`` and ``effbench evaluate``.

One concept per module: ``known`` (the user's known table and its matching to matrix rows),
``target`` (the target configuration, checked against the store), ``auto`` (the method choice),
``saved`` (pre-trained predictors kept between queries), ``predict`` (the core both ``predict``
and ``evaluate`` call), ``query`` (one query end to end) and ``store`` (the glue from a
measurement store to a query).
"""

from predictor.service.auto import AUTO_CACHE, choose_method
from predictor.service.known import VALUE_COLUMN, KnownFileError, read_known
from predictor.service.predict import Prediction, PreparedTarget, QueryError, answer, prepare_target
from predictor.service.query import estimator_for, predict_from_known
from predictor.service.store import PREDICTOR_CACHE, predict_store
from predictor.service.target import Target, TargetError, resolve_target

__all__ = ["AUTO_CACHE", "KnownFileError", "PREDICTOR_CACHE", "Prediction", "PreparedTarget",
           "QueryError", "Target", "TargetError", "VALUE_COLUMN", "answer", "choose_method",
           "estimator_for", "predict_from_known", "predict_store", "prepare_target",
           "read_known", "resolve_target"]
