"""The per-operator roofline sums: hand-computed cases, their bounds, and both readers agree."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from collectors.features import compute_features
from collectors.features.onnx_graph import onnx_file_features
from collectors.features.roofline import RIDGES, ROOFLINE_COLUMNS, roofline_summary


def test_each_operator_takes_its_own_max():
    # a product (1000 FLOPs, 100 activation bytes, 50 weight bytes; 60 bytes under autocast)
    # and an add (40 bytes; 40 under autocast: it kept an fp32 operand)
    s = roofline_summary([(1000, 100, 50, 60), (0, 40, 0, 40)])
    assert s["roof_act_r4"] == 1000 + 160 and s["roof_all_r4"] == 1000 + 160  # compute-bound product
    assert s["roof_act_r16"] == 1600 + 640 and s["roof_all_r16"] == 2400 + 640  # memory-bound now
    # one max over the totals would say max(1000, 4 * 140) = 1000 and miss that the add
    # cannot hide behind the product's arithmetic
    assert s["roof_act_r4"] > max(1000, 4 * 140)
    assert s["roof_amp_r16"] == 1000 + 640 and s["roof_amp_r32"] == 1920 + 1280  # the product's 60 B
    assert roofline_summary([]) == dict.fromkeys(ROOFLINE_COLUMNS, 0)


ops = st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7)),
               max_size=30)


@settings(max_examples=80, deadline=None)
@given(ops)
def test_bounds_and_order(records):
    """Σf ≤ roof ≤ Σf + R·Σbytes; non-decreasing in R; the weights can only add; and the sums
    are additive over operators (two halves of a network sum to the whole)."""
    s = roofline_summary(records)
    flops = sum(f for f, _, _, _ in records)
    traffic = sum(t for _, t, _, _ in records)
    weights = sum(w for _, _, w, _ in records)
    amp = sum(a for _, _, _, a in records)
    for r in RIDGES:
        assert max(flops, r * traffic) <= s[f"roof_act_r{r}"] <= flops + r * traffic
        assert s[f"roof_act_r{r}"] <= s[f"roof_all_r{r}"] <= flops + r * (traffic + weights)
        assert max(flops, r * amp) <= s[f"roof_amp_r{r}"] <= flops + r * amp
    for kind in ("act", "all", "amp"):
        values = [s[f"roof_{kind}_r{r}"] for r in RIDGES]
        assert values == sorted(values)
    half = len(records) // 2
    a, b = roofline_summary(records[:half]), roofline_summary(records[half:])
    assert {c: a[c] + b[c] for c in ROOFLINE_COLUMNS} == s


def test_trace_feeds_reads_writes_and_weights():
    # 1x1 conv 3 -> 8 on 4x4: 2*16*8*3 = 768 FLOPs; reads 3*16*4 = 192 B, writes 8*16*4 = 512 B,
    # weights (8*3 + 8)*4 = 128 B
    row = compute_features(nn.Conv2d(3, 8, 1).eval(), 4).to_row()
    assert row["flops"] == 768
    assert row["roof_act_r4"] == 4 * 704 and row["roof_all_r4"] == 4 * 832
    assert row["roof_act_r256"] == 256 * 704
    # under autocast the convolution reads the fp32 image (192 B) and writes fp16 (256 B)
    assert (row["amp_reads"], row["amp_activation_bytes"]) == (192, 256)
    assert row["roof_amp_r4"] == 4 * 448


class _ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pw = nn.Conv2d(16, 32, 1)

    def forward(self, x):
        return self.pw(self.dw(self.stem(x)))


def test_onnx_graph_gives_the_torch_sums(tmp_path):
    """Three convolutions through an ONNX file: the same per-operator costs as the trace."""
    model = _ConvNet().eval()
    path = tmp_path / "convs.onnx"
    with torch.no_grad():
        torch.onnx.export(model, (torch.randn(1, 3, 16, 16),), str(path), dynamo=False, opset_version=17)
    torch_row, onnx_row = compute_features(model, 16).to_row(), onnx_file_features(path)
    assert {c: onnx_row[c] for c in ROOFLINE_COLUMNS} == pytest.approx({c: torch_row[c] for c in ROOFLINE_COLUMNS})
    assert torch_row["roof_act_r256"] > torch_row["roof_act_r4"] > torch_row["flops"]
