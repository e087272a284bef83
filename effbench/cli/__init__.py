"""The ``effbench`` command line: thin commands over library functions.

Each command module registers its verbs on :data:`app`; heavy libraries (torch, mlflow, xgboost)
are imported inside the commands so that ``effbench --help`` and a prediction start quickly.
"""

from __future__ import annotations

from effbench.cli._app import app, main
from effbench.cli import analyse, collect, data, predict  # noqa: F401  (registers commands)
from effbench.cli import server, tune  # noqa: F401  (registers commands)

__all__ = ["app", "main"]
