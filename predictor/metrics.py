"""Agreement between predicted and measured latencies, and between rankings.

One place for every metric effbench reports, so that evaluation, analyses and the report cannot
drift apart. All functions take aligned 1-D arrays (NaNs are dropped pairwise) and return floats;
``bootstrap_ci`` attaches the uncertainty that every reported number carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"arrays differ in shape: {a.shape} vs {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def spearman(true, pred) -> float:
    t, p = _pair(true, pred)
    if len(t) < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(stats.spearmanr(t, p).statistic)


def kendall(true, pred) -> float:
    t, p = _pair(true, pred)
    if len(t) < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(stats.kendalltau(t, p).statistic)


def relative_errors(true, pred) -> np.ndarray:
    """|pred - true| / true, the quantity behind MAPE and the within-±x% shares."""
    t, p = _pair(true, pred)
    return np.abs(p - t) / t


def mape(true, pred) -> float:
    """Mean absolute percentage error, in percent."""
    err = relative_errors(true, pred)
    return float(100 * err.mean()) if len(err) else float("nan")


def within(true, pred, tolerance: float = 0.10) -> float:
    """Share of predictions within ±tolerance (relative) of the measurement."""
    err = relative_errors(true, pred)
    return float((err <= tolerance + 1e-12).mean()) if len(err) else float("nan")


def topk_overlap(true, pred, k: int = 5) -> float:
    """|fastest-k by prediction ∩ fastest-k measured| / k."""
    t, p = _pair(true, pred)
    k = min(k, len(t))
    if k == 0:
        return float("nan")
    return len(set(np.argsort(t, kind="stable")[:k]) & set(np.argsort(p, kind="stable")[:k])) / k


def pareto_front(cost, value) -> np.ndarray:
    """Boolean mask of the points no other point dominates (lower cost AND higher-or-equal value,
    one of them strictly). ``cost`` is latency (lower is better), ``value`` accuracy."""
    cost = np.asarray(cost, dtype=float)
    value = np.asarray(value, dtype=float)
    ok = np.isfinite(cost) & np.isfinite(value)
    mask = np.zeros(len(cost), dtype=bool)
    idx = np.flatnonzero(ok)
    for i in idx:
        dominated = ((cost[idx] <= cost[i]) & (value[idx] >= value[i])
                     & ((cost[idx] < cost[i]) | (value[idx] > value[i])))
        mask[i] = not dominated.any()
    return mask


@dataclass(frozen=True)
class SetAgreement:
    precision: float
    recall: float
    f1: float


def set_agreement(true_mask, pred_mask) -> SetAgreement:
    """Precision/recall/F1 of a predicted set (e.g. a Pareto frontier) against the true set."""
    t = np.asarray(true_mask, dtype=bool)
    p = np.asarray(pred_mask, dtype=bool)
    hits = int((t & p).sum())
    precision = hits / p.sum() if p.sum() else float("nan")
    recall = hits / t.sum() if t.sum() else float("nan")
    f1 = (2 * precision * recall / (precision + recall)
          if hits and np.isfinite(precision) and np.isfinite(recall) else 0.0)
    return SetAgreement(float(precision), float(recall), float(f1))


def pareto_f1(true_cost, pred_cost, value) -> SetAgreement:
    """How well the frontier drawn from predicted latencies matches the measured frontier."""
    return set_agreement(pareto_front(true_cost, value), pareto_front(pred_cost, value))


@dataclass(frozen=True)
class Estimate:
    """A number with its 95 % bootstrap interval: effbench never reports one without the other."""
    value: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap_ci(statistic: Callable[..., float], *arrays, n_boot: int = 1000,
                 confidence: float = 0.95, seed: int = 0) -> Estimate:
    """Percentile bootstrap over rows shared by ``arrays`` (resampled together)."""
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    value = float(statistic(*arrays)) if n else float("nan")
    if n < 2:
        return Estimate(value, float("nan"), float("nan"), n)
    rng = np.random.default_rng(seed)
    samples = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        samples[b] = statistic(*(a[idx] for a in arrays))
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return Estimate(value, float("nan"), float("nan"), n)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha])
    return Estimate(value, float(low), float(high), n)


def mean_ci(values, n_boot: int = 1000, seed: int = 0) -> Estimate:
    """Mean over units (devices, configurations) with a bootstrap CI over those units."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return bootstrap_ci(np.mean, v, n_boot=n_boot, seed=seed)
    # Vectorised: the same resamples as bootstrap_ci's loop (one integers() call draws the same
    # stream), ~50x faster, which matters when an evaluation summarises hundreds of cells.
    rng = np.random.default_rng(seed)
    samples = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    low, high = np.quantile(samples, [0.025, 0.975])
    return Estimate(float(v.mean()), float(low), float(high), len(v))


#: Name -> metric(true, pred); evaluation loops over this table.
POINT_METRICS: dict[str, Callable[..., float]] = {
    "spearman": spearman,
    "kendall": kendall,
    "mape": mape,
    "within_5": lambda t, p: within(t, p, 0.05),
    "within_10": lambda t, p: within(t, p, 0.10),
    "top5_overlap": lambda t, p: topk_overlap(t, p, 5),
}
