"""Per-op records → per-layer table and per-category aggregates.

Both tables are plain ``groupby`` views of the op records, so per-layer and
per-category sums equal the model totals by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import pandas as pd
from torch import nn

from collectors.features.categories import CATEGORIES
from collectors.features.flops import OpRecord

__all__ = ["ops_frame", "layer_table", "category_table"]

OP_COLUMNS = ["module", "module_type", "op", "category", "flops", "out_bytes", "weight_bytes", "in_bytes",
              "gemm_m", "gemm_n", "gemm_k", "amp_out_bytes", "amp_in_bytes"]
LAYER_COLUMNS = [
    "module", "module_type", "category", "flops", "macs", "params",
    "output_bytes", "weight_bytes", "n_ops",
]
CATEGORY_COLUMNS = ["count", "flops", "macs", "bytes", "reads", "arithmetic_intensity"]


def ops_frame(records: Sequence[OpRecord]) -> pd.DataFrame:
    """One row per executed aten op, in execution order."""
    if not records:
        numeric = {c for c in OP_COLUMNS if c.endswith(("flops", "bytes")) or c.startswith("gemm_")}
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in numeric else "object")
                             for c in OP_COLUMNS})
    return pd.DataFrame([asdict(r) for r in records], columns=OP_COLUMNS)


def layer_table(ops: pd.DataFrame, model: nn.Module) -> pd.DataFrame:
    """One row per module that issued ops, in first-execution order.

    Leaf modules (Conv2d, Linear, BatchNorm2d, ...) own all their ops. A
    composite module appears too when its ``forward`` issues ops itself (a
    residual ``add``, timm Attention's reshape/sdpa, the root model's
    ``cat`` of the class token); ``module == ""`` is the root. The row's
    ``category`` is that of its largest op: most FLOPs, else most bytes.
    ``params`` are the module's own parameters (``recurse=False``).
    """
    if ops.empty:
        return pd.DataFrame(columns=LAYER_COLUMNS)
    modules = dict(model.named_modules())
    ops = ops.assign(bytes=ops["out_bytes"] + ops["weight_bytes"])
    by_cat = ops.groupby(["module", "category"], sort=False)[["flops", "bytes"]].sum().reset_index()
    dominant = (
        by_cat.sort_values(["flops", "bytes"], ascending=False, kind="stable")
        .drop_duplicates("module")
        .set_index("module")["category"]
    )
    grouped = ops.groupby("module", sort=False)
    table = grouped.agg(
        module_type=("module_type", "first"),
        flops=("flops", "sum"),
        output_bytes=("out_bytes", "sum"),
        weight_bytes=("weight_bytes", "sum"),
        n_ops=("op", "size"),
    ).reset_index()
    table["category"] = table["module"].map(dominant)
    table["macs"] = table["flops"] // 2
    table["params"] = [
        sum(p.numel() for p in modules[m].parameters(recurse=False)) if m in modules else 0
        for m in table["module"]
    ]
    return table[LAYER_COLUMNS]


def category_table(ops: pd.DataFrame) -> pd.DataFrame:
    """Per category (all of CATEGORIES, zeros when absent): number of aten op
    calls (views included), FLOPs, MACs, bytes (outputs written + parameter
    bytes read), activation bytes read and arithmetic intensity = FLOPs / bytes (NaN when no
    bytes)."""
    ops = ops.assign(bytes=ops["out_bytes"] + ops["weight_bytes"])
    agg = ops.groupby("category").agg(count=("op", "size"), flops=("flops", "sum"), bytes=("bytes", "sum"),
                                      reads=("in_bytes", "sum"))
    agg = agg.reindex(list(CATEGORIES), fill_value=0).astype("int64")
    agg["macs"] = agg["flops"] // 2
    nonzero = agg["bytes"].where(agg["bytes"] > 0)
    agg["arithmetic_intensity"] = agg["flops"] / nonzero
    agg.index.name = "category"
    return agg[CATEGORY_COLUMNS]
