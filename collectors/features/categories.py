"""Operator categories: which aten op, in which context, counts as what.

The rules are data (``OP_RULES``), read top to bottom, first match wins, so a
new operator or a disputed classification is a one-line change here and not an
``if`` buried in the counting code. Two things need more than the op name and
are decided by small functions below the table:

- convolutions are split by geometry (:func:`conv_category`);
- a matrix product whose operands are both activations (no parameter among
  them) is the ``q @ k^T`` or ``attn @ v`` of an attention layer, and is
  counted as ``attention``, not ``linear_matmul``; a softmax inside a module
  whose class name says attention is counted as attention as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CATEGORIES",
    "CATEGORY_STATS",
    "CONSTANT",
    "IGNORED_OPS",
    "OP_RULES",
    "ATTENTION_MODULE_PATTERN",
    "OpContext",
    "categorize_op",
    "conv_category",
    "op_base_name",
]

# Order is the column order of the feature table.
CATEGORIES: tuple[str, ...] = (
    "conv_standard",
    "conv_depthwise",
    "conv_pointwise",
    "conv_grouped",
    "linear_matmul",
    "attention",
    "normalization",
    "activation",
    "pooling",
    "elementwise",
    "data_movement",
    "other",  # anything no rule names: factory ops (zeros, arange), bookkeeping
    "constant",  # reads nothing computed from the image: see CONSTANT below
)

#: The category of an op none of whose inputs derives from the network's input (every operand
#: a weight, a buffer or a tensor made from them): NF-Nets standardising their convolution
#: weights, a relative-position-bias table gathered by a fixed index, Swin V2's position MLP
#: on fixed coordinates, a class token expanded. Why apart: it is not per-image work. An
#: exporter constant-folds it (ONNX, TFLite, QNN), a batch of 1,024 images pays it once, and
#: at batch 1 in an eager runtime it is one more kernel per forward. Counted as per-image
#: work, weight standardisation alone doubled an NF-ResNet's traced memory traffic.
CONSTANT = "constant"

#: What the features table keeps per category, as ``<stat>_<category>`` columns: FLOPs, op
#: calls, bytes written (outputs plus parameters read) and activation bytes read. Reads are
#: apart from writes because a memory-bound op's time follows its traffic, and a softmax, a
#: residual add or a copy after a permute reads as much as (or more than) it writes.
CATEGORY_STATS: tuple[str, ...] = ("flops", "count", "bytes", "reads")

# Pure allocations (no data read or written) that appear or not depending on
# which decomposition path torch takes (e.g. BatchNorm's saved-stat buffers);
# they are not recorded at all.
IGNORED_OPS: frozenset[str] = frozenset({"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"})

# Module class names that make a softmax / act-by-act matmul "attention".
ATTENTION_MODULE_PATTERN = re.compile(r"attn|attention", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """``pattern`` is matched (``re.fullmatch``) against the aten op base name,
    the in-place underscore removed (``relu_`` → ``relu``). ``category`` is a
    name from CATEGORIES or one of the deciders ``"conv"`` / ``"matmul"`` /
    ``"softmax"`` resolved by :func:`categorize_op`."""

    pattern: str
    category: str


OP_RULES: tuple[Rule, ...] = (
    # --- compute with multiply-accumulates ---------------------------------
    Rule(r"_?convolution|mkldnn_convolution|conv[123]d|conv_transpose[123]d|_conv_depthwise2d|thnn_conv2d", "conv"),
    Rule(
        r"_scaled_dot_product\w*|scaled_dot_product_attention|_flash_attention\w*|_efficient_attention\w*",
        "attention",
    ),
    Rule(r"addmm|mm|bmm|baddbmm|addbmm|matmul|linear|_addmm_activation|addmv|mv|dot|einsum", "matmul"),
    # --- normalisation ------------------------------------------------------
    Rule(
        r"\w*batch_norm\w*|\w*layer_norm\w*|\w*group_norm\w*|\w*instance_norm\w*|\w*rms_norm\w*"
        r"|renorm|local_response_norm",
        "normalization",
    ),
    # --- activations ----------------------------------------------------------
    Rule(r"_?softmax|_?log_softmax|_safe_softmax", "softmax"),
    Rule(
        r"relu|relu6|leaky_relu|rrelu\w*|prelu|_prelu_kernel|elu|selu|celu|gelu|silu|mish|sigmoid|hardsigmoid"
        r"|hardswish|hardtanh|tanh|softplus|softsign|logsigmoid|glu|threshold|clamp|clamp_min|clamp_max|clip",
        "activation",
    ),
    # --- pooling (global average pooling is usually a mean over H, W) -----------
    Rule(r"\w*max_pool\w*|\w*avg_pool\w*|\w*adaptive_\w*pool\w*|\w*lp_pool\w*|mean|amax|amin|max_unpool\w*", "pooling"),
    # --- data movement: views, copies, concatenation, padding, resampling ----------
    Rule(
        r"view|_unsafe_view|reshape|_reshape_alias|permute|transpose|t|expand|expand_as|contiguous|clone|cat|concat"
        r"|stack|hstack|vstack|constant_pad_nd|pad|reflection_pad\w*|replication_pad\w*|split|split_with_sizes|chunk"
        r"|unsafe_split\w*|slice|select|unsqueeze|squeeze|flatten|unflatten|unbind|index|index_select|gather|scatter\w*"
        r"|roll|flip|copy|_to_copy|to|alias|detach|narrow|repeat|tile|as_strided|upsample\w*|_upsample\w*"
        r"|pixel_shuffle|pixel_unshuffle|channel_shuffle|native_channel_shuffle|im2col|col2im|unfold|movedim|swapaxes"
        r"|lift_fresh\w*|_reshape_copy|view_as|masked_select|take",
        "data_movement",
    ),
    # --- everything else that computes element by element ----------------------------
    Rule(
        r"add|sub|rsub|mul|div|true_divide|floor_divide|pow|sqrt|rsqrt|exp|log|log1p|neg|abs|sign|reciprocal"
        r"|where|sum|prod|cumsum|max|min|maximum|minimum|addcmul|addcdiv|lerp|erf|sin|cos|square|norm"
        r"|linalg_vector_norm|frobenius_norm|floor|ceil|round|trunc|remainder|fmod|eq|ne|lt|le|gt|ge|logical_\w*"
        r"|bitwise_\w*|masked_fill|std|var|var_mean|std_mean|argmax|argmin|sort|topk|exp2|expm1|fill|zero",
        "elementwise",
    ),
)

_COMPILED: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(r.pattern), r.category) for r in OP_RULES)


def conv_category(kernel_size: tuple[int, ...], groups: int, in_channels: int) -> str:
    """Classify a convolution by geometry.

    - ``conv_depthwise``: ``groups == in_channels > 1`` (any kernel, 1×1 included);
    - ``conv_grouped``: ``1 < groups < in_channels``;
    - ``conv_pointwise``: every kernel dimension 1 and ``groups == 1``;
    - ``conv_standard``: ``groups == 1`` with a larger kernel.
    ``groups > in_channels`` is impossible for a valid convolution and raises.
    """
    if groups < 1 or in_channels < 1 or groups > in_channels or in_channels % groups:
        raise ValueError(f"invalid convolution geometry: groups={groups}, in_channels={in_channels}")
    if groups == in_channels and in_channels > 1:
        return "conv_depthwise"
    if groups > 1:
        return "conv_grouped"
    if all(k == 1 for k in kernel_size):
        return "conv_pointwise"
    return "conv_standard"


@dataclass(frozen=True)
class OpContext:
    """What :func:`categorize_op` may look at besides the op name.

    ``conv_geometry``: ``(kernel_size, groups, in_channels)`` for convolutions;
    ``has_parameter_operand``: a parameter or buffer of the model is an input
    (a weight-times-activation product rather than activation-by-activation);
    ``in_attention_module``: some enclosing module's class name matches
    ATTENTION_MODULE_PATTERN; ``reads_input``: some operand derives from the network's input
    (else the op is :data:`CONSTANT`).
    """

    conv_geometry: tuple[tuple[int, ...], int, int] | None = None
    has_parameter_operand: bool = True
    in_attention_module: bool = False
    reads_input: bool = True


def op_base_name(op_name: str) -> str:
    """``aten.relu_.default`` / ``relu_`` → ``relu``."""
    name = op_name.split(".")[1] if op_name.startswith("aten.") else op_name.split(".")[0]
    if name.endswith("_") and not name.endswith("__"):
        name = name[:-1]
    return name


def categorize_op(op_name: str, context: OpContext = OpContext()) -> str:
    """Category of one aten op call (``op_name`` like ``"aten.addmm.default"`` or ``"addmm"``)."""
    if not context.reads_input:
        return CONSTANT
    base = op_base_name(op_name)
    for pattern, category in _COMPILED:
        if not pattern.fullmatch(base):
            continue
        if category == "conv":
            if context.conv_geometry is None:
                return "conv_standard"
            kernel, groups, in_channels = context.conv_geometry
            return conv_category(kernel, groups, in_channels)
        if category == "matmul":
            return "linear_matmul" if context.has_parameter_operand else "attention"
        if category == "softmax":
            return "attention" if context.in_attention_module else "activation"
        return category
    return "other"
