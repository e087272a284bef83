"""Uncertainty over the independent units — models and devices — never over configuration pairs.

Why: two configurations compared on the same 40 models, and the next pair compared on those
40 models again, are not independent observations. Resampling the *pairs* treats thousands of
them as independent and gives CIs a tenth as wide as they should be (GPU→edge FRM ρ: ±0.004 over
pairs, [0.845, 0.963] over models). Here every statistic is a function of *weights*: each
model's multiplicity (and each device's). A bootstrap replicate draws models (and, as a two-way
cluster bootstrap, devices) with replacement, i.e. multinomial counts; a leave-a-few-out draw
sets a few weights to 0; the data as measured is all ones. One function therefore gives the
value, its CI and the check whether a small change of the data moves it across a claim's band.

Intervals are 95 % percentile intervals re-centred on the value (see :func:`resample`). The
two-way scheme resamples models and devices independently (Owen 2007, "The pigeonhole
bootstrap"): a statistic over (model, device) cells keeps the dependence along both axes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from predictor.metrics import Estimate

#: Defaults every analysis uses unless its experiment parameters say otherwise.
N_BOOT = 200
LEAVE_OUT = 0.05
LEAVE_OUT_DRAWS = 20

SHARE = (0.0, 1.0)
RHO = (-1.0, 1.0)

#: ``stat(model_weights (B × n_models), device_weights (B × n_devices) or None) -> (B,)``
BatchStatistic = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


def bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot × n`` multiplicities: how often each of ``n`` units is drawn in a resample of n."""
    idx = rng.integers(0, n, (n_boot, n))
    out = np.zeros((n_boot, n))
    np.add.at(out, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1.0)
    return out


def leave_out_weights(n: int, share: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws × n`` 0/1 weights, each leaving out ``max(1, round(share·n))`` random units."""
    drop = max(1, int(round(share * n)))
    out = np.ones((draws, n))
    for d in range(draws):
        out[d, rng.choice(n, min(drop, n - 1), replace=False)] = 0.0
    return out


@dataclass(frozen=True)
class Resampled:
    """A statistic's value, its 95 % CI over the resampled units, and its leave-out range."""
    estimate: Estimate
    leave_out: tuple[float, float]   # (min, max) of the value over leave-a-few-models-out draws
    n_left_out: int                  # models left out per draw
    unit: str                        # what was resampled, for the report


def resample(stat: BatchStatistic, n_models: int, n_devices: int | None = None, *,
             n_boot: int = N_BOOT, leave_out: float = LEAVE_OUT,
             leave_out_draws: int = LEAVE_OUT_DRAWS, seed: int = 0,
             n: int | None = None, bounds: tuple[float, float] | None = None) -> Resampled:
    """Value (all weights 1), percentile CI over ``n_boot`` model (× device) resamples, and the
    range over ``leave_out_draws`` draws that each leave out ``leave_out`` of the models.

    ``bounds``: the statistic's natural range (a share in [0, 1], a ρ in [−1, 1]); the
    re-centred interval is clipped to it."""
    rng = np.random.default_rng(seed)
    unit = "models" + (" × devices (two-way cluster bootstrap)" if n_devices else "")
    count = n_models if n is None else n
    if n_models < 2:
        ones_d = np.ones((1, n_devices)) if n_devices else None
        value = float(np.asarray(stat(np.ones((1, n_models)), ones_d))[0])
        return Resampled(Estimate(value, float("nan"), float("nan"), count), (value, value), 0, unit)
    # one call for the data, the bootstrap and the leave-out draws: a statistic that builds
    # something per configuration (a pair matrix) builds it once
    wm = np.vstack([np.ones((1, n_models)), bootstrap_weights(n_models, n_boot, rng),
                    leave_out_weights(n_models, leave_out, leave_out_draws, rng)])
    wd = (np.vstack([np.ones((1, n_devices)), bootstrap_weights(n_devices, n_boot, rng),
                     np.ones((leave_out_draws, n_devices))]) if n_devices else None)
    out = np.asarray(stat(wm, wd), dtype=float)
    value, samples, moved = float(out[0]), out[1:1 + n_boot], out[1 + n_boot:]
    if not np.isfinite(value):
        return Resampled(Estimate(value, float("nan"), float("nan"), count), (value, value), 0, unit)
    samples = samples[np.isfinite(samples)]
    if len(samples) >= 10:
        # percentile interval re-centred on the value: a resample holds only ~63 % distinct
        # models, which biases size-dependent statistics (a frontier's share of the models);
        # removing the bootstrap median's offset keeps the interval around what was measured
        q_lo, q_mid, q_hi = np.quantile(samples, [0.025, 0.5, 0.975])
        low, high = value - (q_mid - q_lo), value + (q_hi - q_mid)
        if bounds is not None:       # a share stays in [0, 1], a ρ in [−1, 1]
            low, high = max(low, bounds[0]), min(high, bounds[1])
    else:
        low, high = float("nan"), float("nan")
    moved = moved[np.isfinite(moved)]
    rng_lo = (float(moved.min()), float(moved.max())) if len(moved) else (value, value)
    return Resampled(Estimate(value, float(low), float(high), count), rng_lo,
                     max(1, int(round(leave_out * n_models))), unit)


def resample_many(stat: Callable[[np.ndarray, "np.ndarray | None"], dict[str, np.ndarray]],
                  n_models: int, n_devices: int | None = None, *, n_boot: int = N_BOOT,
                  leave_out: float = LEAVE_OUT, leave_out_draws: int = LEAVE_OUT_DRAWS,
                  seed: int = 0, n: dict[str, int] | None = None,
                  bounds: Callable[[str], "tuple[float, float] | None"] | None = None
                  ) -> dict[str, Resampled]:
    """:func:`resample` for a statistic that returns many named values at once (one pass over
    the replicates instead of one per value: the frontier of every pair costs the same for
    F1, precision, recall and runs saved)."""
    cache: dict[bytes, dict[str, np.ndarray]] = {}

    def call(wm, wd):
        # each resample() call redraws the same weights (same seed): key them by content
        key = hashlib.sha1(wm.tobytes() + (b"" if wd is None else wd.tobytes())).digest()
        if key not in cache:
            cache[key] = stat(wm, wd)
        return cache[key]

    first = stat(np.ones((1, n_models)), np.ones((1, n_devices)) if n_devices else None)
    out = {}
    for name in first:
        out[name] = resample(lambda wm, wd, name=name: call(wm, wd)[name], n_models, n_devices,
                             n_boot=n_boot, leave_out=leave_out, leave_out_draws=leave_out_draws,
                             seed=seed, n=(n or {}).get(name),
                             bounds=bounds(name) if bounds is not None else None)
    return out


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise Σ w·v / Σ w over finite values (``values``/``weights``: B × U); NaN if no weight."""
    ok = np.isfinite(values) & (weights > 0)
    num = np.where(ok, values * weights, 0.0).sum(axis=1)
    den = np.where(ok, weights, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def unit_device_weights(wd: np.ndarray | None, unit_devices: np.ndarray, n_batch: int) -> np.ndarray:
    """B × U weight of each unit: the product of its devices' multiplicities (``unit_devices``:
    U × d device positions, −1 for none)."""
    if wd is None or unit_devices.size == 0:
        return np.ones((n_batch, len(unit_devices)))
    out = np.ones((n_batch, len(unit_devices)))
    for j in range(unit_devices.shape[1]):
        col = unit_devices[:, j]
        out *= np.where(col >= 0, wd[:, np.clip(col, 0, None)], 1.0)
    return out


class _Bucket:
    """Units of similar size padded to one width; sort orders and tie groups precomputed."""

    def __init__(self, positions: list[int], idx: list[np.ndarray], series: list[list[np.ndarray]]):
        self.positions = np.asarray(positions)
        width = max(len(i) for i in idx)
        u = len(idx)
        self.idx = np.zeros((u, width), dtype=int)
        self.pad = np.ones((u, width), dtype=bool)
        for r, i in enumerate(idx):
            self.idx[r, :len(i)] = i
            self.pad[r, :len(i)] = False
        self.orders, self.first, self.last = [], [], []
        for vectors in series:
            vals = np.full((u, width), np.inf)
            for r, v in enumerate(vectors):
                vals[r, :len(v)] = v
            order = np.argsort(vals, axis=1, kind="stable")
            s = np.take_along_axis(vals, order, axis=1)
            new = np.ones_like(s, dtype=bool)
            new[:, 1:] = s[:, 1:] != s[:, :-1]
            new |= np.take_along_axis(self.pad, order, axis=1)   # padding: groups of their own
            cols = np.arange(width)[None, :].repeat(u, 0)
            first = np.maximum.accumulate(np.where(new, cols, 0), axis=1)
            end = np.empty_like(new)
            end[:, :-1] = new[:, 1:]
            end[:, -1] = True
            last = np.minimum.accumulate(np.where(end, cols, width)[:, ::-1], axis=1)[:, ::-1]
            self.orders.append(order)
            self.first.append(first)
            self.last.append(last)

    def ranks(self, w: np.ndarray, which: int) -> np.ndarray:
        """Weighted mid-ranks (U × width, in unit order) of series ``which`` under weights ``w``
        (U × width): the ranks the models would have if each appeared w times."""
        order = self.orders[which]
        ws = np.take_along_axis(w, order, axis=1)
        cum = np.cumsum(ws, axis=1)
        first, last = self.first[which], self.last[which]
        before = np.take_along_axis(cum - ws, first, axis=1)
        group = np.take_along_axis(cum, last, axis=1) - before
        r_sorted = before + (group + 1) / 2
        out = np.empty_like(r_sorted)
        np.put_along_axis(out, order, r_sorted, axis=1)
        return out


class RankUnits:
    """Many rankings of models at once ("units"), each a few value series over its own models.

    A unit is e.g. two configurations on their common models (series: the two latencies), or
    a configuration's FLOPs and measured latency. Weighted mid-ranks and weighted Spearman ρ
    per unit come out for any model weights, so bootstraps and leave-out draws cost numpy
    operations rather than a SciPy call per unit. Units are bucketed by size so that a
    1,000-model GPU pair does not pad 4,000 ten-model edge pairs to its width.
    """

    def __init__(self, model_idx: Sequence[np.ndarray], series: Sequence[Sequence[np.ndarray]],
                 devices: np.ndarray | None = None, unit_weight: np.ndarray | None = None):
        self.n_units = len(model_idx)
        self.devices = (np.asarray(devices, dtype=int).reshape(self.n_units, -1)
                        if devices is not None else np.zeros((self.n_units, 0), dtype=int))
        self.unit_weight = (np.ones(self.n_units) if unit_weight is None
                            else np.asarray(unit_weight, dtype=float))
        self.sizes = np.array([len(i) for i in model_idx])
        self.buckets: list[_Bucket] = []
        if not self.n_units:
            return
        edges = [0, 32, 128, 512, 2048, np.inf]
        for lo, hi in zip(edges[:-1], edges[1:]):
            pos = [p for p in range(self.n_units) if lo < self.sizes[p] <= hi]
            if pos:
                self.buckets.append(_Bucket(pos, [np.asarray(model_idx[p]) for p in pos],
                                            [[np.asarray(s[p], float) for p in pos]
                                             for s in series]))

    def _weights(self, bucket: _Bucket, wm: np.ndarray) -> np.ndarray:
        return np.where(bucket.pad, 0.0, wm[bucket.idx])

    def spearman(self, wm: np.ndarray, a: int = 0, b: int = 1) -> np.ndarray:
        """B × U weighted Spearman ρ between series ``a`` and ``b`` (NaN: fewer than 3 models
        drawn, or a constant ranking)."""
        wm = np.atleast_2d(wm)
        out = np.full((len(wm), self.n_units), np.nan)
        for bucket in self.buckets:
            for r, w_row in enumerate(wm):
                w = self._weights(bucket, w_row)
                ra, rb = bucket.ranks(w, a), bucket.ranks(w, b)
                tot = w.sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ma = (w * ra).sum(axis=1) / tot
                    mb = (w * rb).sum(axis=1) / tot
                    da, db = ra - ma[:, None], rb - mb[:, None]
                    cov = (w * da * db).sum(axis=1)
                    var = (w * da * da).sum(axis=1) * (w * db * db).sum(axis=1)
                    rho = np.where((var > 1e-12) & ((w > 0).sum(axis=1) >= 3),
                                   cov / np.sqrt(var), np.nan)
                out[r, bucket.positions] = rho
        return out

    def mean_spearman(self, wm: np.ndarray, wd: np.ndarray | None, a: int = 0,
                      b: int = 1) -> np.ndarray:
        """Weighted mean ρ over units (unit weight × its devices' multiplicities), per replicate."""
        rho = self.spearman(wm, a, b)
        w = unit_device_weights(wd, self.devices, len(rho)) * self.unit_weight[None, :]
        return weighted_mean(rho, w)

    def displacement(self, w_row: np.ndarray, a: int = 0, b: int = 1):
        """Per bucket: (positions, weights, |rank_a − rank_b|) for one weight vector."""
        for bucket in self.buckets:
            w = self._weights(bucket, w_row)
            yield bucket, w, np.abs(bucket.ranks(w, a) - bucket.ranks(w, b))


__all__ = ["BatchStatistic", "LEAVE_OUT", "LEAVE_OUT_DRAWS", "N_BOOT", "RHO", "SHARE", "RankUnits", "Resampled",
           "bootstrap_weights", "leave_out_weights", "resample", "resample_many", "unit_device_weights",
           "weighted_mean"]
