"""Application settings: every default path derives from one workspace root.

``EFFBENCH_HOME`` (default ``./effbench-data``) holds the store, the MLflow database and
artifacts, the Optuna database, the report and the ONNX cache. The root itself is defined in
:mod:`collectors.workspace` so that library code reads the same paths without importing the
application package.
"""

from __future__ import annotations

from collectors.workspace import (artifact_root, home, onnx_cache, optuna_storage, report_dir,
                                  store_path, tracking_uri)
from experiments import PAPER

__all__ = ["PAPER", "artifact_root", "home", "onnx_cache", "optuna_storage", "report_dir",
           "store_path", "tracking_uri"]
