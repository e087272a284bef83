"""CLI options shared by several commands, declared once (one help text each)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

STORE_HELP = ("Measurement store: a folder (Parquet) or a postgresql:// URL "
              "(default: $EFFBENCH_STORE, else $EFFBENCH_HOME/store).")
TRACKING_HELP = ("MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
                 "sqlite:///$EFFBENCH_HOME/mlflow.db).")

#: a ``str``, not a ``Path``: ``Path`` squashes the ``//`` of a ``postgresql://`` URL
StoreOption = Annotated[Optional[str], typer.Option("--store", help=STORE_HELP)]
TrackingOption = Annotated[Optional[str], typer.Option("--tracking-uri", help=TRACKING_HELP)]

__all__ = ["STORE_HELP", "StoreOption", "TRACKING_HELP", "TrackingOption"]
