"""Static per-model operator features: FLOPs/MACs, parameters, bytes,
per-layer table, per-category aggregates and the ONNX operator histogram;
:func:`trace_models` traces many models (timm, catalogue, ONNX files) resumably into a store."""

from collectors.features.categories import CATEGORIES, categorize_op, conv_category
from collectors.features.compute import FeatureError, ModelFeatures, compute_features
from collectors.features.onnx_ops import OnnxExportError, onnx_op_histogram
from collectors.features.table import FEATURE_COLUMNS, features_frame, run_features
from collectors.features.trace import (TRACE_COLUMNS, TraceTarget, resolve_targets, stored_sizes,
                                       trace_models, trace_stored)

__all__ = [
    "CATEGORIES",
    "FEATURE_COLUMNS",
    "FeatureError",
    "TRACE_COLUMNS",
    "TraceTarget",
    "resolve_targets",
    "stored_sizes",
    "trace_models",
    "trace_stored",
    "OnnxExportError",
    "features_frame",
    "run_features",
    "ModelFeatures",
    "categorize_op",
    "compute_features",
    "conv_category",
    "onnx_op_histogram",
]
