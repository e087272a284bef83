"""Commands: predict (a new device from a few known models), train, evaluate, ui.

Thin wrappers: each parses options and calls one library function (``predictor.service``,
``predictor.evaluation``, ``predictor.tracking``); heavy imports happen inside the commands.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from effbench.cli._app import app, console, err_console, one_line_errors
from effbench.cli.options import StoreOption, TrackingOption
from predictor.methods.registry import method_help

def _open(store: Optional[Path]):
    from collectors.store import StoreError, open_store, store_path

    handle = open_store(store)
    if not handle.tables():
        where = getattr(handle, "url", None) or store_path(store)
        missing = not getattr(handle, "url", None) and not Path(str(where)).exists()
        what = "does not exist" if missing else "holds no measurements"
        raise StoreError(f"{where}: the store {what} (run `effbench data import aihub|timm PATH` "
                         "or `effbench run` first)")
    return handle


def _tuned(method: str) -> dict:
    """``effbench tune``'s saved best parameters of ``method``; an error if it was never tuned."""
    from predictor.tuning import load_best, tuned_dir

    params = load_best(method)
    if not params:
        raise ValueError(f"--tuned: no tuned parameters for {method!r} in {tuned_dir()} "
                         f"(run `effbench tune --method {method}` first)")
    return params


@app.command()
@one_line_errors
def predict(
    known: Path = typer.Option(..., "--known", help="CSV 'model,latency_ms[,input_size]': ms per "
                               "sample at batch 1 measured on the target; the only target information."),
    out: Path = typer.Option(..., "--out", help="Output CSV (one row per model and input size)."),
    device: Optional[str] = typer.Option(None, "--device", help="Target device name (required); "
                                         "may be new to the store."),
    runtime: Optional[str] = typer.Option(None, "--runtime", help="Target runtime as the store "
                                          "names it (required; e.g. tflite, qnn, onnx, "
                                          "pytorch-eager, onnxruntime; the raw data's names, "
                                          "e.g. qnn_dlc, are read as the store's, with a note)."),
    precision: Optional[str] = typer.Option(None, "--precision", help="Target precision as the "
                                            "store names it (required; e.g. float, w8a8, amp, "
                                            "fp32; fp16 and int8 are read as float and w8a8 "
                                            "where the store has no such name)."),
    store: StoreOption = None,
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated models to predict "
                                         "(NAME or NAME@INPUT_SIZE); default: every stored model."),
    method: str = typer.Option("auto", "--method", help=method_help()),
    metric: str = typer.Option("latency", "--metric", help="latency|memory"),
    model_uri: Optional[str] = typer.Option(None, "--model-uri",
                                            help="Registered model, e.g. models:/NAME/latest."),
    coverage: float = typer.Option(0.9, "--coverage", help="Prediction-interval coverage."),
    tuned: bool = typer.Option(False, "--tuned", help="Use the best parameters `effbench tune` "
                               "saved for --method ($EFFBENCH_HOME/tuned/<method>.json)."),
    tracking_uri: TrackingOption = None,
) -> None:
    """Predict every model's latency on a target configuration from a few measured ones."""
    from predictor.service import VALUE_COLUMN, predict_from_known, predict_store, read_known

    if metric not in VALUE_COLUMN:
        raise ValueError(f"--metric must be one of {sorted(VALUE_COLUMN)}, got {metric!r}")
    if not 0 < coverage < 1:
        raise ValueError(f"--coverage must be in (0, 1), got {coverage}")
    wanted = [m.strip() for m in models.split(",") if m.strip()] if models else None
    if model_uri:
        from predictor.tracking import load_trained_model

        trained = load_trained_model(model_uri, tracking_uri)
        result = predict_from_known(trained.matrix, read_known(known, metric), trained.method,
                                    trained.estimator, device, runtime, precision, wanted,
                                    coverage, metric)
    else:
        result = predict_store(_open(store), known, device, runtime, precision, method=method,
                               models=wanted, metric=metric, coverage=coverage,
                               params=_tuned(method) if tuned else None)
    table = result.table()
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    console.print(f"{result.headline()} -> {out}", highlight=False)


@app.command()
@one_line_errors
def train(
    method: str = typer.Option(..., "--method", help=method_help().removeprefix("auto|")),
    store: StoreOption = None,
    name: Optional[str] = typer.Option(None, "--name", help="Registered model name "
                                       "(default effbench-<method>-<metric>)."),
    metric: str = typer.Option("latency", "--metric", help="latency|memory"),
    tuned: bool = typer.Option(False, "--tuned", help="Use the best parameters `effbench tune` "
                               "saved for --method ($EFFBENCH_HOME/tuned/<method>.json)."),
    tracking_uri: TrackingOption = None,
) -> None:
    """Pre-train a transfer method on the whole store and register it as an MLflow model."""
    from collectors.store import store_snapshot
    from predictor.design import make_design
    from predictor.matrix import matrix_from_store
    from predictor.methods import make_method
    from predictor.tracking import log_trained_model

    handle = _open(store)
    matrix = matrix_from_store(handle, metric=metric)
    params = _tuned(method) if tuned else {}
    est = make_method(method, **params)
    if hasattr(est, "fit_source"):
        if "warm_start" in est.get_params():
            est.set_params(warm_start=True)
        # every stored configuration is a source; a query blanks its own configuration's values
        est.fit_source(make_design(matrix, None))
    name = name or f"effbench-{method}-{metric}"
    uri = log_trained_model(est, name, matrix, method, tracking_uri=tracking_uri,
                            params={"data_snapshot": store_snapshot(handle),
                                    **{f"param.{k}": v for k, v in params.items()}})
    console.print(f"registered {uri} ({matrix.values.shape[0]} models x "
                  f"{matrix.values.shape[1]} configurations)", highlight=False)


@app.command()
@one_line_errors
def evaluate(
    store: StoreOption = None,
    protocol: str = typer.Option("forward", "--protocol", help="forward (default: what a user "
                                 "meets, a device newer than the store) |lodo|tier|family "
                                 "(time: the former name of forward)."),
    group: str = typer.Option("chipset", "--group", help="lodo holds out every device on the "
                              "held-out device's silicon (chipset), or only the device (device)."),
    cutoff: Optional[str] = typer.Option(None, "--cutoff", help="forward: the date T (YYYY-MM-DD; "
                                         "default: the median date devices were first seen); "
                                         "sources as the store stood before T, targets the "
                                         "devices first seen from T on."),
    k: list[int] = typer.Option([5], "--k", help="Known models per target (repeatable)."),
    methods: str = typer.Option("all", "--methods", help="all or a comma-separated list of "
                                + method_help().removeprefix("auto|") + "."),
    source: Optional[str] = typer.Option(None, "--source", help="aihub|timm (default: both)."),
    target: Optional[list[str]] = typer.Option(None, "--target", help="Only these target "
                                               "configuration ids (repeatable)."),
    metric: str = typer.Option("latency", "--metric", help="latency|memory"),
    since: Optional[str] = typer.Option(None, "--since",
                                        help="Only measurements taken on or after this date (YYYY-MM-DD)."),
    n_draws: int = typer.Option(3, "--draws", help="Random known sets per (target, k)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the known-model draws."),
    jobs: int = typer.Option(1, "--jobs", help="Parallel processes over held-out devices."),
    intervals: bool = typer.Option(True, "--intervals/--no-intervals",
                                   help="Calibrate prediction intervals (most of the run time)."),
    align: Optional[bool] = typer.Option(
        None, "--align/--no-align",
        help="Read sources as of each target value's measurement date (default: on, off for time)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write every held-out "
                                       "prediction (tidy CSV) here."),
    run_name: Optional[str] = typer.Option(None, "--run-name", help="MLflow run name."),
    tracking_uri: TrackingOption = None,
    no_log: bool = typer.Option(False, "--no-log", help="Print only; do not log to MLflow."),
) -> None:
    """Cross-device validation of transfer methods; prints the table and logs one MLflow run."""
    from collectors.store import store_snapshot
    from predictor.evaluation import evaluate as run_evaluation
    from predictor.matrix import matrix_from_store
    from predictor.tracking import log_result

    bad = [x for x in k if x < 0]
    if bad:
        raise ValueError(f"--k must be >= 0, got {bad[0]}")
    if n_draws < 1:
        raise ValueError(f"--draws must be >= 1, got {n_draws}")
    handle = _open(store)
    matrix = matrix_from_store(handle, metric=metric, sources=[source] if source else None,
                               since=since)
    extra = {"group": group} if protocol == "lodo" else {}
    if cutoff is not None:
        from predictor.evaluation.protocols import canonical_protocol

        if canonical_protocol(protocol) != "forward":
            raise ValueError(f"--cutoff is an option of --protocol forward, not {protocol!r}")
        extra["cutoff"] = cutoff
    result = run_evaluation(matrix, methods, protocol, ks=k, n_draws=n_draws, seed=seed,
                            targets=target or None, n_jobs=jobs, intervals=intervals, align=align,
                            **extra)
    if result.per_target.empty:
        reasons = result.skipped["reason"].value_counts()
        why = f" ({reasons.index[0]}, {reasons.iloc[0]} times)" if len(reasons) else ""
        raise ValueError(f"--k {','.join(map(str, k))}: nothing could be evaluated{why}")
    console.print(result.summary())
    best = result.best_method(result.headline_k())
    if best:
        from predictor.evaluation.result import BASELINE_METHOD

        line = f"best at k={result.headline_k()}: {best}"
        _, beats = result.beats_reference(result.headline_k(), best)
        if best != BASELINE_METHOD and not math.isnan(beats.value):  # NaN: baseline not run
            line += f"; beats the baseline {BASELINE_METHOD} on {beats} of held-out devices"
        console.print(line, highlight=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.predictions.to_csv(out, index=False)
        console.print(f"{len(result.predictions)} predictions -> {out}", highlight=False)
    if not no_log:
        run_id = log_result(result, run_name or f"{protocol}-{source or 'all'}",
                            params={"data_snapshot": store_snapshot(handle),
                                    "source": source or "all"},
                            tracking_uri=tracking_uri)
        console.print(f"logged MLflow run {run_id}", highlight=False)


@app.command()
@one_line_errors
def ui(
    tracking_uri: TrackingOption = None,
    port: int = typer.Option(5000, "--port"),
) -> None:
    """Start the MLflow UI on the tracking store (light mode: one worker, no job execution);
    stopping this command stops the server."""
    from effbench.cli.server import run_foreground
    from predictor.tracking import experiment_id, ui_command

    cmd, env = ui_command(tracking_uri, port)
    runs = f"http://127.0.0.1:{port}/#/experiments/{experiment_id(tracking_uri)}/runs"
    console.print(f"MLflow UI on {runs}  ({' '.join(cmd[1:4])})", highlight=False)
    raise typer.Exit(run_foreground(cmd, env))
