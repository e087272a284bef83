"""Hyper-parameter tuning of the transfer methods with Optuna, scored by ``evaluate`` itself.

The objective of a trial is :func:`predictor.evaluation.evaluate` — the function behind
``effbench evaluate`` — under leave-one-device-out (``group="chipset"``: every device on the held-out
device's silicon leaves with it) over the source devices, at one ``k``, without intervals. One
scoring function means a tuned number and an evaluated number mean the same thing. The outer
held-out device (the one a report is about, or the new device a user predicts) must never reach
the objective: pass it as ``exclude_devices`` (or hand in a matrix without it).

The study lives in any Optuna RDB storage. Given a PostgreSQL URL, several ``effbench tune``
processes on several machines share one study: each asks the storage for the next trial, and the
study's best trial is the best of all of them. The study records what it scores (method, k,
objective, group, devices); a worker whose matrix or settings differ is refused rather than mixing
incomparable trials. The best parameters are saved as ``<EFFBENCH_HOME>/tuned/<method>.json``
(:func:`load_best`, :func:`tuned_method`) for ``train`` and ``predict``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from collectors import workspace
from predictor.matrix import LatencyMatrix
from predictor.methods import make_method

DEFAULT_STORAGE = workspace.optuna_storage()
#: objective name -> (EvaluationResult metric, direction)
OBJECTIVES: dict[str, tuple[str, str]] = {"within10": ("within_10", "maximize"),
                                          "spearman": ("spearman", "maximize"),
                                          "mape": ("mape", "minimize")}


class TuningError(ValueError):
    """Unknown method/objective, too few devices, or a study created for something else."""


def spaces() -> dict[str, Callable[[optuna.Trial], dict]]:
    """Search spaces by method name, from the method registry (``predictor.methods.spaces``)."""
    import predictor.methods.spaces  # noqa: F401  (attaches the spaces to the registry)
    from predictor.methods import SPECS

    return {name: spec.space for name, spec in SPECS.items() if spec.space is not None}


#: the tunable methods' spaces at import time (the registry is the source of truth)
SPACES = spaces()


def storage_url(storage: str | None) -> str:
    """``storage`` (default: the workspace's SQLite file) with the psycopg 3 driver for PostgreSQL
    (SQLAlchemy's plain ``postgresql://`` means psycopg2, which is not installed); the SQLite
    folder is created."""
    from collectors.sqlstore import driver_url

    storage = driver_url(storage or workspace.optuna_storage())
    if storage.startswith("sqlite:///"):
        Path(storage[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return storage


def open_storage(storage: str | None) -> optuna.storages.RDBStorage:
    """Optuna's storage at ``storage``, its tables created by one process at a time.

    Why the lock: workers started together on a fresh PostgreSQL database would all run Optuna's
    schema creation, and all but one fail (``CREATE TYPE ... already exists``). A session
    advisory lock makes the first create the tables and the others find them.
    """
    url = storage_url(storage)
    if not url.startswith("postgresql"):
        return optuna.storages.RDBStorage(url)
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(%(k)s)", {"k": _SCHEMA_LOCK})
            try:
                return optuna.storages.RDBStorage(url)
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%(k)s)", {"k": _SCHEMA_LOCK})
    finally:
        engine.dispose()


#: Advisory-lock id held while Optuna creates its tables ("effbench optuna schema").
_SCHEMA_LOCK = 0x0EFFBE0C


def lodo_score(method_name: str, params: dict, matrix: LatencyMatrix, k: int = 5, *,
               devices: Iterable[str] | None = None, n_draws: int = 2, objective: str = "within10",
               seed: int = 0, group: str = "chipset") -> float:
    """Mean over held-out devices of ``objective`` on the unknown models, from ``evaluate``.

    ``devices``: the held-out devices (default: all); every other device of the matrix is a
    source (minus the held-out device's silicon under ``group="chipset"``).
    """
    from predictor.evaluation import evaluate

    if objective not in OBJECTIVES:
        raise TuningError(f"objective must be one of {sorted(OBJECTIVES)}, got {objective!r}")
    chosen = set(devices) if devices is not None else None
    targets = [c for c in matrix.values.columns
               if chosen is None or matrix.configs.at[c, "device"] in chosen]
    result = evaluate(matrix, {method_name: make_method(method_name, **params)}, "lodo", ks=[k],
                      n_draws=n_draws, seed=seed, targets=targets, intervals=False, group=group)
    return float(result.estimate(method_name, k, OBJECTIVES[objective][0]).value)


@dataclass
class TuningResult:
    method: str
    best_params: dict
    best_value: float
    objective: str
    n_trials: int
    study_name: str
    storage: str
    inner_devices: list[str]
    trials: pd.DataFrame = field(repr=False)
    k: int = 5
    group: str = "chipset"

    def summary(self) -> str:
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in self.best_params.items())
        return (f"{self.method}: best inner-LODO {self.objective} = {self.best_value:.3f} after "
                f"{self.n_trials} trials on {len(self.inner_devices)} devices ({params}); "
                f"study '{self.study_name}' in {_shown(self.storage)}")

    # the TrackableResult protocol of predictor.tracking.log_result
    def params(self) -> dict[str, Any]:
        return {"method": self.method, "objective": self.objective, "k": self.k,
                "group": self.group, "study": self.study_name, "storage": _shown(self.storage),
                "n_trials": self.n_trials, "inner_devices": ",".join(self.inner_devices),
                **{f"best.{k}": v for k, v in self.best_params.items()}}

    def metrics(self) -> dict[str, float]:
        return {f"best_{self.objective}": self.best_value, "n_trials": float(self.n_trials)}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"trials": self.trials}

    def figures(self) -> dict[str, Any]:
        return {}


def _shown(storage: str) -> str:
    from collectors.sqlstore import is_sql_url, redacted

    return redacted(storage) if is_sql_url(storage) else storage


def tune(method_name: str, matrix: LatencyMatrix, n_trials: int = 20, k: int = 5,
         storage: str | None = None, study_name: str | None = None, *,
         exclude_devices: Iterable[str] = (), max_devices: int | None = 6, n_draws: int = 2,
         objective: str = "within10", seed: int = 0, sampler_seed: int | None = None,
         group: str = "chipset", timeout_s: float | None = None) -> TuningResult:
    """Run ``n_trials`` more trials of ``method_name`` in a (possibly shared) study.

    ``max_devices`` caps the held-out devices: a fixed subset drawn with ``seed``, the same in
    every trial and every worker, so trials are comparable. ``seed`` also fixes the known-model
    draws; ``sampler_seed`` seeds the TPE sampler (leave it None when several workers share a
    study, or give each its own, so that they do not propose the same trials).
    """
    if method_name not in SPACES:
        raise TuningError(f"no search space for method {method_name!r}; tunable: {sorted(SPACES)}")
    if objective not in OBJECTIVES:
        raise TuningError(f"objective must be one of {sorted(OBJECTIVES)}, got {objective!r}")
    excluded = set(exclude_devices)
    inner = matrix.subset(configs=[c for c in matrix.values.columns
                                   if matrix.configs.at[c, "device"] not in excluded])
    devices = inner.devices
    if len(devices) < 3:
        raise TuningError(f"inner leave-one-device-out needs >= 3 devices, got {len(devices)}")
    if max_devices and len(devices) > max_devices:
        rng = np.random.default_rng(seed)
        devices = sorted(rng.choice(devices, size=max_devices, replace=False).tolist())
    storage = storage_url(storage)
    study_name = study_name or f"{method_name}-k{k}-{objective}"
    direction = OBJECTIVES[objective][1]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=open_storage(storage), study_name=study_name,
                                direction=direction,
                                load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=sampler_seed))
    setup = {"method": method_name, "k": k, "objective": objective, "group": group,
             "n_draws": n_draws, "seed": seed, "devices": list(devices)}
    _check_setup(study, setup)

    def run(trial: optuna.Trial) -> float:
        params = SPACES[method_name](trial)
        value = lodo_score(method_name, params, inner, k, devices=devices, n_draws=n_draws,
                           objective=objective, seed=seed, group=group)
        return value if np.isfinite(value) else (0.0 if direction == "maximize" else 1e6)

    study.optimize(run, n_trials=n_trials, timeout=timeout_s)
    trials = study.trials_dataframe(attrs=("number", "value", "params", "state"))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return TuningResult(method=method_name, best_params=dict(study.best_params),
                        best_value=float(study.best_value), objective=objective,
                        n_trials=len(done), study_name=study_name, storage=storage,
                        inner_devices=list(devices), trials=trials, k=k, group=group)


def _check_setup(study: optuna.Study, setup: dict[str, Any]) -> None:
    """Record what the study scores on first use; refuse a worker that scores something else."""
    stored = study.user_attrs.get("effbench_setup")
    if stored is None:
        study.set_user_attr("effbench_setup", setup)
        return
    diff = sorted(k for k in setup if stored.get(k) != setup[k])
    if diff:
        raise TuningError(f"study '{study.study_name}' scores {', '.join(f'{k}={stored.get(k)!r}' for k in diff)}; "
                          f"this worker has {', '.join(f'{k}={setup[k]!r}' for k in diff)} "
                          "(use another --study, or the same store and options)")


# --------------------------------------------------------------------------- best parameters


def tuned_dir() -> Path:
    return workspace.home() / "tuned"


def save_best(result: TuningResult, folder: str | os.PathLike[str] | None = None) -> Path:
    """Write ``<folder>/<method>.json`` (default ``<EFFBENCH_HOME>/tuned``) atomically.

    Several workers finish at different times; each writes the study's best so far, so the
    last one to finish leaves the best of all trials.
    """
    folder = Path(folder) if folder is not None else tuned_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.method}.json"
    payload = {"method": result.method, "params": result.best_params, "value": result.best_value,
               "objective": result.objective, "k": result.k, "group": result.group,
               "study": result.study_name, "storage": _shown(result.storage),
               "n_trials": result.n_trials, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    os.replace(tmp, path)
    return path


def load_best(method_name: str, folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The saved best parameters of ``method_name`` ({} when it was never tuned)."""
    path = (Path(folder) if folder is not None else tuned_dir()) / f"{method_name}.json"
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text())["params"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise TuningError(f"{path}: not a tuning result ({exc})") from None


def best_from_study(study_name: str, storage: str | None = None) -> dict[str, Any]:
    """The best parameters of a study in ``storage`` (the source of truth shared by workers)."""
    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
        return dict(study.best_params)
    except (KeyError, ValueError) as exc:
        raise TuningError(f"study '{study_name}' in {_shown(storage_url(storage))}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'no completed trial'}") from None


def tuned_method(method_name: str, *, study: str | None = None, storage: str | None = None,
                 **overrides: Any) -> Any:
    """``make_method`` with the tuned parameters: from ``study`` if named, else the saved JSON."""
    params = best_from_study(study, storage) if study else load_best(method_name)
    return make_method(method_name, **{**params, **overrides})


__all__ = ["DEFAULT_STORAGE", "OBJECTIVES", "SPACES", "TuningError", "TuningResult",
           "best_from_study", "load_best", "lodo_score", "open_storage", "save_best", "storage_url", "tune",
           "tuned_dir", "tuned_method"]
