"""In-sample oracles per target: *references* for a transfer score, not bounds on it.

Why: a goal such as "90 % of models within ±10 %" reads differently when the best single source
in hindsight reaches 0.95 than when it reaches 0.5. These oracles say that much — and no more:
they choose their sources with the target's own scores, but they use neither model features, nor
more than one or two sources, nor a non-linear map, so a k-shot method that has those can and
does beat them on some targets (``tests/predictor/test_references.py`` shows it on real data).
``predictor.evaluation.references`` prints them beside every score with the test–retest rate of
the target's own re-profiles.

``transfer_ceiling`` looks at every configuration of *another* device that measured (almost) all
of the target's models, fits the one ratio that best explains **all** of the target's models (the
median log ratio — no k-shot guessing, no source selection error), and keeps the best source.
What remains is the per-model interaction between that source and the target, which *one* ratio
cannot remove.

``pair_ceiling`` asks whether combining two sources removes that interaction: for each target it
fits log latency = a + b₁·log source₁ + b₂·log source₂ by least squares and predicts every model
from all the *other* target models (leave-one-model-out, i.e. k = n − 1 known models), keeping
the pair of sources whose held-out predictions score best. Choosing the pair by the score it
reports makes it optimistic for two linear sources; it says nothing of what other methods reach.
(The names keep their historical "ceiling"; read them as "oracle reference".)
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import numpy as np
import pandas as pd

from predictor.metrics import spearman, within


def _targets(matrix, align: bool, min_models: int, min_overlap: float
             ) -> Iterator[tuple[str, str, pd.Series, Iterator[tuple[str, pd.Series]]]]:
    """For each target with at least ``min_models`` models: its name, its device, its log
    latencies and, lazily, each other-device source's log latencies on the same models (NaN where
    the source lacks one), for sources covering ``min_overlap`` of them."""
    device = matrix.configs["device"].astype(str)
    for target in matrix.values.columns:
        m = matrix.aligned_to(target) if align and hasattr(matrix, "aligned_to") else matrix
        y = np.log(m.values[target].dropna())
        if len(y) < min_models:
            continue

        def sources(m=m, y=y, target=target) -> Iterator[tuple[str, pd.Series]]:
            for source in m.values.columns:
                if device[source] == device[target]:
                    continue
                x = np.log(m.values[source].reindex(y.index))
                if x.notna().sum() >= max(min_models, min_overlap * len(y)):
                    yield source, x

        yield target, device[target], y, sources()


def _ratio_fit(y: pd.Series, x: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(measured, predicted) log latencies of the median-ratio fit on the shared models."""
    ok = x.notna().to_numpy()
    yy, xx = y[ok].to_numpy(), x[ok].to_numpy()
    return yy, xx + np.median(yy - xx)


def transfer_ceiling(matrix, align: bool = True, min_models: int = 5,
                     min_overlap: float = 0.9) -> pd.DataFrame:
    """One row per target configuration: the best other-device source and its in-sample
    within-10 % / within-5 % / Spearman when the ratio is fitted on every target model.

    ``align`` reads sources as of the target's measurement dates (as ``evaluate`` does);
    ``min_overlap`` is the share of the target's models a source must have measured.
    """
    rows = []
    for target, device, y, sources in _targets(matrix, align, min_models, min_overlap):
        best = None
        for source, x in sources:
            yy, pred = _ratio_fit(y, x)
            w10 = within(np.exp(yy), np.exp(pred), 0.10)
            if best is None or w10 > best["within_10"]:
                best = dict(within_10=w10, within_5=within(np.exp(yy), np.exp(pred), 0.05),
                            spearman=spearman(yy, pred), source=source, n_models=len(yy))
        if best is not None:
            rows.append(dict(target=target, device=device, **best))
    return pd.DataFrame(rows, columns=["target", "device", "source", "n_models", "within_10",
                                       "within_5", "spearman"])


def leave_one_out_predictions(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Least-squares predictions of each y from all the other rows (intercept added), in closed
    form: the held-out residual is the in-sample residual / (1 − leverage)."""
    A = np.column_stack([np.ones(len(y)), X])
    hat = A @ np.linalg.pinv(A)
    leverage = np.clip(np.diag(hat), None, 1 - 1e-9)
    return y - (y - hat @ y) / (1 - leverage)


def pair_ceiling(matrix, align: bool = True, top: int = 8, min_models: int = 8,
                 min_overlap: float = 0.9) -> pd.DataFrame:
    """One row per target configuration with at least ``min_models`` models: the best pair among
    its ``top`` best single sources and the pair's leave-one-model-out within-10 % / within-5 % /
    Spearman (k = n − 1; see the module docstring: an optimistic reference, not a bound)."""
    rows = []
    for target, device, y, sources in _targets(matrix, align, min_models, min_overlap):
        scored = []
        for source, x in sources:
            yy, pred = _ratio_fit(y, x)
            scored.append((within(np.exp(yy), np.exp(pred), 0.10), source, x))
        scored.sort(key=lambda s: -s[0])
        best = None
        for (_, a, xa), (_, b, xb) in combinations(scored[:top], 2):
            ok = (xa.notna() & xb.notna()).to_numpy()
            if ok.sum() < min_models:
                continue
            yy = y[ok].to_numpy()
            pred = leave_one_out_predictions(yy, np.column_stack([xa[ok], xb[ok]]))
            w10 = within(np.exp(yy), np.exp(pred), 0.10)
            if best is None or w10 > best["within_10"]:
                best = dict(within_10=w10, within_5=within(np.exp(yy), np.exp(pred), 0.05),
                            spearman=spearman(yy, pred), sources=f"{a} + {b}", n_models=len(yy))
        if best is not None:
            rows.append(dict(target=target, device=device, **best))
    return pd.DataFrame(rows, columns=["target", "device", "sources", "n_models", "within_10",
                                       "within_5", "spearman"])


__all__ = ["leave_one_out_predictions", "pair_ceiling", "transfer_ceiling"]
