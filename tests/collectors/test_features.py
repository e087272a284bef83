"""Static features: FLOPs/MACs, attention counting, categories, per-layer table."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import timm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from timm.models.vision_transformer import Block
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from collectors.features import CATEGORIES, categorize_op, compute_features, conv_category
from collectors.features.categories import CATEGORY_STATS, OpContext
from collectors.features.compute import trace_ops
from collectors.modelprep import randomize_batchnorm


def raw_flopcounter_total(model: nn.Module, size: int) -> int:
    """FlopCounterMode out of the box: the reference our CNN counts must match."""
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fcm:
        model(torch.randn(1, 3, size, size))
    return fcm.get_total_flops()


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    return randomize_batchnorm(timm.create_model("resnet18", pretrained=False).eval())


@pytest.fixture(scope="module")
def resnet18_features(resnet18: nn.Module):
    return compute_features(resnet18, 224, model_id="resnet18")


@pytest.fixture(scope="module")
def mobilenet_features():
    model = timm.create_model("mobilenetv3_small_100", pretrained=False)
    return compute_features(model, 224, model_id="mobilenetv3_small_100")


@pytest.fixture(scope="module")
def deit_features():
    model = timm.create_model("deit_tiny_patch16_224", pretrained=False)
    return compute_features(model, 224, model_id="deit_tiny_patch16_224")


# --------------------------------------------------------------------------- totals
def test_resnet18_macs_match_flopcounter_and_published(resnet18, resnet18_features):
    f = resnet18_features
    assert f.flops == 2 * f.macs
    assert f.macs / 1e9 == pytest.approx(1.82, rel=0.01)
    assert f.flops == pytest.approx(raw_flopcounter_total(resnet18, 224), rel=0.01)
    assert f.flops_flopcounter_raw == f.flops  # no attention: the formula adds nothing
    assert f.params == sum(p.numel() for p in resnet18.parameters()) == 11_689_512


def test_bytes_and_intensity_are_consistent(resnet18_features):
    f = resnet18_features
    # fp32: 4 bytes per parameter, plus BN running stats and counters
    assert f.weight_bytes >= 4 * f.params
    assert f.activation_bytes == f.ops.loc[f.ops["category"] != "constant", "out_bytes"].sum() > 0
    # the first conv alone writes 64×112×112 fp32 values
    first = f.layers.iloc[0]
    assert (first["module"], first["category"], first["output_bytes"]) == ("conv1", "conv_standard", 64 * 112 * 112 * 4)
    assert f.arithmetic_intensity == pytest.approx(f.flops / (f.weight_bytes + f.activation_bytes))


class _ReadsNet(nn.Module):
    """conv → in-place ReLU → residual add with a transposed copy of itself → mean."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        y = torch.relu_(self.conv(x))
        return (y + y.transpose(2, 3).contiguous()).mean((2, 3))


def test_reads_count_activation_inputs_not_weights_or_views():
    """Per category, the activation bytes an op reads: the conv its input (not its weight or
    bias), the in-place ReLU what it overwrites, the copy behind ``contiguous`` its source, the
    add both operands, the mean its input; the transpose view reads nothing."""
    f = compute_features(_ReadsNet().eval(), 8)
    plane = 8 * 8 * 8 * 4  # one (1, 8, 8, 8) fp32 activation
    reads = f.categories["reads"]
    assert reads["conv_standard"] == 3 * 8 * 8 * 4
    assert reads["activation"] == plane
    assert reads["data_movement"] == plane  # the copy; the transpose view is 0
    assert reads["elementwise"] == 2 * plane
    assert reads["pooling"] == plane
    assert f.to_row()["reads_conv_standard"] == 3 * 8 * 8 * 4
    assert reads.sum() == f.ops["in_bytes"].sum()


class _StandardisedConv(nn.Conv2d):
    """An NF-Net's convolution: its kernel standardised on every forward, from the weights alone."""

    def forward(self, x):
        w = self.weight
        w = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
        return self._conv_forward(x, w, self.bias)


def _two_convs(conv: type[nn.Conv2d]) -> nn.Module:
    return nn.Sequential(conv(3, 16, 3, padding=1), nn.ReLU(), conv(16, 16, 3, padding=1))


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_ops_computed_from_the_weights_alone_are_constant_not_per_image(device):
    """Weight standardisation reads no image data: its ops are ``constant``, the convolutions
    read the standardised kernel as a weight, and every per-image feature (activation bytes,
    reads, roofline sums, GEMM geometry) is that of the same network with plain kernels."""
    from collectors.features.meta import build_on_meta

    std = build_on_meta(lambda: _two_convs(_StandardisedConv)) if device == "meta" else \
        _two_convs(_StandardisedConv).eval()
    plain = build_on_meta(lambda: _two_convs(nn.Conv2d)) if device == "meta" else _two_convs(nn.Conv2d).eval()
    a, b = compute_features(std, 16).to_row(), compute_features(plain, 16).to_row()
    assert a["count_constant"] >= 8 and a["bytes_constant"] > 0 and b["count_constant"] == 0
    per_image = [c for c in a if c.startswith(("reads_", "roof_", "gemm_", "flops_conv")) or c in
                 ("activation_bytes", "flops_gemm_aligned")]
    assert {c: a[c] for c in per_image} == {c: b[c] for c in per_image}
    # the standardised kernels are weights to the convolutions that read them
    assert a["bytes_conv_standard"] == b["bytes_conv_standard"]


def test_category_sums_equal_totals(resnet18_features, mobilenet_features, deit_features):
    for f in (resnet18_features, mobilenet_features, deit_features):
        cats = f.categories
        assert list(cats.index) == list(CATEGORIES)
        assert cats["flops"].sum() == f.flops
        assert cats["count"].sum() == len(f.ops)
        constant_writes = f.ops.loc[f.ops["category"] == "constant", "out_bytes"].sum()
        assert cats["bytes"].sum() == f.activation_bytes + constant_writes + f.ops["weight_bytes"].sum()
        assert f.layers["flops"].sum() == f.flops
        row = f.to_row()
        assert sum(row[f"flops_{c}"] for c in CATEGORIES) == row["flops"]


def test_resnet_has_no_attention_and_no_depthwise(resnet18_features):
    cats = resnet18_features.categories
    assert cats.at["attention", "count"] == 0
    assert cats.at["conv_depthwise", "count"] == 0
    # 17 3×3/7×7 convs, 3 1×1 downsample convs, one classifier
    assert cats.at["conv_standard", "count"] == 17
    assert cats.at["conv_pointwise", "count"] == 3
    assert cats.at["linear_matmul", "count"] == 1


def test_mobilenet_depthwise_convs_found(mobilenet_features):
    model = timm.create_model("mobilenetv3_small_100", pretrained=False)
    expected = sum(
        1 for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == m.in_channels > 1
    )
    assert expected > 0
    assert mobilenet_features.categories.at["conv_depthwise", "count"] == expected
    layers = mobilenet_features.layers
    dw = layers[layers["category"] == "conv_depthwise"]
    assert len(dw) == expected and (dw["module_type"] == "Conv2d").all()


def test_deit_tiny_counts_attention(deit_features):
    f = deit_features
    assert f.macs / 1e9 == pytest.approx(1.254, abs=0.005)
    assert f.flops_flopcounter_raw / 2e9 == pytest.approx(1.075, abs=0.005)  # what FlopCounterMode misses
    n, d, depth = 197, 192, 12
    assert f.categories.at["attention", "flops"] == depth * 2 * (2 * n * n * d)
    assert "sdpa" not in f.summary()  # summary speaks in categories, not op names
    assert "attention" in f.summary()


def test_macs_agree_with_timm_published_gmacs(shared_data, resnet18_features, deit_features):
    """timm's own benchmark CSV (public data) lists infer_gmacs per (model, size)."""
    csv = shared_data / "timm" / "benchmark-infer-amp-nchw-pt291-cu128-4090.csv"
    if not csv.exists():
        pytest.skip(f"{csv.name} not in the public data")
    table = pd.read_csv(csv).set_index(["model", "infer_img_size"])["infer_gmacs"]
    for f in (resnet18_features, deit_features):
        published = float(table.loc[(f.model, 224)])
        # published figures have 2 decimals
        assert f.macs / 1e9 == pytest.approx(published, abs=0.011)


# --------------------------------------------------------------------------- attention block
class TokenBlock(nn.Module):
    """One ViT block on ``tokens×dim`` inputs."""

    def __init__(self, dim: int = 64, heads: int = 4, fused: bool = True) -> None:
        super().__init__()
        self.block = Block(dim, heads)
        self.block.attn.fused_attn = fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


def attention_flops(block: nn.Module, tokens: int, dim: int) -> tuple[int, int]:
    total, _raw, records = trace_ops(block, torch.randn(2, tokens, dim))
    attn = sum(r.flops for r in records if r.category == "attention")
    return attn, total


@pytest.mark.parametrize("fused", [True, False], ids=["sdpa", "explicit_matmul"])
def test_vit_block_attention_flops_match_formula(fused):
    dim, heads, batch = 64, 4, 2
    block = TokenBlock(dim, heads, fused)
    for tokens in (16, 32):
        attn, total = attention_flops(block, tokens, dim)
        head_dim = dim // heads
        # QKᵀ and AV: 2·N²·d each, per head, per batch element
        assert attn == batch * heads * 2 * (2 * tokens * tokens * head_dim)
        linear = sum(p.numel() for n, p in block.named_parameters() if n.endswith("weight") and p.ndim == 2)
        assert total - attn == 2 * batch * tokens * linear
    small, _ = attention_flops(block, 16, dim)
    large, _ = attention_flops(block, 32, dim)
    assert large > 2 * small


def test_explicit_attention_matmuls_are_not_linear():
    _, _, records = trace_ops(TokenBlock(fused=False), torch.randn(1, 8, 64))
    cats = {(r.op, r.category) for r in records if r.flops}
    assert ("aten.bmm", "attention") in cats
    assert not any(op == "aten.bmm" and c == "linear_matmul" for op, c in cats)
    softmax = [r.category for r in records if "softmax" in r.op]
    assert softmax == ["attention"]


# --------------------------------------------------------------------------- category rules
conv_configs = st.tuples(
    st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple),
    st.integers(1, 64),
    st.integers(1, 16),
).map(lambda t: (t[0], t[1] * t[2], t[1]))  # (kernel, in_channels, groups) with groups | in_channels


@settings(max_examples=200, deadline=None)
@given(conv_configs)
def test_conv_category_consistent_with_definitions(config):
    kernel, in_channels, groups = config
    cat = conv_category(kernel, groups, in_channels)
    assert cat in CATEGORIES and cat.startswith("conv_")
    assert (cat == "conv_depthwise") == (groups == in_channels > 1)
    assert (cat == "conv_grouped") == (1 < groups < in_channels)
    assert (cat == "conv_pointwise") == (groups == 1 and all(k == 1 for k in kernel))
    assert (cat == "conv_standard") == (groups == 1 and any(k > 1 for k in kernel))
    op_cat = categorize_op("aten.convolution.default", OpContext(conv_geometry=(kernel, groups, in_channels)))
    assert op_cat == cat


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 64), st.integers(2, 8))
def test_conv_category_rejects_impossible_groups(in_channels, extra):
    with pytest.raises(ValueError, match="groups"):
        conv_category((3, 3), in_channels + extra, in_channels)


@pytest.mark.parametrize(
    ("op", "context", "expected"),
    [
        ("aten.addmm.default", OpContext(has_parameter_operand=True), "linear_matmul"),
        ("aten.bmm.default", OpContext(has_parameter_operand=False), "attention"),
        ("aten._scaled_dot_product_flash_attention_for_cpu.default", OpContext(), "attention"),
        ("aten._softmax.default", OpContext(in_attention_module=True), "attention"),
        ("aten._softmax.default", OpContext(), "activation"),
        ("aten.relu_.default", OpContext(), "activation"),
        ("aten.hardswish_.default", OpContext(), "activation"),
        ("aten.native_batch_norm.default", OpContext(), "normalization"),
        ("aten.native_layer_norm.default", OpContext(), "normalization"),
        ("aten.max_pool2d_with_indices.default", OpContext(), "pooling"),
        ("aten.mean.dim", OpContext(), "pooling"),
        ("aten.add.Tensor", OpContext(), "elementwise"),
        ("aten.mul_.Tensor", OpContext(), "elementwise"),
        ("aten.permute.default", OpContext(), "data_movement"),
        ("aten.cat.default", OpContext(), "data_movement"),
        ("aten.constant_pad_nd.default", OpContext(), "data_movement"),
        ("aten.arange.start", OpContext(), "other"),
    ],
)
def test_op_rules(op, context, expected):
    assert categorize_op(op, context) == expected


def test_summary_and_row_are_complete(resnet18_features):
    row = resnet18_features.to_row()
    for key in ("model", "input_size", "flops", "macs", "params", "activation_bytes", "weight_bytes",
                "arithmetic_intensity"):
        assert key in row
    assert all(f"{s}_{c}" in row for s in CATEGORY_STATS for c in CATEGORIES)
    assert not any(isinstance(v, float) and math.isnan(v) for v in row.values())
    assert "GMACs 1.81" in resnet18_features.summary()


@pytest.mark.parametrize("size", [0, -3, 7])
def test_untraceable_input_is_one_line_feature_error(size):
    """A model that cannot run at the size (here: a fixed-width Linear) or a
    non-positive size gives one line naming the model and size."""
    from collectors.features import FeatureError

    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
    with pytest.raises(FeatureError, match=f"tiny.*{size}") as info:
        compute_features(model, size, model_id="tiny")
    assert "\n" not in str(info.value)


def test_autocast_bytes_follow_cuda_autocast_policy():
    """Under CUDA autocast(fp16) a convolution writes fp16, BatchNorm and ReLU keep it (a
    conv-BN-ReLU net moves exactly half its fp32 bytes), while a normalisation on autocast's
    fp32 list writes fp32 and an fp32 parameter added to an fp16 activation promotes it."""
    a = compute_features(nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.ReLU()).eval(), 4).to_row()
    assert a["amp_activation_bytes"] * 2 == a["activation_bytes"] == 3 * 8 * 16 * 4

    class _Shift(nn.Module):  # an fp32 learned offset, as a ViT's position embedding
        def __init__(self):
            super().__init__()
            self.offset = nn.Parameter(torch.zeros(1, 8, 4, 4))

        def forward(self, x):
            return x + self.offset

    b = compute_features(nn.Sequential(nn.Conv2d(3, 8, 1), _Shift()).eval(), 4).to_row()
    assert b["amp_activation_bytes"] == 8 * 16 * 2 + 8 * 16 * 4  # fp16 conv, then an fp32 sum
    c = compute_features(nn.Sequential(nn.Conv2d(3, 8, 1), nn.GroupNorm(1, 8)).eval(), 4).to_row()
    assert c["amp_activation_bytes"] / c["activation_bytes"] > 0.7  # the norm's output stays fp32
