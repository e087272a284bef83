"""One query, end to end: check the target, prepare it, choose the method, answer.

Above ``predictor.service.predict`` (the core that evaluation also calls) and
``predictor.service.auto`` (which evaluates), so the import graph has no cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from predictor.service.auto import choose_method
from predictor.service.known import read_known
from predictor.service.predict import Prediction, answer, prepare_target
from predictor.service.saved import (load_pretrained, n_calibrations, pretrained_path,
                                     save_pretrained)
from predictor.service.target import resolve_target


def estimator_for(method: str, X: pd.DataFrame, predictors: Path | None = None,
                  params: dict[str, Any] | None = None) -> tuple[Any, Path | None]:
    """A fresh estimator of ``method``, pre-trained on X's sources (from the saved predictors
    folder when one was trained on exactly these sources), and where it is saved."""
    from predictor.methods import make_method

    from predictor.methods import SPECS

    est = make_method(method, **(params or {}))
    if not SPECS[method].pretrains:  # nothing to pre-train, nothing worth saving
        return est, None
    saved = pretrained_path(predictors, est, X, method)
    if saved is not None and (saved / "method.json").exists():
        est = load_pretrained(saved) or est
    if not getattr(est, "source_fitted_", False):
        if "warm_start" in est.get_params():
            est.set_params(warm_start=True)
        est.fit_source(X)
        if saved is not None:
            save_pretrained(est, saved)
    return est, saved


def predict_from_known(matrix: Any, known: pd.DataFrame | str | Path, method: str = "auto",
                       estimator: Any = None, device: str | None = None,
                       runtime: str | None = None, precision: str | None = None,
                       models: Sequence[str] | None = None, coverage: float = 0.9,
                       metric: str = "latency", cache: Path | None = None,
                       snapshot: str = "", predictors: Path | None = None,
                       params: dict[str, Any] | None = None) -> Prediction:
    """One query: check the target, prepare it, choose the method, answer. ``params``: the
    method's parameters (e.g. ``effbench tune``'s best); ``auto`` uses each method's defaults."""
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    if not isinstance(known, pd.DataFrame) or "canonical" not in known:
        known = read_known(known, metric)
    target, notes = resolve_target(matrix.configs, device, runtime, precision)
    prepared = prepare_target(matrix, target, blank_stored=estimator is not None, notes=notes)
    if estimator is None:
        if method == "auto":
            method = choose_method(matrix.without(target.stored_configs(matrix.configs)),
                                   len(known), target, cache, snapshot)
        estimator, saved = estimator_for(method, prepared.X, predictors,
                                         params if method != "auto" else None)
    else:
        saved = None
    before = n_calibrations(estimator)
    result = answer(prepared, known, estimator, method, coverage, models)
    if saved is not None and n_calibrations(estimator) != before:
        save_pretrained(estimator, saved)  # a new k's calibration: keep it
    return result


__all__ = ["estimator_for", "predict_from_known"]
