"""``effbench tune``: Optuna search over a transfer method's parameters, shareable by many workers.

Thin wrapper over :func:`predictor.tuning.tune`: build the matrix from the store, run N trials in
the named study (several processes or machines given the same ``--storage`` URL and ``--study``
share it), log the best parameters to MLflow and save them for ``train``/``predict``.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from effbench.cli.options import StoreOption, TrackingOption
from effbench.cli._app import app, console, one_line_errors


@app.command()
@one_line_errors
def tune(
    method: Annotated[str, typer.Option("--method", help="xgboost|sklearn|statsmodels|lowrank|krt|rank")],
    storage: Annotated[Optional[str], typer.Option(
        "--storage", help="Optuna storage: postgresql://user@host/db (shared by workers) or "
                          "sqlite:///file (default sqlite:///$EFFBENCH_HOME/optuna.db).")] = None,
    study: Annotated[Optional[str], typer.Option("--study", help="Study name (default <method>-k<k>-<objective>).")] = None,
    n_trials: Annotated[int, typer.Option("--n-trials", help="Trials this worker runs.")] = 20,
    k: Annotated[int, typer.Option("--k", help="Known models per target.")] = 5,
    objective: Annotated[str, typer.Option("--objective", help="within10|spearman|mape")] = "within10",
    store: StoreOption = None,
    source: Annotated[Optional[str], typer.Option("--source", help="aihub|timm (default: both).")] = None,
    metric: Annotated[str, typer.Option("--metric", help="latency|memory")] = "latency",
    exclude_device: Annotated[Optional[list[str]], typer.Option(
        "--exclude-device", help="A device that must not inform the tuning (the one you will "
                                 "predict or report on); repeatable.")] = None,
    max_devices: Annotated[int, typer.Option("--max-devices", help="Held-out devices per trial (0: all).")] = 6,
    draws: Annotated[int, typer.Option("--draws", help="Random known sets per target.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="Devices and known draws (same in every worker).")] = 0,
    sampler_seed: Annotated[Optional[int], typer.Option("--sampler-seed", help="TPE sampler seed "
                                                        "(default random: workers propose different trials).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Stop after this many seconds.")] = None,
    tracking_uri: TrackingOption = None,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log to MLflow.")] = False,
) -> None:
    """Tune a transfer method by chipset-grouped leave-one-device-out over the store's devices."""
    from collectors.store import StoreError, open_store, store_path
    from predictor.matrix import matrix_from_store
    from predictor.tuning import save_best
    from predictor.tuning import tune as run_tuning

    if n_trials < 1:
        raise ValueError(f"--n-trials must be >= 1, got {n_trials}")
    handle = open_store(store)
    if MEASUREMENTS_TABLE not in handle.tables():
        raise StoreError(f"{store_path(store)}: no measurements stored (run `effbench data import` first)")
    matrix = matrix_from_store(handle, metric=metric, sources=[source] if source else None)
    result = run_tuning(method, matrix, n_trials=n_trials, k=k, storage=storage, study_name=study,
                        exclude_devices=exclude_device or (), max_devices=max_devices or None,
                        n_draws=draws, objective=objective, seed=seed, sampler_seed=sampler_seed,
                        timeout_s=timeout)
    console.print(result.summary(), highlight=False)
    path = save_best(result)
    console.print(f"best parameters saved to {path}", highlight=False)
    if not no_log:
        from predictor.tracking import log_result, store_snapshot

        snapshot = store_snapshot(handle.read("measurements", columns=["record_id"]))
        run_id = log_result(result, f"tune-{result.study_name}", nested_by=None,
                            params={"data_snapshot": snapshot, "source": source or "all",
                                    "metric": metric}, tracking_uri=tracking_uri)
        console.print(f"logged MLflow run {run_id}", highlight=False)


MEASUREMENTS_TABLE = "measurements"
