"""Rank transfer: the target orders models as a source does; latencies placed monotonically.

Assumptions: the *order* of models carries over between devices even when ratios do not (a
runtime that speeds up depthwise convolutions shifts distances, not the order). The score is the
log latency on the single source that agrees best with the target on the known models
(Spearman, ties broken by coverage), or with ``consensus=True`` a weighted mean over all sources
of their centred log latencies (weight = squared positive Spearman agreement on the known models;
equal weights when k < 3). Latencies are placed by isotonic regression of log target on the score
over the known models (k ≥ 2), extended beyond the known range with unit slope (a constant ratio,
since isotonic regression alone would clip every faster/slower model to the extreme known one),
or by ``calibration="ratio"`` (one median log ratio, k ≥ 1). Models the single source did not
measure take the consensus score shifted onto that source's scale. With ``prefer_same_setup``
(default) the single source and the consensus are drawn from the sources running the target's
runtime|precision when there are any (a new device's software stack is known; see ``krt``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.isotonic import IsotonicRegression

from predictor.methods.base import (TransferInputError, TransferMethod, log_sources, nanmedian,
                                    source_block, store_params)
from predictor.methods.krt import setup_penalty
from predictor.methods.registry import register_method


def _consensus(L: np.ndarray, weights: np.ndarray) -> np.ndarray:
    centred = L - nanmedian(L, axis=0)
    w = np.where(np.isnan(centred), 0.0, weights[None, :])
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.nansum(np.nan_to_num(centred) * w, axis=1) / total, np.nan)


def _agreement(L: np.ndarray, known: np.ndarray, y_log: np.ndarray) -> np.ndarray:
    """Spearman of each source with the target over the known models it measured (NaN when
    fewer than 3 pairs); vectorised over the sources that measured every known model."""
    out = np.full(L.shape[1], np.nan)
    K = L[known]
    if len(known) < 3 or np.ptp(y_log) == 0:
        return out
    # sources grouped by which known models they measured: one vectorised rank correlation per
    # group (a per-source scipy.stats.spearmanr made this most of a rank transfer's fit time)
    groups: dict[bytes, list[int]] = {}
    for j, seen in enumerate((~np.isnan(K)).T):
        groups.setdefault(np.packbits(seen).tobytes(), []).append(j)
    for columns in groups.values():
        ok = ~np.isnan(K[:, columns[0]])
        if ok.sum() < 3 or np.ptp(y_log[ok]) == 0:
            continue
        rx = stats.rankdata(K[np.ix_(ok, columns)], axis=0)
        ry = stats.rankdata(y_log[ok])[:, None]
        rx = rx - rx.mean(axis=0)
        ry = ry - ry.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = (rx * ry).sum(axis=0) / np.sqrt((rx ** 2).sum(axis=0) * (ry ** 2).sum())
        out[columns] = np.where(np.ptp(K[np.ix_(ok, columns)], axis=0) > 0, rho, np.nan)
    return out


@register_method("rank")
class RankTransfer(TransferMethod):

    def __init__(self, consensus: bool = False, calibration: str = "isotonic",
                 prefer_same_setup: bool = True, intervals: bool = True, n_calibration: int = 10,
                 random_state: int | None = 0):
        store_params(self, locals())

    def required_known(self) -> int:
        return 1 if self.calibration == "ratio" else 2

    def _score(self, L: np.ndarray) -> np.ndarray:
        cons = _consensus(L, self.weights_)
        if self.consensus:
            return cons
        own = L[:, self.source_index_]
        shift = nanmedian(own - cons) if np.any(~np.isnan(own - cons)) else 0.0
        return np.where(np.isnan(own), cons + shift, own)

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        if self.calibration not in ("isotonic", "ratio"):
            raise TransferInputError(f"calibration must be 'isotonic' or 'ratio', got {self.calibration!r}")
        cols, L, known = source_block(X, y_log)
        y = y_log.to_numpy()
        rho = _agreement(L, known, y)
        coverage = np.sum(~np.isnan(L), axis=0)
        allowed = np.ones(len(cols), dtype=bool)
        if self.prefer_same_setup:
            same = setup_penalty(cols, self.target_) == 0
            measured = np.any(~np.isnan(L[known]), axis=0)
            if (same & measured).any():
                allowed = same
        self.source_columns_ = cols
        weights = (np.where(np.isnan(rho), 0.0, np.clip(rho, 0, 1) ** 2)
                   if len(y) >= 3 and np.any(rho[allowed] > 0) else np.ones(len(cols)))
        self.weights_ = np.where(allowed, weights, 0.0)
        self.source_index_ = int(np.lexsort((-coverage, -np.nan_to_num(rho, nan=-2), ~allowed))[0])
        s = self._score(L)[known]
        ok = ~np.isnan(s)
        if not ok.any():
            raise TransferInputError("no source configuration measured any of the known models")
        self.offset_ = float(np.median(y[ok] - s[ok]))
        if self.calibration == "isotonic":
            iso = IsotonicRegression(increasing=True).fit(s[ok], y[ok])
            self.x_thresholds_ = np.asarray(iso.X_thresholds_, dtype=float)
            self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=float)

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        s = self._score(log_sources(X, self.source_columns_))
        if self.calibration == "ratio":
            return s + self.offset_
        xt, yt = self.x_thresholds_, self.y_thresholds_
        out = np.interp(s, xt, yt)
        out = np.where(s < xt[0], yt[0] + (s - xt[0]), out)
        return np.where(s > xt[-1], yt[-1] + (s - xt[-1]), out)
