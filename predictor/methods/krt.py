"""Known-ratio transfer (KRT): target = source × device ratio.

Assumptions: the target runs every model at a constant speed ratio to *one* source
configuration; the ratio is the median log ratio over the k ≥ 1 known models (robust to one odd
model). The source is the one whose log ratio varies least over the known models (the most
"similar" device), among the sources that measured at least ``min_cover`` of the known models
(a source that saw one of five known models has no evidence of consistency at all). The
variance is shrunk towards a prior (the median variance of the well-covered sources) with
``prior_strength`` pseudo-pairs, so a source sharing one known model gets the prior, never a
perfect score, and with k = 1 the best-covered source wins. With ``same_setup="prefer"``
(default) only sources running the target's own runtime|precision compete while there are any
(a new device's software stack is known); ``"only"`` never leaves them (the plain single-source
KRT baseline, registered as ``plain_krt``); ``"ignore"`` lets every source compete.
``scope="family"`` adds a correction per model family (the median residual of its known models,
shrunk by ``family_shrink`` pseudo-models, for families with ``family_min`` known models), with
the global ratio as fallback; registered as ``krt_family`` (families with two known models: on
the forward and chipset-grouped benchmarks it lifts within-±10 % by 2–3 points over plain KRT at
k = 5 with Spearman within 0.005). Models the
chosen source did not measure fall back to the next most similar source. k = 0 is impossible.

``exponent_shrink`` (registered as ``krt_power``) relaxes the constant ratio to a power law,
log target = a + b · log source: a new device is rarely faster by one factor for every model —
fixed per-inference overheads and memory-bound layers weigh more in small models, so the ratio
drifts with model size. ``b`` is the least-squares slope of the known models (three or more),
shrunk towards 1 as a ridge prior would: b = 1 + (b̂ − 1) · Sxx / (Sxx + ``exponent_shrink``),
with Sxx the known models' sum of squared log-source deviations (five models spread over an
order of magnitude give Sxx ≈ 5, so the default 1.0 keeps ~5/6 of the fitted departure); ``a``
is the median of log target − b · log source. The order of the models on the source is kept
(b > 0), so Spearman is the ratio's. Chosen on evidence: at k = 5 it lifted within ±10 % on
forward AI Hub from 0.365 (``krt``) to 0.440, on chipset-grouped AI Hub from 0.612 to 0.637 and
on timm from 0.344 to 0.364 (``benchmarks/transfer_grid.py``); shrinkage 0.5–2 were within 0.03
of each other, no shrinkage (plain least squares) lost at k = 3.

``ratio_evidence`` is the primitive the other methods reuse.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from predictor.design import SRC, config_of
from predictor.methods.base import (TransferInputError, TransferMethod, log_sources, nanmedian,
                                    setup_of, source_block, store_params)
from predictor.methods.registry import register_method


def ratio_evidence(L: np.ndarray, known: np.ndarray, y_log: np.ndarray,
                   center: str = "median") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per source column: (log offset target − source, variance of the log ratio, n pairs).

    ``L`` is models × sources log ms, ``known`` the row positions of the known models.
    Variance uses n − 1 degrees of freedom and is NaN with fewer than 2 pairs.
    """
    R = y_log[:, None] - L[known]
    n = np.sum(~np.isnan(R), axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
        offset = nanmedian(R, axis=0) if center == "median" else np.nanmean(R, axis=0)
        var = np.nansum((R - np.nanmean(R, axis=0)) ** 2, axis=0) / np.maximum(n - 1, 1)
    var = np.where(n >= 2, var, np.nan)
    offset = np.where(n >= 1, offset, np.nan)
    return offset, var, n


def power_fit(L: np.ndarray, y_log: np.ndarray, shrink: float,
              offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per source column of ``L`` (known models × sources, log ms): (exponent b, log offset a) of
    log y = a + b · log source, b the least-squares slope shrunk towards 1 by ``shrink``
    pseudo-units of Sxx (see the module docstring), a the median of log y − b · log source.
    Columns with fewer than three pairs, or no spread, keep b = 1 and their ``offsets``."""
    R = ~np.isnan(L)
    n = R.sum(axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = np.where(R, L, np.nan)
        yy = np.where(R, y_log[:, None], np.nan)
        dx = x - np.nanmean(x, axis=0)
        dy = yy - np.nanmean(yy, axis=0)
        sxx = np.nansum(dx ** 2, axis=0)
        slope = np.nansum(dx * dy, axis=0) / sxx
        b = 1.0 + (slope - 1.0) * sxx / (sxx + shrink)
        ok = (n >= 3) & (sxx > 1e-12) & np.isfinite(b) & (b > 0)
        b = np.where(ok, b, 1.0)
        a = nanmedian(yy - b * x, axis=0)
    return b, np.where(ok, a, offsets)


def first_available(P: np.ndarray) -> np.ndarray:
    """Row-wise first non-NaN value of P (columns in preference order); NaN if none."""
    ok = ~np.isnan(P)
    idx = np.argmax(ok, axis=1)
    out = P[np.arange(len(P)), idx]
    out[~ok.any(axis=1)] = np.nan
    return out


def setup_penalty(columns: list[str], target: str | None) -> np.ndarray:
    """1 for sources whose runtime|precision|… differs from the target's, else 0."""
    if not target:
        return np.zeros(len(columns))
    want = setup_of(target)
    return np.array([setup_of(config_of(c)) != want for c in columns], dtype=float)


@register_method("plain_krt", params={"same_setup": "only", "prior_strength": 0.0},
                 auto=False, summary="the baseline: one source of the same runtime|precision, "
                                     "median ratio, most consistent among those covering half")
@register_method("krt_family", params={"scope": "family", "family_min": 2},
                 summary="KRT with a ratio correction per model family (families with two or "
                         "more known models)")
@register_method("krt_power", params={"exponent_shrink": 1.0},
                 summary="KRT with a power law, target = c × source^b, b fitted on the known "
                         "models and shrunk towards 1")
@register_method("krt", summary="known-ratio transfer from the most consistent source")
class KRTTransfer(TransferMethod):
    """Known-ratio transfer from the most consistent single source (see module docstring)."""

    scaled_intervals = True  # a source that fits the known models badly fits the rest badly

    def __init__(self, scope: str = "global", source: str | None = None,
                 same_setup: str = "prefer", min_cover: float = 0.5, prior_strength: float = 1.0,
                 family_shrink: float = 0.0, family_min: int = 1,
                 exponent_shrink: float | None = None, intervals: bool = True,
                 n_calibration: int = 10, random_state: int | None = 0):
        store_params(self, locals())

    def _order(self, cols: list[str], L: np.ndarray, known: np.ndarray,
               y_log: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(source positions best first, their log offsets)."""
        offset, var, n = ratio_evidence(L, known, y_log)
        k = len(known)
        covered = n >= max(1, int(np.ceil(self.min_cover * k)))
        if self.same_setup not in ("prefer", "only", "ignore"):
            raise TransferInputError(f"same_setup must be prefer|only|ignore, got {self.same_setup!r}")
        if self.same_setup != "ignore":
            same = setup_penalty(cols, self.target_) == 0
            if self.same_setup == "only" or (same & covered).any():
                covered &= same
        if not covered.any():
            raise TransferInputError("no source configuration measured enough of the known models"
                                     + (" with the target's runtime|precision"
                                        if self.same_setup == "only" else ""))
        well = covered & (n >= 2)
        prior = float(np.nanmedian(var[well])) if well.any() else 0.05
        dof = np.clip(n - 1, 0, None).astype(float)
        tau = float(self.prior_strength)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(dof + tau > 0, (np.nan_to_num(var) * dof + tau * prior) / (dof + tau),
                             np.inf)
        score = np.where(n >= 2, score, prior if tau > 0 else np.inf)
        score = np.where(np.isfinite(score), score, np.inf)
        coverage = np.sum(~np.isnan(L), axis=0)
        ranked = np.lexsort((-coverage, -n, score))
        # the competing sources first; every other source that shares a known model only
        # predicts the models none of those measured (no row is left without a prediction
        # while some source measured it and has a ratio)
        rest = np.lexsort((-coverage, -n, np.where(np.isfinite(score), score, prior)))
        order = np.concatenate([ranked[covered[ranked]], rest[~covered[rest] & (n[rest] >= 1)]])
        return order, offset

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        if self.scope not in ("global", "family"):
            raise TransferInputError(f"scope must be 'global' or 'family', got {self.scope!r}")
        cols, L, known = source_block(X, y_log)
        order, offset = self._order(cols, L, known, y_log.to_numpy())
        if self.source is not None:
            fixed = self.source if self.source.startswith(SRC) else SRC + self.source
            if fixed not in cols:
                raise TransferInputError(f"source {self.source!r} is not a source column of X")
            first = cols.index(fixed)
            order = np.array([first] + [i for i in order if i != first])
        self.source_columns_ = [cols[i] for i in order]
        self.offsets_ = offset[order]
        self.exponents_ = np.ones(len(order))
        if self.exponent_shrink is not None:
            self.exponents_, self.offsets_ = power_fit(L[known][:, order], y_log.to_numpy(),
                                                       float(self.exponent_shrink), self.offsets_)
        self.source_ = config_of(self.source_columns_[0])
        self.ratio_ = float(np.exp(self.offsets_[0]))
        self.family_offsets_ = {}
        if self.scope == "family" and "family" in X:
            primary = L[known, order[0]] * self.exponents_[0]
            resid = pd.Series(y_log.to_numpy() - primary - self.offsets_[0], index=y_log.index)
            fam = X.loc[y_log.index, "family"].astype(str)
            by = resid.groupby(fam)
            # a family's offset from n known models, shrunk towards 0 (the global ratio) with
            # ``family_shrink`` pseudo-models: one model's deviation is half evidence, half noise
            size = by.size()
            shrink = size / (size + float(self.family_shrink))
            offsets = (by.median() * shrink)[size >= int(self.family_min)]
            self.family_offsets_ = offsets.dropna().to_dict()

    def _n_fitted(self) -> int:
        """The ratio, the exponent where one was fitted, and one offset per corrected family."""
        exponent = int(self.exponent_shrink is not None and self.exponents_[0] != 1.0)
        return 1 + exponent + len(getattr(self, "family_offsets_", {}))

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        exponents = getattr(self, "exponents_", None)  # predictors saved before krt_power: 1
        P = log_sources(X, self.source_columns_) * (1.0 if exponents is None else exponents) \
            + self.offsets_
        out = first_available(P)
        if self.family_offsets_ and "family" in X:
            out = out + X["family"].astype(str).map(self.family_offsets_).fillna(0.0).to_numpy(dtype=float)
        return out
