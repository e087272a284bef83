"""Commands that measure this machine: ``effbench collect`` and ``effbench features``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from effbench.cli._app import app, console, one_line_errors
from effbench.cli.data import StoreOption


def _ints(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"{option}: expected positive integers, got {text!r}")
    return values


@app.command()
@one_line_errors
def collect(
    models: Annotated[str, typer.Option(help="Model set (seed13, aihub) or comma-separated names/aliases.")] = "seed13",
    runtimes: Annotated[str, typer.Option(help="Comma-separated: torch, compile, onnxruntime, openvino, litert.")] = "torch,onnxruntime",
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts.")] = "1",
    batch_sizes: Annotated[str, typer.Option("--batch-sizes", help="Comma-separated batch sizes.")] = "1",
    precisions: Annotated[str, typer.Option(help="Comma-separated precisions (fp32, fp16 on CUDA, bf16 on OpenVINO).")] = "fp32",
    input_size: Annotated[Optional[int], typer.Option(help="Input resolution; default: each model's own.")] = None,
    max_seconds_per_model: Annotated[float, typer.Option("--max-seconds-per-model", help="Time cap of one measurement.")] = 60.0,
    remeasure_above_ci: Annotated[Optional[float], typer.Option(
        "--remeasure-above-ci", help="Measure once more, after the pass, each configuration whose p50 "
                                     "CI half-width exceeds this % (both rows kept).")] = None,
    store: StoreOption = None,
) -> None:
    """Measure latency distributions and peak memory on this machine (resumable)."""
    from collectors.local import collect as run_collect, parse_runtimes
    from collectors.store import open_store

    summary = run_collect(
        models=[m for m in models.split(",") if m.strip()],
        runtimes=parse_runtimes(runtimes),
        threads=_ints(threads, "--threads"),
        batch_sizes=_ints(batch_sizes, "--batch-sizes"),
        precisions=[p for p in precisions.split(",") if p.strip()],
        input_size=input_size,
        store=open_store(store),
        max_seconds_per_model=max_seconds_per_model,
        remeasure_above_ci=remeasure_above_ci,
    )
    console.print(summary.summary())


@app.command()
@one_line_errors
def features(
    models: Annotated[str, typer.Option(help="stored (every model the store measured, at its measured "
                                             "sizes: what cold start learns from), timm:all, timm:<pattern>, "
                                             "a family (mobile_cnn, ...), a set (seed13, aihub), or "
                                             "comma-separated names / .onnx paths.")] = "seed13",
    input_size: Annotated[Optional[int], typer.Option(help="Input resolution; default: each model's own.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Also write the feature table to this CSV.")] = None,
    onnx: Annotated[bool, typer.Option("--onnx/--no-onnx", help="Add the ONNX export's operator histogram "
                                                                "(catalogue models only; slower).")] = False,
    retry_failures: Annotated[bool, typer.Option("--retry-failures", help="Trace again models that failed "
                                                                          "in an earlier run.")] = False,
    jobs: Annotated[int, typer.Option(help="Worker processes tracing in parallel (default: one per core, "
                                           "at most 4).")] = 0,
    store: StoreOption = None,
) -> None:
    """Trace operator features (FLOPs/MACs per category, bytes, counts) of many models into the
    store's features table, resumably: stored (model, input size) pairs are skipped, failures
    recorded and the rest continue."""
    from collectors.store import open_store

    target = open_store(store)
    if onnx:
        from collectors.features import features_frame

        table = features_frame([m for m in models.split(",") if m.strip()], input_size=input_size,
                               with_onnx=True)
        result = target.append(table, table="features")
        failures = None
        console.print(f"features of {len(table)} models; {result.summary()}")
    else:
        import os

        from collectors.features import trace_models, trace_stored

        workers = jobs if jobs > 0 else min(os.cpu_count() or 1, 4)
        if models.strip().lower() == "stored":
            table, failures = trace_stored(target, jobs=workers, retry_failures=retry_failures)
        else:
            table, failures = trace_models(models, input_size=input_size, store=target,
                                           retry_failures=retry_failures, jobs=workers)
        fresh = int((~table["cached"].astype(bool)).sum()) if len(table) else 0
        console.print(f"features of {len(table)} models ({fresh} traced now, {len(table) - fresh} already "
                      f"stored); {len(failures)} failed")
        for row in failures.itertuples(index=False):
            console.print(f"  {row.kind.upper():<14} {row.model}: {row.reason}", markup=False, highlight=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        console.print(f"CSV: {out}")
    if failures is not None and len(failures) and table.empty:
        raise typer.Exit(1)
