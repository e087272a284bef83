"""The study's analyses: each a function ``(StudyData, **params) -> result`` with ``summary()``,
``to_frame()``, ``claims()`` and the tracking protocol (``params/metrics/tables/figures``).

``ANALYSES`` maps the names used in ``experiments/*.yaml`` to those functions.
"""

from __future__ import annotations

from collections.abc import Callable

from predictor.analyses._base import AnalysisResult, ClaimCheck, judge
from predictor.analyses._data import StudyData
from predictor.analyses.disagreement import DisagreementResult, flops_disagreement
from predictor.analyses.pareto import ParetoResult, pareto_transfer
from predictor.analyses.predictability import PredictabilityResult, predictability
from predictor.analyses.stability import NoiseResult, RuntimeResult, noise_ceiling, runtime_stability
from predictor.analyses.transfer import TransferResult, cross_tier_transfer
from predictor.analyses.variance import VarianceResult, variance_decomposition

ANALYSES: dict[str, Callable[..., AnalysisResult]] = {
    "disagreement": flops_disagreement,
    "noise": noise_ceiling,
    "runtime_stability": runtime_stability,
    "transfer": cross_tier_transfer,
    "predictability": predictability,
    "pareto": pareto_transfer,
    "variance": variance_decomposition,
}

#: Name -> the result class, so a failed analysis still lists its claims (as untestable).
RESULT_TYPES: dict[str, type[AnalysisResult]] = {
    "disagreement": DisagreementResult, "noise": NoiseResult, "runtime_stability": RuntimeResult,
    "transfer": TransferResult, "predictability": PredictabilityResult, "pareto": ParetoResult,
    "variance": VarianceResult,
}

__all__ = ["ANALYSES", "RESULT_TYPES", "AnalysisResult", "ClaimCheck", "StudyData", "cross_tier_transfer",
           "flops_disagreement", "judge", "noise_ceiling", "pareto_transfer", "predictability",
           "runtime_stability", "variance_decomposition"]
