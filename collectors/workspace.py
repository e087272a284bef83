"""The one workspace root every default path derives from.

Why one root: the store, the MLflow database and artifacts, the Optuna database, the report and
the ONNX cache used to be hard-coded as ``effbench-data/...`` in six modules; a user who wants
them elsewhere (another disk, a per-project folder) sets ``EFFBENCH_HOME`` once. It lives in the
lowest package that needs it (the store and the ONNX cache), so that ``predictor`` and the
application package read the same root without importing upwards.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = "effbench-data"


def home() -> Path:
    """``$EFFBENCH_HOME``, else ``./effbench-data`` (relative to the working directory)."""
    return Path(os.environ.get("EFFBENCH_HOME") or DEFAULT_HOME)


def store_path() -> Path:
    """Default measurement store: ``$EFFBENCH_STORE``, else ``<home>/store``."""
    return Path(os.environ.get("EFFBENCH_STORE") or home() / "store")


def onnx_cache() -> Path:
    return Path(os.environ.get("EFFBENCH_ONNX_CACHE") or home() / "cache" / "onnx")


def tracking_uri() -> str:
    """Default MLflow tracking store: ``$MLFLOW_TRACKING_URI``, else ``<home>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"


def artifact_root() -> Path:
    """Where MLflow artifacts land for the default tracking store (never ``./mlruns``)."""
    return home() / "mlartifacts"


def optuna_storage() -> str:
    return f"sqlite:///{home() / 'optuna.db'}"


def report_dir() -> Path:
    return home() / "report"


__all__ = ["DEFAULT_HOME", "artifact_root", "home", "onnx_cache", "optuna_storage", "report_dir",
           "store_path", "tracking_uri"]
