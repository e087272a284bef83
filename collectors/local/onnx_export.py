"""Export a network to ONNX once per (model, input size, batch, precision) and reuse the file.

ONNX Runtime and OpenVINO both read the ONNX file, so exporting is shared, cached and done by
the first worker that needs it. The TorchScript-based exporter (``dynamo=False``, opset 17) is
used because it exported all 13 seed models on torch 2.14 with outputs matching eager (see the
collectors report); the dynamo exporter is available with ``EFFBENCH_ONNX_DYNAMO=1``.
A file lock guards the export and the file is written under a temporary name then renamed, so
two workers never read half a file.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

from filelock import FileLock

from collectors import workspace

DEFAULT_CACHE = workspace.onnx_cache()
OPSET_LEGACY = 17
OPSET_DYNAMO = 18


class ExportError(RuntimeError):
    """The exporter refused the model (a recorded failure, not a crash of the campaign)."""


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path) if path else workspace.onnx_cache()


def onnx_path(model_id: str, input_size: int, batch_size: int, precision: str,
              directory: str | os.PathLike[str] | None = None) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id)
    return cache_dir(directory) / f"{safe}-{input_size}px-b{batch_size}-{precision}.onnx"


def export_onnx(model: Any, example: Any, path: Path) -> Path:
    """Export ``model`` traced on ``example`` to ``path`` unless that file already exists."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=1800):
        if path.is_file():
            return path
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        dynamo = os.environ.get("EFFBENCH_ONNX_DYNAMO") == "1"
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                kwargs = ({"dynamo": True, "opset_version": OPSET_DYNAMO, "external_data": False}
                          if dynamo else {"dynamo": False, "opset_version": OPSET_LEGACY})
                torch.onnx.export(model, (example,), str(tmp), input_names=["input"],
                                  output_names=["output"], **kwargs)
        except Exception as exc:  # exporters raise anything from TypeError to their own errors
            tmp.unlink(missing_ok=True)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ExportError(f"ONNX export failed: {type(exc).__name__}: {first[:300]}") from exc
        os.replace(tmp, path)
    return path


__all__ = ["DEFAULT_CACHE", "ExportError", "cache_dir", "export_onnx", "onnx_path"]
