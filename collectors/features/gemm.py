"""The matrix-product geometry of a network: how wide, how deep and how aligned its GEMMs are.

Why: two networks with the same FLOPs per category can run at very different speeds on an
accelerator, because a matrix unit is only full when the product's dimensions are. Tensor
cores take fp16 tiles whose channel dimensions are multiples of 8, so a RegNet or ReXNet
with channel counts like 36 or 120 + 12 runs below peak; a 64-channel 1×1 convolution feeds
the unit less well than a 768-wide linear layer of the same FLOPs. Per-category totals
cannot see that; these few FLOPs-weighted summaries of the products' shapes can.

Every convolution, matrix product and attention call is read as one GEMM per group of
``M × K`` by ``K × N`` (batch, heads and groups folded into the count, not the shape):

- convolution: ``M`` = output positions (batch × height × width), ``N`` = output channels per
  group, ``K`` = input channels per group (the reduction depth per kernel tap, the dimension
  a tensor-core kernel tiles; the kernel area multiplies the work, not the tile);
- ``mm`` / ``addmm`` / ``bmm`` / ``baddbmm``: the operands' own ``M``, ``K``, ``N``;
- attention: ``M`` = query tokens, ``N`` = key tokens, ``K`` = head dimension (``QKᵀ``; ``AV``
  has the same dimensions in another order, which is why the summaries use min(N, K) and
  max(N, K), never N or K alone).

The torch trace (:mod:`collectors.features.flops`) and the ONNX reader
(:mod:`collectors.features.onnx_graph`) both call :func:`gemm_summary`, so a network's row is
the same whichever way it arrived.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["GEMM_COLUMNS", "NARROW_CHANNELS", "TILE", "conv_gemm", "gemm_summary", "matmul_gemm"]

#: Channel multiple a tensor-core fp16 tile needs (cuDNN and cuBLAS fall back below it).
TILE = 8
#: A product with fewer channels than this on its narrower side cannot fill a matrix unit.
NARROW_CHANNELS = 64

GEMM_COLUMNS: tuple[str, ...] = (
    "flops_gemm_aligned",   # FLOPs of products whose N and K are both multiples of TILE
    "flops_gemm_narrow",    # FLOPs of products with min(N, K) < NARROW_CHANNELS
    "gemm_log2_m",          # FLOPs-weighted mean of log2 M (NaN without products)
    "gemm_log2_narrow",     # ... of log2 min(N, K)
    "gemm_log2_wide",       # ... of log2 max(N, K)
)


def conv_gemm(out_shape: Iterable[int], weight_shape: Iterable[int], groups: int) -> tuple[int, int, int]:
    """``(M, N, K)`` of a convolution with output ``(B, C_out, *spatial)`` and weight
    ``(C_out, C_in / groups, *kernel)``."""
    out = [int(d) for d in out_shape]
    weight = [int(d) for d in weight_shape]
    m = int(np.prod(out[:1] + out[2:]))
    return m, weight[0] // max(int(groups), 1), weight[1]


def matmul_gemm(a_shape: Iterable[int], b_shape: Iterable[int]) -> tuple[int, int, int]:
    """``(M, N, K)`` of ``a @ b`` with ``a`` ``(..., M, K)`` and ``b`` ``(..., K, N)``
    (leading batch dimensions are the count, not the shape)."""
    a = [int(d) for d in a_shape]
    b = [int(d) for d in b_shape]
    m = a[-2] if len(a) >= 2 else 1
    return m, b[-1] if len(b) >= 2 else 1, a[-1]


def gemm_summary(products: Iterable[tuple[Any, Any, Any, Any]]) -> dict[str, float]:
    """The :data:`GEMM_COLUMNS` of ``(flops, M, N, K)`` tuples (products with 0 FLOPs or an
    unknown dimension, given as 0, are left out). FLOPs sums are ints; the log2 means are NaN
    when no product is left. N and K enter only as their min and max: attention's ``QKᵀ``
    and ``AV`` swap them, and one traced attention call stands for both."""
    rows = np.array([(f, m, n, k) for f, m, n, k in products if f and f > 0 and m and n and k],
                    dtype=float).reshape(-1, 4)
    flops, m, n, k = rows.T
    total = flops.sum()
    aligned = (n % TILE == 0) & (k % TILE == 0)
    narrow = np.minimum(n, k) < NARROW_CHANNELS

    def mean_log2(dim: np.ndarray) -> float:
        return float(np.sum(flops * np.log2(np.maximum(dim, 1))) / total) if total > 0 else float("nan")

    return {
        "flops_gemm_aligned": int(flops[aligned].sum()),
        "flops_gemm_narrow": int(flops[narrow].sum()),
        "gemm_log2_m": mean_log2(m),
        "gemm_log2_narrow": mean_log2(np.minimum(n, k)),
        "gemm_log2_wide": mean_log2(np.maximum(n, k)),
    }
