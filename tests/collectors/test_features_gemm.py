"""The GEMM geometry features: what each product's M, N, K are, and the model-level summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from collectors.features import compute_features
from collectors.features.gemm import GEMM_COLUMNS, NARROW_CHANNELS, conv_gemm, gemm_summary, matmul_gemm
from collectors.features.onnx_graph import onnx_file_features


def test_conv_and_matmul_dimensions():
    # 3x3 conv, 64 -> 128 channels, batch 2, 14x14 output: M = 2*14*14, N = 128, K = 64
    assert conv_gemm((2, 128, 14, 14), (128, 64, 3, 3), groups=1) == (392, 128, 64)
    # grouped conv (4 groups of 16 -> 32): per group N = 32, K = 16
    assert conv_gemm((1, 128, 7, 7), (128, 16, 3, 3), groups=4) == (49, 32, 16)
    # depthwise: one input channel per group
    assert conv_gemm((1, 32, 8, 8), (32, 1, 3, 3), groups=32) == (64, 1, 1)
    assert matmul_gemm((197, 192), (192, 576)) == (197, 576, 192)
    assert matmul_gemm((12, 197, 64), (12, 64, 197)) == (197, 197, 64)  # batch is the count


def test_summary_on_known_products():
    # two products: 3/4 of the FLOPs aligned and wide, 1/4 unaligned and narrow
    s = gemm_summary([(300, 256, 512, 128), (100, 64, 36, 12)])
    assert s["flops_gemm_aligned"] == 300 and s["flops_gemm_narrow"] == 100
    assert s["gemm_log2_m"] == pytest.approx(0.75 * 8 + 0.25 * 6)
    assert s["gemm_log2_narrow"] == pytest.approx(0.75 * 7 + 0.25 * math.log2(12))
    assert s["gemm_log2_wide"] == pytest.approx(0.75 * 9 + 0.25 * math.log2(36))
    empty = gemm_summary([(0, 1, 1, 1), (50, 0, 8, 8)])  # no FLOPs / an unknown dimension
    assert empty["flops_gemm_aligned"] == 0 and np.isnan(empty["gemm_log2_m"])


products = st.lists(st.tuples(st.integers(1, 10**9), st.integers(1, 4096), st.integers(1, 4096),
                              st.integers(1, 4096)), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(products)
def test_summary_properties(prods):
    """Swapping N and K (QKᵀ vs AV) changes nothing; the shares stay within the FLOPs; scaling
    every product's FLOPs leaves the means alone; the means lie within the dimensions' range."""
    s = gemm_summary(prods)
    swapped = gemm_summary([(f, m, k, n) for f, m, n, k in prods])
    assert s == pytest.approx(swapped)
    total = sum(f for f, *_ in prods)
    assert 0 <= s["flops_gemm_aligned"] <= total and 0 <= s["flops_gemm_narrow"] <= total
    assert s["flops_gemm_narrow"] == sum(f for f, _, n, k in prods if min(n, k) < NARROW_CHANNELS)
    scaled = gemm_summary([(3 * f, m, n, k) for f, m, n, k in prods])
    for c in ("gemm_log2_m", "gemm_log2_narrow", "gemm_log2_wide"):
        assert scaled[c] == pytest.approx(s[c])
    ms = [math.log2(m) for _, m, _, _ in prods]
    assert min(ms) - 1e-9 <= s["gemm_log2_m"] <= max(ms) + 1e-9
    assert s["gemm_log2_narrow"] <= s["gemm_log2_wide"] + 1e-9


class _Tokens(nn.Module):
    """A patch embedding, one attention block and a head: convolution, linear layers on a 3-D
    token tensor and scaled-dot-product attention, the three ways a product reaches the trace."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 48, 8, stride=8)
        self.qkv = nn.Linear(48, 144)
        self.proj = nn.Linear(48, 48)
        self.head = nn.Linear(48, 10)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)  # (B, 16, 48)
        b, n, c = t.shape
        q, k, v = self.qkv(t).reshape(b, n, 3, 4, c // 4).permute(2, 0, 3, 1, 4).unbind(0)
        a = nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c)
        return self.head(self.proj(a).mean(1))


def test_trace_reads_each_product():
    row = compute_features(_Tokens().eval(), 32).to_row()
    # patch conv: M 16, N 48, K 3 (narrow, unaligned); qkv: 16 x 144 x 48; proj 16 x 48 x 48;
    # attention: 16 queries x 16 keys x head dim 12; head: 1 x 10 x 48
    prods = [(2 * 16 * 48 * 3 * 64, 16, 48, 3), (2 * 16 * 144 * 48, 16, 144, 48), (2 * 16 * 48 * 48, 16, 48, 48),
             (2 * 2 * 4 * 16 * 16 * 12, 16, 16, 12), (2 * 10 * 48, 1, 10, 48)]
    assert sum(p[0] for p in prods) == row["flops"]
    assert {c: row[c] for c in GEMM_COLUMNS} == pytest.approx(gemm_summary(prods))


def test_onnx_graph_gives_the_torch_geometry(tmp_path):
    """The same network through an ONNX file: the exporter's MatMul/Gemm/Conv nodes give the
    summaries the torch trace gives (attention as two MatMuls, linear on 3-D tokens)."""
    model = _Tokens().eval()
    path = tmp_path / "tokens.onnx"
    with torch.no_grad():
        torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), str(path), dynamo=False, opset_version=17)
    torch_row = compute_features(model, 32).to_row()
    onnx_row = onnx_file_features(path)
    assert onnx_row["flops"] == torch_row["flops"]
    assert {c: onnx_row[c] for c in GEMM_COLUMNS} == pytest.approx({c: torch_row[c] for c in GEMM_COLUMNS})
    # the products read the same activations (weights and biases are initialisers, not reads)
    for c in ("conv_standard", "linear_matmul"):
        assert onnx_row[f"reads_{c}"] == torch_row[f"reads_{c}"] > 0, c
