"""From feature-table rows to the learner's design matrix, and from matrix rows to feature keys.

Why logs: latency is multiplicative in work (twice the FLOPs, about twice the time), so a
tree or a linear model on log features and log latency fits one shape across networks whose
sizes span five orders of magnitude. Shares (a category's fraction of the FLOPs or bytes)
say *what kind* of network it is independently of its size, which is what lets a model
trained on convnets say something about a transformer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from collectors.features.amp import AMP_COLUMNS
from collectors.features.categories import CATEGORIES, CONSTANT
from collectors.features.gemm import GEMM_COLUMNS
from collectors.features.roofline import ROOFLINE_COLUMNS

__all__ = ["AMP_FEATURES", "BASELINE_NAMES", "FEATURE_SETS", "per_image_traffic", "GEMM_FEATURES", "OPTIONAL_FEATURES", "READS_FEATURES",
           "ROOFLINE_FEATURES", "design", "feature_column", "feature_names", "join_features", "row_keys"]

#: timm's reported metadata (the ``timm_macs`` table) as the baseline feature set.
BASELINE_NAMES = ("log_gmacs", "log_macts", "log_params", "input_size")
FEATURE_SETS = ("operators", "metadata", "flops")
#: How well the network's products fill a matrix unit: the FLOPs shares whose channels are
#: tile-aligned / narrow, and the FLOPs-weighted log2 M, min(N, K), max(N, K).
GEMM_FEATURES = ("share_flops_gemm_aligned", "share_flops_gemm_narrow", "gemm_log2_m", "gemm_log2_narrow",
                 "gemm_log2_wide")
#: The activation bytes each category reads, and the network's reads per byte written and per
#: FLOP: a memory-bound op's time follows its traffic, which writes alone undercount (a
#: softmax over an L×L map, a residual add, a copy behind a permute).
READS_FEATURES = (*(f"log_reads_{c}" for c in CATEGORIES), "ratio_reads_per_write", "ratio_reads_per_flop")
#: The per-operator roofline sums at a bank of ridge points (collectors.features.roofline), and
#: how much each inflates the FLOPs: how memory-bound the network's operators are, one by one.
ROOFLINE_FEATURES = (*(f"log_{c}" for c in ROOFLINE_COLUMNS), *(f"ratio_{c}_per_flop" for c in ROOFLINE_COLUMNS))
#: The traffic CUDA autocast moves (collectors.features.amp) and its share of the fp32 traffic:
#: how much of a network stays fp32 under mixed precision (a BatchNorm convnet 0.50, a ViT 0.64).
AMP_FEATURES = ("log_amp_activation_bytes", "log_amp_reads", "ratio_amp_traffic")
#: Features the tracer added after rows were first cached: a row without them keeps them
#: missing (the trees route missing values) instead of being dropped.
OPTIONAL_FEATURES = (*GEMM_FEATURES, *READS_FEATURES, *ROOFLINE_FEATURES, *AMP_FEATURES)


def row_keys(matrix) -> pd.DataFrame:
    """(model, input_size) of every matrix row, in row order, indexed by the row label.

    The one adapter between the matrix's row labels and the features table's key: a
    ``model`` column of ``matrix.models`` wins, else a MultiIndex's first level, else the
    label up to an ``@`` ("convnext_tiny@288"); the size is ``matrix.models["input_size"]``.
    """
    index = matrix.values.index
    if "model" in matrix.models:
        model = matrix.models["model"].reindex(index).astype(str)
    elif isinstance(index, pd.MultiIndex):
        model = index.get_level_values(0).astype(str)
    else:
        model = pd.Index([str(label).split("@", 1)[0] for label in index])
    size = pd.to_numeric(matrix.models["input_size"].reindex(index), errors="coerce")
    return pd.DataFrame({"model": list(model), "input_size": size.astype("Int64").to_numpy()}, index=index)


def _log(values: pd.Series) -> pd.Series:
    return np.log1p(pd.to_numeric(values, errors="coerce").astype(float).clip(lower=0))


def feature_column(rows: pd.DataFrame, name: str) -> pd.Series:
    """A features-table column as floats, NaN where the rows predate it (a column newer
    tracers write, such as the inputs of ``OPTIONAL_FEATURES``)."""
    if name not in rows:
        return pd.Series(np.nan, index=rows.index)
    return pd.to_numeric(rows[name], errors="coerce").astype(float)


def per_image_traffic(rows: pd.DataFrame, autocast: bool = False) -> pd.Series:
    """Activation bytes read and written by the operators that read the image, in the traced
    fp32 or as CUDA autocast moves them (``collectors.features.amp``); rows traced before reads
    were recorded count their writes only."""
    if autocast:
        return feature_column(rows, "amp_reads") + feature_column(rows, "amp_activation_bytes")
    reads = sum(feature_column(rows, f"reads_{c}").fillna(0.0) for c in CATEGORIES if c != CONSTANT)
    return reads + feature_column(rows, "activation_bytes")


def feature_names(feature_set: str = "operators") -> list[str]:
    if feature_set == "metadata":
        return list(BASELINE_NAMES)
    if feature_set == "flops":
        return ["log_flops"]
    names = ["log_flops", "log_params", "log_weight_bytes", "log_activation_bytes", "log_intensity",
             "log_n_ops", "input_size"]
    names += ["ratio_flops_per_op", "ratio_activation_per_flop", "ratio_weight_per_flop"]
    for cat in CATEGORIES:
        names += [f"log_flops_{cat}", f"log_bytes_{cat}", f"log_count_{cat}", f"share_flops_{cat}",
                  f"share_bytes_{cat}", f"ratio_bytes_per_flop_{cat}"]
    return names + list(GEMM_FEATURES) + list(READS_FEATURES) + list(ROOFLINE_FEATURES) + list(AMP_FEATURES)


def design(rows: pd.DataFrame, feature_set: str = "operators") -> pd.DataFrame:
    """The design matrix of feature-table rows (same index). ``metadata`` reads timm's
    ``gmacs``/``macts_m``/``params_m`` columns (the ``timm_macs`` table); ``flops`` only
    log FLOPs (from ``flops``, else ``2 * gmacs``)."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set must be one of {FEATURE_SETS}, got {feature_set!r}")
    out = pd.DataFrame(index=rows.index)
    if feature_set == "metadata":
        out["log_gmacs"] = np.log(pd.to_numeric(rows["gmacs"], errors="coerce").astype(float).clip(lower=1e-4))
        out["log_macts"] = np.log(pd.to_numeric(rows["macts_m"], errors="coerce").astype(float).clip(lower=1e-4))
        out["log_params"] = np.log(pd.to_numeric(rows["params_m"], errors="coerce").astype(float).clip(lower=1e-4))
        out["input_size"] = pd.to_numeric(rows["input_size"], errors="coerce").astype(float)
        return out
    flops = rows["flops"] if "flops" in rows else 2e9 * rows["gmacs"]
    out["log_flops"] = _log(flops)
    if feature_set == "flops":
        return out
    out = {"log_flops": out["log_flops"]}  # ~120 columns: collected, then one frame
    out["log_params"] = _log(rows["params"])
    out["log_weight_bytes"] = _log(rows["weight_bytes"])
    out["log_activation_bytes"] = _log(rows["activation_bytes"])
    out["log_intensity"] = np.log(pd.to_numeric(rows["arithmetic_intensity"], errors="coerce")
                                  .astype(float).clip(lower=1e-6))
    out["log_n_ops"] = _log(rows["n_ops"])
    out["input_size"] = pd.to_numeric(rows["input_size"], errors="coerce").astype(float)
    # log ratios: a tree splits on one feature at a time, so "bytes per FLOP" must be given,
    # not left to be found as a difference of two splits (leave-family-out +0.02 within ±10 %)
    out["ratio_flops_per_op"] = out["log_flops"] - out["log_n_ops"]
    out["ratio_activation_per_flop"] = out["log_activation_bytes"] - out["log_flops"]
    out["ratio_weight_per_flop"] = out["log_weight_bytes"] - out["log_flops"]
    total_flops = pd.to_numeric(flops, errors="coerce").astype(float).clip(lower=1)
    total_bytes = sum(pd.to_numeric(rows[f"bytes_{c}"], errors="coerce").astype(float) for c in CATEGORIES)
    total_bytes = total_bytes.clip(lower=1)
    for cat in CATEGORIES:
        f, b = (pd.to_numeric(rows[f"{s}_{cat}"], errors="coerce").astype(float) for s in ("flops", "bytes"))
        out[f"log_flops_{cat}"] = _log(f)
        out[f"log_bytes_{cat}"] = _log(b)
        out[f"log_count_{cat}"] = _log(rows[f"count_{cat}"])
        out[f"share_flops_{cat}"] = f / total_flops
        out[f"share_bytes_{cat}"] = b / total_bytes
        out[f"ratio_bytes_per_flop_{cat}"] = out[f"log_bytes_{cat}"] - out["log_flops"]
    # GEMM geometry (collectors.features.gemm); NaN in rows traced before it was recorded,
    # which the trees read as missing
    gemm = {c: feature_column(rows, c) for c in GEMM_COLUMNS}
    out["share_flops_gemm_aligned"] = gemm["flops_gemm_aligned"] / total_flops
    out["share_flops_gemm_narrow"] = gemm["flops_gemm_narrow"] / total_flops
    for c in ("gemm_log2_m", "gemm_log2_narrow", "gemm_log2_wide"):
        out[c] = gemm[c]
    reads = {c: feature_column(rows, f"reads_{c}") for c in CATEGORIES}
    for cat, r in reads.items():
        out[f"log_reads_{cat}"] = np.log1p(r.clip(lower=0))
    total_reads = sum(reads.values()).clip(lower=1)
    out["ratio_reads_per_write"] = np.log(total_reads / total_bytes)
    out["ratio_reads_per_flop"] = np.log(total_reads) - out["log_flops"]
    for c in ROOFLINE_COLUMNS:
        out[f"log_{c}"] = np.log1p(feature_column(rows, c).clip(lower=0))
        out[f"ratio_{c}_per_flop"] = out[f"log_{c}"] - out["log_flops"]
    for c in AMP_COLUMNS:
        out[f"log_{c}"] = np.log1p(feature_column(rows, c).clip(lower=0))
    out["ratio_amp_traffic"] = np.log(per_image_traffic(rows, autocast=True).clip(lower=1)
                                      / per_image_traffic(rows).clip(lower=1))
    return pd.DataFrame(out, index=rows.index)[feature_names("operators")]


def join_features(keys: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Feature rows for ``keys`` (model, input_size; any index), by exact (model, size) match;
    rows without features are dropped. The result keeps ``keys``' index."""
    f = features.assign(model=features["model"].astype(str),
                        input_size=pd.to_numeric(features["input_size"], errors="coerce").astype("Int64"))
    f = f.drop_duplicates(["model", "input_size"], keep="last")
    k = keys[["model", "input_size"]].assign(model=keys["model"].astype(str),
                                            input_size=pd.array(keys["input_size"], dtype="Int64"))
    merged = k.reset_index(names="_row").merge(f.drop(columns=[c for c in ("_row",) if c in f]),
                                                on=["model", "input_size"], how="inner")
    return merged.set_index("_row").rename_axis(keys.index.name)
