"""Cross-device transfer methods (scikit-learn estimators) and their persistence.

Each method is declared once with ``@register_method`` (``predictor.methods.registry``);
``METHODS``/``SPECS`` are filled by importing the method modules below. ``save_method`` /
``load_method`` store a fitted method as JSON (parameters + learned arrays) plus the learned
regressor in its own version-stable format (xgboost JSON, skops, coefficient JSON).
"""

from __future__ import annotations

from predictor.methods.base import NotEnoughKnownModels, TransferInputError, TransferMethod
from predictor.methods.flops import FlopsBaseline
from predictor.methods.krt import KRTTransfer
from predictor.methods.rank import RankTransfer
from predictor.methods.lowrank import LowRankTransfer
from predictor.methods.learned import SklearnTransfer, StatsmodelsTransfer, XGBoostTransfer
from predictor.methods.consensus import ConsensusTransfer
from predictor.methods.blend import BlendTransfer
from predictor.methods.persistence import FORMAT_VERSION, load_method, save_method
from predictor.methods.registry import (METHODS, SPECS, MethodSpec, UnknownMethod, make_method,
                                        method_help, method_names, register_method)

__all__ = ["BlendTransfer", "FlopsBaseline", "KRTTransfer", "LowRankTransfer", "METHODS", "MethodSpec",
           "NotEnoughKnownModels", "RankTransfer", "SPECS", "SklearnTransfer",
           "StatsmodelsTransfer", "TransferInputError", "TransferMethod", "UnknownMethod",
           "XGBoostTransfer", "load_method", "make_method", "method_help", "method_names",
           "register_method", "save_method"]
