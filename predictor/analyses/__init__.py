"""The study's analyses: each a function ``(StudyData, **params) -> result`` registered by name
with ``@register_analysis`` (see ``predictor.analyses._registry``); results carry
``findings()`` (numbers with model-resampling CIs), ``summary()``, ``to_frame()`` and the
tracking protocol (``params/metrics/tables/figures``).

The study's claims are not here: an experiment (``experiments/claims.yaml``) states them and
``predictor.analyses.claims`` judges them on the findings.
"""

from __future__ import annotations

from predictor.analyses._base import AnalysisResult, Finding
from predictor.analyses._data import StudyData
from predictor.analyses._registry import (RegisteredAnalysis, get_analysis, list_analyses,
                                          register_analysis)
from predictor.analyses.claims import Claim, claim_table, judge
# importing the modules registers their analyses
from predictor.analyses.disagreement import DisagreementResult, flops_disagreement
from predictor.analyses.new_hardware import NewHardwareResult, new_hardware
from predictor.analyses.pareto import ParetoResult, pareto_transfer
from predictor.analyses.predictability import PredictabilityResult, predictability
from predictor.analyses.stability import NoiseResult, RuntimeResult, noise_ceiling, runtime_stability
from predictor.analyses.transfer import TransferResult, cross_tier_transfer
from predictor.analyses.variance import VarianceResult, variance_decomposition

__all__ = ["AnalysisResult", "Claim", "DisagreementResult", "Finding", "NewHardwareResult",
           "NoiseResult", "new_hardware",
           "ParetoResult", "PredictabilityResult", "RegisteredAnalysis", "RuntimeResult",
           "StudyData", "TransferResult", "VarianceResult", "claim_table", "cross_tier_transfer",
           "flops_disagreement", "get_analysis", "judge", "list_analyses", "noise_ceiling",
           "pareto_transfer", "predictability", "register_analysis", "runtime_stability",
           "variance_decomposition"]
