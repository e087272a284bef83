"""Commands: predict (a new device from a few known models), train, evaluate, ui.

Thin wrappers: each parses options and calls one library function (``predictor.query``,
``predictor.evaluation``, ``predictor.tracking``); heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from effbench.cli._app import app, console, one_line_errors

METHOD_HELP = "auto|flops|krt|rank|xgboost|sklearn|statsmodels|lowrank"


def _open(store: Optional[Path]):
    from collectors.store import StoreError, open_store

    handle = open_store(store)
    if not handle.tables():
        raise StoreError(f"{handle.root}: no measurements stored (run `effbench import` first)")
    return handle


@app.command()
@one_line_errors
def predict(
    known: Path = typer.Option(..., "--known", help="CSV 'model,latency_ms[,input_size]': ms per "
                               "sample at batch 1 measured on the target; the only target information."),
    out: Path = typer.Option(..., "--out", help="Output CSV."),
    device: Optional[str] = typer.Option(None, "--device", help="Target device (may be new)."),
    runtime: Optional[str] = typer.Option(None, "--runtime"),
    precision: Optional[str] = typer.Option(None, "--precision"),
    store: Optional[Path] = typer.Option(None, "--store", help="Measurement store folder."),
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated models to predict."),
    method: str = typer.Option("auto", "--method", help=METHOD_HELP),
    metric: str = typer.Option("latency", "--metric", help="latency|memory"),
    model_uri: Optional[str] = typer.Option(None, "--model-uri",
                                            help="Registered model, e.g. models:/NAME/latest."),
    coverage: float = typer.Option(0.9, "--coverage", help="Prediction-interval coverage."),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri"),
) -> None:
    """Predict every model's latency on a target configuration from a few measured ones."""
    from predictor.query import VALUE_COLUMN, predict_store

    if metric not in VALUE_COLUMN:
        raise ValueError(f"--metric must be one of {sorted(VALUE_COLUMN)}, got {metric!r}")
    if not 0 < coverage < 1:
        raise ValueError(f"--coverage must be in (0, 1), got {coverage}")
    wanted = [m.strip() for m in models.split(",") if m.strip()] if models else None
    handle = None if model_uri else _open(store)
    table = predict_store(handle, known, device, runtime, precision, method=method, models=wanted,
                          metric=metric, coverage=coverage, model_uri=model_uri,
                          tracking_uri=tracking_uri)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    used = table["method"].iloc[0] if len(table) else method
    console.print(f"{len(table)} models predicted with {used} "
                  f"({int(table['known'].sum())} known) -> {out}", highlight=False)


@app.command()
@one_line_errors
def train(
    method: str = typer.Option(..., "--method", help="flops|krt|rank|xgboost|sklearn|statsmodels|lowrank"),
    store: Optional[Path] = typer.Option(None, "--store"),
    name: Optional[str] = typer.Option(None, "--name", help="Registered model name "
                                       "(default effbench-<method>-<metric>)."),
    metric: str = typer.Option("latency", "--metric"),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri"),
) -> None:
    """Pre-train a transfer method on the whole store and register it as an MLflow model."""
    import pandas as pd

    from predictor.design import make_design
    from predictor.matrix import matrix_from_store
    from predictor.methods import make_method
    from predictor.query import VALUE_COLUMN, read_known, with_target
    from predictor.tracking import log_trained_model, store_snapshot

    handle = _open(store)
    matrix = matrix_from_store(handle, metric=metric)
    est = make_method(method)
    if hasattr(est, "fit_source"):
        if hasattr(est, "set_params") and "warm_start" in est.get_params():
            est.set_params(warm_start=True)
        # The design of a blank target: the source columns every later query will see.
        empty = read_known(pd.DataFrame(columns=["model", VALUE_COLUMN[metric]]), metric)
        full, tid = with_target(matrix, empty, None, None, None, drop_stored=False)
        est.fit_source(make_design(full, tid))
    name = name or f"effbench-{method}-{metric}"
    uri = log_trained_model(est, name, matrix, method, tracking_uri=tracking_uri,
                            params={"data_snapshot": store_snapshot(handle.read(
                                "measurements", columns=["record_id"]))})
    console.print(f"registered {uri} ({matrix.values.shape[0]} models x "
                  f"{matrix.values.shape[1]} configurations)", highlight=False)


@app.command()
@one_line_errors
def evaluate(
    store: Optional[Path] = typer.Option(None, "--store"),
    protocol: str = typer.Option("lodo", "--protocol", help="lodo|tier|family|time"),
    k: list[int] = typer.Option([5], "--k", help="Known models per target (repeatable)."),
    methods: str = typer.Option("all", "--methods", help="all or a comma-separated list."),
    source: Optional[str] = typer.Option(None, "--source", help="aihub|timm (default: both)."),
    metric: str = typer.Option("latency", "--metric"),
    since: Optional[str] = typer.Option(None, "--since",
                                        help="Only measurements taken on or after this date (YYYY-MM-DD)."),
    n_draws: int = typer.Option(3, "--draws", help="Random known sets per (target, k)."),
    seed: int = typer.Option(0, "--seed"),
    jobs: int = typer.Option(1, "--jobs", help="Parallel processes over held-out devices."),
    intervals: bool = typer.Option(True, "--intervals/--no-intervals",
                                   help="Calibrate prediction intervals (most of the run time)."),
    align: Optional[bool] = typer.Option(
        None, "--align/--no-align",
        help="Read sources as of each target value's measurement date (default: on, off for time)."),
    run_name: Optional[str] = typer.Option(None, "--run-name"),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri"),
    no_log: bool = typer.Option(False, "--no-log", help="Print only; do not log to MLflow."),
) -> None:
    """Cross-device validation of transfer methods; prints the table and logs one MLflow run."""
    from predictor.evaluation import evaluate as run_evaluation
    from predictor.matrix import matrix_from_store
    from predictor.tracking import log_result, store_snapshot

    handle = _open(store)
    matrix = matrix_from_store(handle, metric=metric, sources=[source] if source else None,
                               since=since)
    result = run_evaluation(matrix, methods, protocol, ks=k, n_draws=n_draws, seed=seed,
                            n_jobs=jobs, intervals=intervals, align=align)
    console.print(result.summary())
    best = result.best_method(result.headline_k())
    if best:
        line = f"best at k={result.headline_k()}: {best}"
        if best != "krt":  # the comparison with KRT only means something for another method
            _, beats = result.beats_reference(result.headline_k())
            line += f"; beats KRT on {beats} of held-out devices"
        console.print(line, highlight=False)
    if not no_log:
        snapshot = store_snapshot(handle.read("measurements", columns=["record_id"]))
        run_id = log_result(result, run_name or f"{protocol}-{source or 'all'}",
                            params={"data_snapshot": snapshot, "source": source or "all"},
                            tracking_uri=tracking_uri)
        console.print(f"logged MLflow run {run_id}", highlight=False)


@app.command()
@one_line_errors
def ui(
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri"),
    port: int = typer.Option(5000, "--port"),
) -> None:
    """Start the MLflow UI on the tracking store (light mode: one worker, no job execution)."""
    import subprocess

    from predictor.tracking import ui_command

    cmd, env = ui_command(tracking_uri, port)
    console.print(f"MLflow UI on http://127.0.0.1:{port}  ({' '.join(cmd[1:4])})", highlight=False)
    raise typer.Exit(subprocess.call(cmd, env=env))
