"""Cross-device validation of latency transfer methods (LODO, tier→tier, family, time split).

``evaluate(matrix, methods, protocol)`` returns an :class:`EvaluationResult`; log it with
``predictor.tracking.log_result``.
"""

from predictor.evaluation.ceiling import pair_ceiling, transfer_ceiling
from predictor.evaluation.protocols import PROTOCOLS, ProtocolError, Split, make_splits
from predictor.evaluation.result import EvaluationResult
from predictor.evaluation.runner import DEFAULT_KS, evaluate, score

__all__ = ["DEFAULT_KS", "EvaluationResult", "PROTOCOLS", "ProtocolError", "Split", "evaluate",
           "make_splits", "pair_ceiling", "score", "transfer_ceiling"]
