"""Histogram of the operators in a model's ONNX graph.

The ONNX graph is what ONNX Runtime, TensorRT, OpenVINO and the AI Hub
compilers start from, so its operator mix (how many Conv, MatMul, Softmax,
Reshape nodes) is a deployment-side description that complements the aten
trace. Export costs seconds per model, so this is an opt-in slow path.

Exporter choice (measured on this machine, torch 2.14): the TorchScript
exporter (``dynamo=False``) takes ~5 s for resnet18 and ~8 s for levit_128s;
the dynamo exporter took 27 s and 64 s, so the TorchScript one is used.
It leaves ``Identity`` nodes for folded initialisers and ``Constant`` nodes
for shapes; neither executes anything after a runtime loads the graph, so they
are left out of the histogram by default (``drop``).
"""

from __future__ import annotations

import tempfile
import warnings
from collections import Counter
from pathlib import Path

import torch
from torch import nn

__all__ = ["ONNX_OPSET", "OnnxExportError", "onnx_op_histogram"]

ONNX_OPSET = 17
DEFAULT_DROP: tuple[str, ...] = ("Identity", "Constant")


class OnnxExportError(ValueError):
    """The model could not be exported to ONNX (message names the model)."""


def onnx_op_histogram(
    model: nn.Module,
    input_size: int,
    batch_size: int = 1,
    opset: int = ONNX_OPSET,
    drop: tuple[str, ...] = DEFAULT_DROP,
) -> dict[str, int]:
    """Export ``model`` (eval mode, random input ``batch×3×size×size``) to a
    temporary ONNX file and count the ``op_type`` of every node of the main
    graph, sorted by count. Op types in ``drop`` are omitted."""
    import onnx  # heavy, only on this path

    model.eval()
    x = torch.randn(batch_size, 3, input_size, input_size)
    with tempfile.TemporaryDirectory(prefix="effbench-onnx-") as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=opset)
        except Exception as exc:  # exporter errors are many unrelated classes
            name = type(model).__name__
            raise OnnxExportError(f"ONNX export of {name} failed: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        graph = onnx.load(str(path), load_external_data=False).graph
    counts = Counter(node.op_type for node in graph.node if node.op_type not in drop)
    return dict(counts.most_common())
