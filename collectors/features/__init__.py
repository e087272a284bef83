"""Static per-model operator features: FLOPs/MACs, parameters, bytes,
per-layer table, per-category aggregates and the ONNX operator histogram."""

from collectors.features.categories import CATEGORIES, categorize_op, conv_category
from collectors.features.compute import FeatureError, ModelFeatures, compute_features
from collectors.features.onnx_ops import OnnxExportError, onnx_op_histogram
from collectors.features.table import FEATURE_COLUMNS, features_frame, run_features

__all__ = [
    "CATEGORIES",
    "FEATURE_COLUMNS",
    "FeatureError",
    "OnnxExportError",
    "features_frame",
    "run_features",
    "ModelFeatures",
    "categorize_op",
    "compute_features",
    "conv_category",
    "onnx_op_histogram",
]
