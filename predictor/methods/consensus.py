"""Consensus transfer: per-source ratios shrunk towards a same-setup consensus, sources averaged.

Why not one source (``krt``): with k = 5 known models the "most consistent" source is chosen on
five ratios, and the choice is itself noisy — on a device newer than the store the best source
in hindsight is rarely the one five models point to. Every source of the target's
runtime|precision carries evidence, so this method uses all of them:

1. each source's log ratio to the target is shrunk towards the consensus ratio of the same-setup
   sources (a random-effects mean: a source that shares few known models keeps little of its
   own ratio — ``ratio_strength`` pseudo-pairs of the consensus);
2. each source's dissimilarity is its variance of log ratios over the known models, shrunk
   towards the median variance (``prior_strength`` pseudo-pairs, as ``krt`` does);
3. the prediction of a model is the weighted mean over the sources that measured it of
   (source + shrunk ratio), weights ∝ 1 / dissimilarity^``power`` among the ``n_top`` best
   sources: ``power`` → ∞ is single-source KRT, ``power`` = 0 an equal-weight consensus;
4. the median remaining residual on the known models is removed (the ensemble's scale).

With ``same_setup="prefer"`` (default) only same-setup sources enter while any covers half the
known models; otherwise every source does, those of another setup with a penalty
``setup_weight`` added to their dissimilarity. k = 0 is impossible.

Measured (benchmarks/transfer_grid.py): below plain KRT on forward (0.33 vs 0.43 within ±10 %
at k = 5) and on chipset LODO (0.55 vs 0.61): averaging sources of other hardware generations
blurs the per-model interaction the single closest source keeps. Not an ``auto`` candidate:
nested validation on the sources picked it for 17 of 31 forward targets and lost there.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from predictor.methods.base import (TransferInputError, TransferMethod, log_sources, nanmedian,
                                    source_block, store_params)
from predictor.methods.krt import ratio_evidence, setup_penalty
from predictor.methods.registry import register_method


def consensus_weights(var: np.ndarray, n: np.ndarray, prior_strength: float, power: float,
                      n_top: int | None, usable: np.ndarray) -> np.ndarray:
    """Per source: its weight in the ensemble (0 where not usable), from the shrunk variance."""
    well = usable & (n >= 2)
    prior = float(np.nanmedian(var[well])) if well.any() else 0.02
    prior = max(prior, 1e-4)
    dof = np.clip(n - 1, 0, None).astype(float)
    tau = max(float(prior_strength), 1e-9)
    shrunk = (np.nan_to_num(var) * dof + tau * prior) / (dof + tau)
    shrunk = np.maximum(shrunk, 1e-4)
    w = np.where(usable, shrunk ** (-float(power)), 0.0)
    if n_top is not None and usable.sum() > n_top:
        order = np.argsort(-w, kind="stable")
        w[order[int(n_top):]] = 0.0
    return w / w.sum() if w.sum() > 0 else w


@register_method("consensus", auto=False, summary="same-setup sources averaged, ratios shrunk towards "
                                      "their consensus, weights from the known models")
class ConsensusTransfer(TransferMethod):
    """Multi-source ratio transfer with hierarchical shrinkage (see module docstring)."""

    def __init__(self, power: float = 1.0, n_top: int | None = None, prior_strength: float = 2.0,
                 ratio_strength: float = 1.0, same_setup: str = "prefer", min_cover: float = 0.5,
                 setup_weight: float = 0.05, center: str = "median", intervals: bool = True, n_calibration: int = 10,
                 random_state: int | None = 0):
        store_params(self, locals())

    def _usable(self, cols: list[str], n: np.ndarray, k: int) -> np.ndarray:
        covered = n >= max(1, int(np.ceil(self.min_cover * k)))
        if self.same_setup not in ("prefer", "only", "ignore"):
            raise TransferInputError(f"same_setup must be prefer|only|ignore, got {self.same_setup!r}")
        self.penalty_ = setup_penalty(cols, self.target_)
        if self.same_setup != "ignore":
            same = self.penalty_ == 0
            if self.same_setup == "only" or (same & covered).any():
                covered &= same
        if not covered.any():
            raise TransferInputError("no source configuration measured enough of the known models")
        return covered

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        cols, L, known = source_block(X, y_log)
        y = y_log.to_numpy()
        offset, var, n = ratio_evidence(L, known, y, center=self.center)
        usable = self._usable(cols, n, len(known))
        var = var + float(self.setup_weight) * self.penalty_
        # random-effects shrinkage of each ratio towards the usable sources' consensus
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            consensus = float(np.nanmedian(offset[usable]))
        s = float(self.ratio_strength)
        offset = np.where(n >= 1, (offset * n + s * consensus) / (n + s), consensus)
        w = consensus_weights(var, n, self.prior_strength, self.power, self.n_top, usable)
        # the other sources that share a known model answer only models the chosen ones lack
        rest = (n >= 1) & (w == 0)
        if rest.any():
            w = w + 1e-9 * consensus_weights(var, n, self.prior_strength, self.power, None, rest)
        keep = w > 0
        self.source_columns_ = [c for c, kk in zip(cols, keep) if kk]
        self.offsets_ = offset[keep]
        self.weights_ = w[keep]
        self.calibration_ = 0.0
        resid = y - self._ensemble(L[known][:, keep])
        self.calibration_ = float(nanmedian(resid)) if np.isfinite(resid).any() else 0.0

    def _ensemble(self, L: np.ndarray) -> np.ndarray:
        P = L + self.offsets_
        W = np.where(np.isnan(P), 0.0, self.weights_)
        total = W.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(total > 0, (np.nan_to_num(P) * W).sum(axis=1) / total, np.nan)
        return out + getattr(self, "calibration_", 0.0)

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        return self._ensemble(log_sources(X, self.source_columns_))


__all__ = ["ConsensusTransfer", "consensus_weights"]
