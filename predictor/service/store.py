"""From a measurement store to a query: the matrix, the snapshot id and the cache folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predictor.service.auto import AUTO_CACHE
from predictor.service.cold import fill_cold_start
from predictor.service.known import read_known
from predictor.service.predict import Prediction
from predictor.service.query import predict_from_known

#: Sub-folder of the store's cache folder where pre-trained predictors are kept.
PREDICTOR_CACHE = "predictors"


def cache_folder(store: Any) -> Path | None:
    """Where caches derived from ``store`` live: beside the Parquet store's tables, or the
    store's own ``cache_dir`` (a database store); None when it has neither."""
    folder = getattr(store, "cache_dir", None) or getattr(store, "root", None)
    return Path(folder) if folder is not None else None


def predict_store(store: Any, known_path: Any, device: str | None, runtime: str | None,
                  precision: str | None, method: str = "auto", models: Sequence[str] | None = None,
                  metric: str = "latency", coverage: float = 0.9,
                  params: dict[str, Any] | None = None) -> Prediction:
    """``effbench predict``: read the known file, build the matrix, predict (with the store's
    ``auto`` cache and saved predictors); requested models measured nowhere are traced and
    predicted from their operator features where the store allows (``predictor.service.cold``)."""
    from collectors.store import store_snapshot
    from predictor.matrix import matrix_from_store

    known = read_known(known_path, metric)
    matrix = matrix_from_store(store, metric=metric)
    folder = cache_folder(store)
    result = predict_from_known(matrix, known, method, None, device, runtime, precision, models,
                                coverage, metric, cache=folder / AUTO_CACHE if folder else None,
                                snapshot=store_snapshot(store),
                                predictors=folder / PREDICTOR_CACHE if folder else None,
                                params=params)
    if models and metric == "latency":
        result = fill_cold_start(result, store, matrix, folder)
    return result


__all__ = ["PREDICTOR_CACHE", "cache_folder", "predict_store"]
