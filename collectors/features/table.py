"""The ``features`` table: one row per (model, input_size).

This is what the store keeps as table "features" and what the predictor joins
on; the CLI command ``effbench features`` is a thin wrapper over
:func:`run_features`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from collectors.features.amp import AMP_COLUMNS
from collectors.features.categories import CATEGORIES, CATEGORY_STATS
from collectors.features.compute import compute_features
from collectors.features.gemm import GEMM_COLUMNS
from collectors.features.roofline import ROOFLINE_COLUMNS
from collectors.features.onnx_ops import onnx_op_histogram
from collectors.modelprep import prepare_model

__all__ = ["FEATURE_COLUMNS", "expand_models", "features_frame", "run_features"]

log = logging.getLogger(__name__)

FEATURE_COLUMNS: tuple[str, ...] = (
    "model", "input_size", "batch_size", "flops", "macs", "params", "activation_bytes",
    "weight_bytes", "arithmetic_intensity", "flops_flopcounter_raw", "n_ops",
    *(f"{stat}_{cat}" for stat in CATEGORY_STATS for cat in CATEGORIES),
    *GEMM_COLUMNS, *ROOFLINE_COLUMNS, *AMP_COLUMNS,
)


def expand_models(entries_or_names: Iterable[Any] | str) -> list[Any]:
    """Registry entries for a mix of entries, model names, set names
    (``"seed13"``) and comma-separated lists; duplicates dropped, order kept.
    Unknown names raise the registry's ``UnknownModelError`` (a ValueError)."""
    import models_registry

    if isinstance(entries_or_names, str):
        entries_or_names = [entries_or_names]
    out: dict[str, Any] = {}
    for item in entries_or_names:
        entries = models_registry.model_set(item) if isinstance(item, str) else [item]
        for e in entries:
            out.setdefault(e.id, e)
    return list(out.values())


def _sizes(entry: Any, input_size: int | Sequence[int] | None) -> list[int]:
    if input_size is None:
        return [int(entry.input_size)]
    if isinstance(input_size, int):
        return [input_size]
    return [int(s) for s in input_size]


def features_frame(
    entries_or_names: Iterable[Any] | str,
    input_size: int | Sequence[int] | None = None,
    with_onnx: bool = False,
) -> pd.DataFrame:
    """Static features of every model at every requested input size.

    ``input_size`` None uses each entry's native size; an int or a list of
    ints measures those sizes for every model. Models are built through
    :func:`collectors.modelprep.prepare_model` (random weights, eval mode,
    BatchNorm randomised). ``with_onnx`` adds ``onnx_<OpType>`` count columns
    (0 when absent; seconds per model). Columns: FEATURE_COLUMNS, then
    ``seconds`` (time spent on the row), then the ONNX columns sorted.
    Models without a public builder are skipped with a warning and listed in
    ``frame.attrs["skipped"]``.
    """
    from models_registry.entry import BuilderUnavailableError

    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for entry in expand_models(entries_or_names):
        for size in _sizes(entry, input_size):
            start = time.perf_counter()
            try:
                model, size = prepare_model(entry, size)
            except BuilderUnavailableError as exc:
                log.warning("skipping %s: %s", entry.id, exc)
                skipped.append(entry.id)
                break
            row = compute_features(model, size, model_id=entry.id).to_row()
            if with_onnx:
                row.update({f"onnx_{op}": n for op, n in onnx_op_histogram(model, size).items()})
            row["seconds"] = round(time.perf_counter() - start, 3)
            rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else [*FEATURE_COLUMNS, "seconds"])
    onnx_cols = sorted(c for c in frame.columns if c.startswith("onnx_"))
    if onnx_cols:
        frame[onnx_cols] = frame[onnx_cols].fillna(0).astype("int64")
    frame = frame[[*FEATURE_COLUMNS, "seconds", *onnx_cols]]
    frame.attrs["skipped"] = skipped
    return frame


def run_features(models: list[str], out: Path | None = None, with_onnx: bool = False) -> pd.DataFrame:
    """CLI entry point: :func:`features_frame` at native sizes, written to
    ``out`` as CSV when given."""
    frame = features_frame(models, with_onnx=with_onnx)
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False)
    return frame
