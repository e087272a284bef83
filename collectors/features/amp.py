"""The bytes a network moves under mixed precision: CUDA autocast's fp16 policy, simulated.

Why: timm's GPU benchmarks (and most GPU deployments) run under ``torch.autocast`` with
fp16. Autocast does not halve every tensor: convolutions and matrix products run (and write)
in fp16, a list of numerically sensitive operators runs in fp32 (layer and group norm,
softmax, sums, exponentials, powers), and everything else computes in the widest float type
among its operands, so an fp16 activation added to an fp32 position embedding or scaled by
an fp32 LayerScale becomes fp32 again. A ResNet's traffic (BatchNorm keeps fp16) therefore
halves under autocast while a ViT's or a ConvNeXt's keeps ~64 % of its fp32 size (an XCiT's
70 %): counting fp32 bytes misstates how much more memory-bound a transformer is than a
convnet on exactly the configurations a GPU is measured on. On the public data the cold-start
ensemble's leave-family-out residual on the RTX 3090 / 4090 eager correlated with log(autocast
/ fp32 traffic) within families (Pearson r −0.25 / −0.22, against −0.11 / 0.00 on the two fp32
CPUs), so the trace records both.

The policy is CUDA's autocast operator lists (``torch.amp`` docs, "CUDA Ops that can autocast
to float16 / float32"), read by aten base name; the ONNX reader applies the same policy by
node type. Parameters are fp32; an fp16 operator reads its weights cast to fp16 (a cast a
runtime makes once per forward, not per image, so not counted). The network's input is fp32.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AMP_COLUMNS", "FLOAT", "HALF", "ONNX_FLOAT", "ONNX_HALF", "amp_itemsize", "onnx_amp_itemsize"]

#: The features table's columns of autocast bytes (per-image operators, batch 1): what they
#: write, and the activation bytes they read. ``roof_amp_r<R>`` (collectors.features.roofline)
#: are the per-operator roofline sums on this traffic.
AMP_COLUMNS: tuple[str, ...] = ("amp_activation_bytes", "amp_reads")

#: aten operators autocast runs in fp16 (their outputs are fp16 whatever their inputs)
HALF: frozenset[str] = frozenset({
    "convolution", "_convolution", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "addmm", "addmv", "addr", "matmul", "einsum", "mm", "mv", "linear", "addbmm",
    "baddbmm", "bmm", "chain_matmul", "prelu", "_prelu_kernel", "scaled_dot_product_attention",
    "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_attention_math", "_addmm_activation", "_convolution_mode",
})
#: aten operators autocast runs in fp32 (their outputs are fp32)
FLOAT: frozenset[str] = frozenset({
    "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal",
    "rsqrt", "sinh", "tan", "pow", "softplus", "layer_norm", "native_layer_norm", "group_norm",
    "native_group_norm", "norm", "frobenius_norm", "nuclear_norm", "linalg_vector_norm", "cosine_similarity",
    "cdist", "renorm", "dist", "softmax", "_softmax", "log_softmax", "_log_softmax", "cumprod", "cumsum",
    "sum", "prod", "_safe_softmax",
})
#: the same policy for ONNX node types
ONNX_HALF: frozenset[str] = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm", "FusedMatMul", "PRelu",
                                       "Attention", "MultiHeadAttention"})
ONNX_FLOAT: frozenset[str] = frozenset({"LayerNormalization", "GroupNormalization", "SimplifiedLayerNormalization",
                                        "Softmax", "LogSoftmax", "ReduceSum", "ReduceProd", "ReduceL2",
                                        "ReduceLogSumExp", "LpNormalization", "Exp", "Log", "Pow",
                                        "Reciprocal", "Softplus", "CumSum"})


def _itemsize(policy: str, float_operands: Iterable[int], fallback: int) -> int:
    """Bytes per element of the outputs: ``half`` 2, ``float`` 4, ``keep`` the first
    operand's, ``promote`` the widest operand's (``fallback`` without float operands)."""
    if policy == "half":
        return 2
    if policy == "float":
        return 4
    sizes = list(float_operands)
    if not sizes:
        return fallback
    return sizes[0] if policy == "keep" else max(sizes)


def amp_itemsize(op_base: str, float_operands: Iterable[int], fallback: int = 4,
                 keeps_input_dtype: bool = False) -> int:
    """Bytes per element of an aten op's float outputs under CUDA autocast(fp16), from the
    simulated sizes of its floating-point operands (non-scalar; views and BatchNorm, which
    keeps its input's type with fp32 statistics, pass ``keeps_input_dtype`` and the input's
    size first)."""
    policy = ("keep" if keeps_input_dtype else "half" if op_base in HALF else "float" if op_base in FLOAT
              else "promote")
    return _itemsize(policy, float_operands, fallback)


def onnx_amp_itemsize(op_type: str, float_operands: Iterable[int], fallback: int = 4) -> int:
    """:func:`amp_itemsize` for an ONNX node (BatchNormalization keeps its input's type)."""
    policy = ("keep" if op_type == "BatchNormalization" else "half" if op_type in ONNX_HALF
              else "float" if op_type in ONNX_FLOAT else "promote")
    return _itemsize(policy, float_operands, fallback)
