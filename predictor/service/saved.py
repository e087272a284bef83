"""Pre-trained predictors kept between queries, under ``<store cache>/predictors/``.

Methods that pre-train on the sources (the learned ones, low-rank) are saved once pre-trained
(JSON / xgboost JSON, never pickles), keyed by the method, its parameters and the content of the
source block, so a changed store never reuses a stale one; their conformal calibrations per k
travel with them, so a later query only fits its k known models.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def pretrained_path(folder: Path | None, est: Any, X: pd.DataFrame, name: str) -> Path | None:
    if folder is None:
        return None
    key = hashlib.sha1(repr(est.source_fingerprint(X)).encode()).hexdigest()[:16]
    return Path(folder) / f"{name}-{key}"


def load_pretrained(path: Path) -> Any:
    """The saved predictor, warm-started; None (pre-train again) if it cannot be read."""
    from predictor.methods import UnknownMethod, load_method

    try:
        est = load_method(path)
    except (UnknownMethod, OSError, ValueError, KeyError):
        return None
    if "warm_start" in est.get_params():
        est.set_params(warm_start=True)
    return est if getattr(est, "source_fitted_", False) else None


def save_pretrained(est: Any, path: Path) -> None:
    """Write into a temporary folder and rename it into place: a reader never sees half a
    predictor, and a failed write (read-only store) only costs the next query a pre-training."""
    from predictor.methods import save_method

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
        save_method(est, tmp)
        old = path.with_name(path.name + ".old")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass


def n_calibrations(est: Any) -> int:
    return len(getattr(est, "interval_cache_", None) or {})


__all__ = ["load_pretrained", "n_calibrations", "pretrained_path", "save_pretrained"]
