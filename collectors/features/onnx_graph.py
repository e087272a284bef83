"""Static features of an ONNX file, from its graph alone (no PyTorch model needed).

Why: a user with a new architecture often has an exported graph and not the Python code
that built it. ONNX shape inference gives every tensor's shape, which is all the features
need: MACs of Conv / ConvTranspose / MatMul / Gemm from their operand shapes, bytes written
per node from its output shapes, parameter bytes from the initialisers, and the category of
every node from its op type (the same CATEGORIES as the aten trace, so one predictor serves
both). The row has the feature table's columns.

Differences from the aten trace, by construction: an exporter may have folded BatchNorm
into the preceding Conv and fused or decomposed other ops, so counts and bytes of the
cheap categories differ from a trace of the same network in PyTorch; the MAC-bearing
categories agree (tested on an exported model).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from collectors.features.categories import CATEGORIES, CATEGORY_STATS, conv_category
from collectors.features.compute import FeatureError
from collectors.features.gemm import conv_gemm, gemm_summary
from collectors.features.amp import onnx_amp_itemsize
from collectors.features.roofline import roofline_summary

__all__ = ["ONNX_CATEGORY", "onnx_file_features"]

_ACTIVATION = ("Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Gelu", "Tanh", "LeakyRelu",
               "PRelu", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Mish", "ThresholdedRelu",
               "LogSoftmax")
_NORMALIZATION = ("BatchNormalization", "LayerNormalization", "InstanceNormalization",
                  "GroupNormalization", "LpNormalization", "MeanVarianceNormalization",
                  "SimplifiedLayerNormalization", "RMSNormalization")
_POOLING = ("GlobalAveragePool", "AveragePool", "MaxPool", "GlobalMaxPool", "LpPool", "GlobalLpPool",
            "ReduceMean", "ReduceMax", "ReduceMin", "MaxRoiPool")
_DATA_MOVEMENT = ("Reshape", "Transpose", "Concat", "Split", "Slice", "Gather", "GatherElements",
                  "GatherND", "Squeeze", "Unsqueeze", "Flatten", "Expand", "Pad", "Resize", "Upsample",
                  "Tile", "DepthToSpace", "SpaceToDepth", "Cast", "Shape", "Size", "ScatterND",
                  "ScatterElements", "Identity", "CastLike", "Trilu", "Compress")
_ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Neg", "Abs",
                "Where", "ReduceSum", "ReduceProd", "ReduceL2", "ReduceSumSquare", "Equal", "Less",
                "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Erf", "Sin", "Cos",
                "Floor", "Ceil", "Round", "Min", "Max", "Sum", "Mean", "Sign", "Mod", "CumSum",
                "ArgMax", "ArgMin", "TopK")
#: op type → category for the ops decided by type alone (Conv, MatMul, Softmax decided below).
ONNX_CATEGORY: dict[str, str] = {
    **{op: "activation" for op in _ACTIVATION},
    **{op: "normalization" for op in _NORMALIZATION},
    **{op: "pooling" for op in _POOLING},
    **{op: "data_movement" for op in _DATA_MOVEMENT},
    **{op: "elementwise" for op in _ELEMENTWISE},
}
#: Graph bookkeeping that executes nothing once a runtime has loaded the graph.
_DROP = ("Constant",)


def _shape(info: Any) -> list[int | None] | None:
    t = info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]


def _numel(shape: Iterable[int | None] | None) -> int | None:
    if shape is None:
        return None
    n = 1
    for d in shape:
        if d is None:
            return None
        n *= int(d)
    return n


def _fix_input(model: Any, input_size: int | None) -> int:
    """Set the image input to 1×C×S×S (S = ``input_size`` or the graph's own) and return S."""
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if not inputs:
        raise FeatureError("ONNX graph has no input")
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise FeatureError(f"ONNX input {inputs[0].name!r} is not N×C×H×W (rank {len(dims)})")
    graph_size = dims[3].dim_value if dims[3].HasField("dim_value") else None
    size = int(input_size) if input_size is not None else graph_size
    if size is None:
        raise FeatureError("ONNX input has a symbolic spatial size; give --input-size")
    dims[0].dim_value = 1
    if not dims[1].HasField("dim_value"):
        dims[1].dim_value = 3
    dims[2].dim_value = size
    dims[3].dim_value = size
    return size


def onnx_file_features(path: str | Path, input_size: int | None = None,
                       model_id: str | None = None) -> dict[str, Any]:
    """The features row (FEATURE_COLUMNS) of the ONNX graph at ``path``, batch 1.

    ``input_size`` overrides the graph's spatial size (required when it is symbolic). Raises
    ``FeatureError`` with a one-line reason for an unreadable file or a graph whose MAC-bearing
    nodes have shapes that inference cannot determine.
    """
    import onnx
    from onnx import numpy_helper, shape_inference

    path = Path(path)
    name = model_id or path.stem
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises many unrelated classes
        raise FeatureError(f"{name}: {path} is not a readable ONNX file ({type(exc).__name__})") from exc
    try:
        size = _fix_input(model, input_size)
        model = shape_inference.infer_shapes(model, data_prop=True)
    except FeatureError as exc:
        raise FeatureError(f"{name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise FeatureError(f"{name}: ONNX shape inference failed: {str(exc).splitlines()[0]}") from exc
    graph = model.graph
    shapes: dict[str, list[int | None] | None] = {}
    itemsize: dict[str, int] = {}
    floating: dict[str, bool] = {}
    for info in [*graph.value_info, *graph.input, *graph.output]:
        shapes[info.name] = _shape(info)
        elem = info.type.tensor_type.elem_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(elem) if elem else None
        itemsize[info.name] = dtype.itemsize if dtype is not None else 4
        floating[info.name] = dtype is None or dtype.kind == "f"
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n, arr in initializers.items():
        shapes[n] = list(arr.shape)
        itemsize[n] = arr.dtype.itemsize
        floating[n] = arr.dtype.kind == "f"
    constant = set(initializers)
    for node in graph.node:  # outputs computed from constants only are constants (folded weights)
        if node.op_type == "Constant" or (node.input and all(i in constant or i == "" for i in node.input)):
            constant.update(node.output)

    stats = {cat: dict.fromkeys(CATEGORY_STATS, 0) for cat in CATEGORIES}
    products: list[tuple[int, int, int, int]] = []  # (flops, M, N, K) of every product
    # (flops, activation bytes read + written, weight bytes, the same traffic under autocast)
    per_op: list[tuple[int, int, int, int]] = []
    amp_size: dict[str, int] = {}  # bytes per element under CUDA autocast (collectors.features.amp)
    unknown: list[str] = []
    activation_bytes = amp_written = amp_read = 0
    n_ops = 0
    has_attention_matmul = False
    for node in graph.node:
        op = node.op_type
        if op in _DROP or (node.output and all(o in constant for o in node.output)):
            continue
        n_ops += 1
        flops = 0
        category = ONNX_CATEGORY.get(op, "other")
        out_shape = shapes.get(node.output[0]) if node.output else None
        if op in ("Conv", "ConvTranspose"):
            w = shapes.get(node.input[1])
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            groups = int(attrs.get("group", 1))
            if w is None or _numel(out_shape) is None:
                unknown.append(node.name or op)
            else:
                kernel = tuple(int(k) for k in w[2:])
                if op == "Conv":
                    in_ch = int(w[1]) * groups
                    flops = 2 * _numel(out_shape) * int(w[1]) * math.prod(kernel)
                    products.append((flops, *conv_gemm(out_shape, w, groups)))
                else:
                    in_ch = int(w[0])
                    x = shapes.get(node.input[0])
                    flops = 2 * (_numel(x) or 0) * int(w[1]) * math.prod(kernel)
                category = conv_category(kernel, groups, in_ch)
        elif op in ("MatMul", "Gemm", "MatMulInteger", "FusedMatMul"):
            a, b = shapes.get(node.input[0]), shapes.get(node.input[1])
            if a is None or b is None or _numel(out_shape) is None or not a:
                unknown.append(node.name or op)
            else:
                trans_a = any(x.name == "transA" and x.i for x in node.attribute)
                k = a[-2] if (op == "Gemm" and trans_a) else a[-1]
                flops = 2 * _numel(out_shape) * int(k or 0)
                n = int(out_shape[-1]) if out_shape else 1
                # torch flattens x @ W's leading dims into M (linear → addmm) but keeps a batched
                # product's batch out of it (bmm): read the ONNX node the same way
                m = _numel(out_shape) // max(n, 1) if len(b) <= 2 or len(out_shape) < 2 else int(out_shape[-2])
                products.append((flops, m, n, int(k or 0)))
            weighted = any(i in constant for i in node.input[:2])
            category = "linear_matmul" if weighted or op == "Gemm" else "attention"
            has_attention_matmul |= category == "attention"
        out_bytes = sum((_numel(shapes.get(o)) or 0) * itemsize.get(o, 4) for o in node.output if o)
        weight_bytes = sum(initializers[i].nbytes for i in dict.fromkeys(node.input) if i in initializers)
        if op == "Softmax":  # after an activation-by-activation product it is attention's
            category = "attention" if has_attention_matmul else "activation"
        stats[category]["flops"] += flops
        stats[category]["count"] += 1
        stats[category]["bytes"] += out_bytes + weight_bytes
        reads = sum((_numel(shapes.get(i)) or 0) * itemsize.get(i, 4)
                    for i in dict.fromkeys(node.input) if i and i not in constant)
        stats[category]["reads"] += reads
        item = onnx_amp_itemsize(op, [amp_size.get(i, itemsize.get(i, 4)) for i in dict.fromkeys(node.input)
                                      if i and floating.get(i, True) and shapes.get(i)])
        for o in node.output:
            if o and floating.get(o, True):
                amp_size[o] = item
        node_written = sum((_numel(shapes.get(o)) or 0) * amp_size.get(o, itemsize.get(o, 4))
                           for o in node.output if o)
        node_read = sum((_numel(shapes.get(i)) or 0) * amp_size.get(i, itemsize.get(i, 4))
                        for i in dict.fromkeys(node.input) if i and i not in constant)
        per_op.append((flops, reads + out_bytes, weight_bytes, node_read + node_written))
        activation_bytes += out_bytes
        amp_written += node_written
        amp_read += node_read
    if unknown:
        raise FeatureError(f"{name}: ONNX shape inference left {len(unknown)} MAC-bearing node(s) "
                           f"without shapes (first: {unknown[0]}); give a static --input-size")
    float_inits = [a for a in initializers.values() if a.dtype.kind == "f"]
    total = sum(s["flops"] for s in stats.values())
    weight_total = sum(a.nbytes for a in initializers.values())
    row: dict[str, Any] = {
        "model": name, "input_size": int(size), "batch_size": 1, "flops": int(total),
        "macs": int(total // 2), "params": int(sum(a.size for a in float_inits)),
        "activation_bytes": int(activation_bytes), "weight_bytes": int(weight_total),
        "arithmetic_intensity": total / (weight_total + activation_bytes) if weight_total + activation_bytes
        else float("nan"),
        "flops_flopcounter_raw": int(total - stats["attention"]["flops"]), "n_ops": int(n_ops),
    }
    for stat in CATEGORY_STATS:
        for cat in CATEGORIES:
            row[f"{stat}_{cat}"] = int(stats[cat][stat])
    row.update(gemm_summary(products))
    row.update(roofline_summary(per_op))
    row.update(amp_activation_bytes=int(amp_written), amp_reads=int(amp_read))
    return row
