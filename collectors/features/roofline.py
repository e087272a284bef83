"""Per-operator roofline costs of a network at a bank of ridge points.

Why: an operator runs at whichever limit it hits first, its arithmetic or its memory traffic,
so its time is ``max(FLOPs / P, bytes / W) = max(FLOPs, R · bytes) / P`` with the device's
ridge point ``R = P / W`` (FLOPs per byte). Summing that *per operator* is what a roofline
predicts for a whole network; summing FLOPs and bytes first and taking one max (or adding
them) cannot tell a network of many narrow, memory-bound products (a ViT-Tiny's 192-wide
linears, each reading as much as it computes on) from one of few wide ones (a ViT-Huge's)
with the same totals. Per-category totals lose that too: the max happens per operator.

The device's ridge point is unknown to a features table, so each row carries the sum at a
fixed bank of ridge points (:data:`RIDGES`, from a phone CPU's to a GPU's tensor cores at
fp16), once on activation traffic alone (a big batch reads the weights once for many
images) and once with the weights read per image (batch 1). The cold-start learners pick
what fits the configuration (``predictor.coldstart.model``: its roofline takes the sum at
the best-fitting ridge as its compute term, the non-negative additive model gives each sum
a rate, the trees see how much each inflates the FLOPs).

Per operator: ``f`` FLOPs, ``t`` activation bytes read plus written, ``w`` parameter bytes
read; columns ``roof_act_r<R> = Σ max(f, R·t)`` and ``roof_all_r<R> = Σ max(f, R·(t + w))``,
in FLOP-equivalents. Bytes are those of the traced dtype (fp32); a device running *all* of
its tensors in fp16 would move half of them, which only rescales its ridge point, but CUDA
autocast keeps some operators in fp32 (:mod:`collectors.features.amp`), so
``roof_amp_r<R> = Σ max(f, R·a)`` sums the same on the traffic ``a`` autocast moves. The torch
trace and the ONNX reader both call :func:`roofline_summary`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["RIDGES", "ROOFLINE_COLUMNS", "roofline_summary"]

#: Ridge points in FLOPs per byte of fp32 traffic, a factor of 2 apart so that a fit can place
#: a device between two of them: ~4-16 for a CPU at batch 1, ~64-256 for a GPU's tensor
#: cores at fp16 (which moves half the bytes counted here).
RIDGES: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256, 512)

ROOFLINE_COLUMNS: tuple[str, ...] = (*(f"roof_act_r{r}" for r in RIDGES), *(f"roof_all_r{r}" for r in RIDGES),
                                     *(f"roof_amp_r{r}" for r in RIDGES))


def roofline_summary(ops: Iterable[tuple[Any, Any, Any, Any]]) -> dict[str, int]:
    """The :data:`ROOFLINE_COLUMNS` of ``(flops, activation_bytes, weight_bytes, amp_bytes)``
    per operator (activation bytes = read + written in fp32; ``amp_bytes`` the same under CUDA
    autocast, :mod:`collectors.features.amp`). An op without FLOPs costs its traffic; a network
    without ops 0."""
    rows = np.array([tuple(v or 0 for v in op) for op in ops], dtype=float).reshape(-1, 4)
    flops, traffic, weights, amp = rows.T
    out: dict[str, int] = {}
    for r in RIDGES:
        out[f"roof_act_r{r}"] = int(np.maximum(flops, r * traffic).sum())
    for r in RIDGES:
        out[f"roof_all_r{r}"] = int(np.maximum(flops, r * (traffic + weights)).sum())
    for r in RIDGES:
        out[f"roof_amp_r{r}"] = int(np.maximum(flops, r * amp).sum())
    return out
