"""The one timing protocol of effbench: every runtime is timed by :func:`measure`.

A runtime adapter supplies only ``run_once()`` (one inference, possibly asynchronous) and
``sync()`` (wait until the device is idle: ``torch.cuda.synchronize`` on CUDA, a no-op on CPU).
Everything else — warm-up, the stopping rule, the statistics — lives here, so a latency from
ONNX Runtime and one from PyTorch were produced by the same loop and can be compared.

Protocol
    1. Warm-up: at least ``warmup_runs`` calls *and* at least ``warmup_seconds`` of calls
       (caches, allocator pools, JIT/oneDNN primitive creation, CPU frequency ramp).
    2. Timed runs, each ``perf_counter_ns`` around ``run_once(); sync()``, until the
       distribution-free 95 % confidence interval of the median is within ±``target_ci_pct``
       of the median (after at least ``min_runs``), or ``max_runs`` / ``max_seconds`` is hit.
       ``min_runs`` is honoured even past ``max_seconds``: a median needs a few samples.
    3. Summary: p50/p90/p95/p99, mean, std, IQR/median and ``noisy = IQR/median > 0.10``
       (the threshold ``torch.utils.benchmark.Measurement`` uses for its "noisy" warning), and
       ``drift_pct``: the range of the medians of four consecutive blocks of the timed runs, in %
       of the median. The order-statistic CI assumes independent runs; when the machine's speed
       wanders (a shared VM), the CI shrinks with n while the drift does not, and a re-run can
       land outside the CI. ``drift_pct`` says how far.

Why the median and an order-statistic CI: latency distributions are right-skewed with rare
outliers (interrupts, other processes); the median is robust to them and its CI from the
binomial distribution of order statistics (as ``scipy.stats.quantile_test``) needs no normality.
The headline ``latency_ms`` of a local record is this p50.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import special

#: IQR/median above which a measurement is flagged noisy (torch.utils.benchmark's threshold).
NOISY_IQR_RATIO = 0.10


@dataclass(frozen=True)
class TimingConfig:
    """Knobs of the protocol; the defaults suit a 2-core CPU and 13-model campaigns."""

    warmup_runs: int = 3
    warmup_seconds: float = 0.5
    min_runs: int = 10
    max_runs: int = 10_000
    max_seconds: float = 10.0
    target_ci_pct: float = 1.0
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class TimingResult:
    """Latency distribution of one configuration (milliseconds per call)."""

    samples_ms: tuple[float, ...] = field(repr=False)
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    std_ms: float
    iqr_ratio: float
    ci_low_ms: float
    ci_high_ms: float
    ci_half_width_pct: float
    confidence: float
    drift_pct: float
    warmup_runs: int
    stop_reason: str
    elapsed_s: float

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def noisy(self) -> bool:
        return self.iqr_ratio > NOISY_IQR_RATIO

    def summary(self) -> str:
        flag = "  NOISY" if self.noisy else ""
        return (f"p50 {self.p50_ms:.3f} ms ±{self.ci_half_width_pct:.2f}% "
                f"({self.confidence:.0%} CI {self.ci_low_ms:.3f}–{self.ci_high_ms:.3f}), "
                f"p90 {self.p90_ms:.3f}, p99 {self.p99_ms:.3f}, mean {self.mean_ms:.3f} ± {self.std_ms:.3f}, "
                f"IQR/median {self.iqr_ratio:.3f}, drift {self.drift_pct:.1f}%, "
                f"n={self.n} (+{self.warmup_runs} warm-up), "
                f"stop: {self.stop_reason}{flag}")

    def record_fields(self) -> dict[str, object]:
        """The schema columns this result fills (``latency_ms`` is the p50)."""
        return {
            "latency_ms": self.p50_ms, "latency_p50_ms": self.p50_ms, "latency_p90_ms": self.p90_ms,
            "latency_p95_ms": self.p95_ms, "latency_p99_ms": self.p99_ms,
            "latency_mean_ms": self.mean_ms, "latency_std_ms": self.std_ms,
            "latency_iqr_ratio": self.iqr_ratio, "noisy": self.noisy, "n_samples": self.n,
        }

    def conditions(self) -> dict[str, object]:
        """What goes into the record's ``conditions`` JSON about the timing itself."""
        return {"ci_half_width_pct": round(self.ci_half_width_pct, 4),
                "drift_pct": round(self.drift_pct, 3), "ci_low_ms": self.ci_low_ms,
                "ci_high_ms": self.ci_high_ms, "ci_confidence": self.confidence,
                "warmup_runs": self.warmup_runs, "stop_reason": self.stop_reason,
                "timing_elapsed_s": round(self.elapsed_s, 3)}


def median_ci(samples_ms: np.ndarray | list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free CI of the median from order statistics (NaN, NaN when n is too small).

    The same order statistics as ``scipy.stats.quantile_test(x, p=0.5).confidence_interval``
    (a test checks equality), from the binomial CDF in ``scipy.special``: importing
    ``scipy.stats`` costs every worker process about a second, once per configuration.
    """
    x = np.sort(np.asarray(samples_ms, dtype=float))
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    k = np.arange(n + 1)
    low_index = int(np.argmax(special.bdtr(k, n, 0.5) >= tail)) - 1   # binom.ppf(tail) - 1
    high_index = int(np.argmax(special.bdtrc(k, n, 0.5) <= tail))     # binom.isf(tail)
    low = float(x[low_index]) if low_index >= 0 else math.nan
    high = float(x[high_index]) if high_index < n else math.nan
    return low, high


def ci_half_width_pct(samples_ms: np.ndarray | list[float], confidence: float = 0.95) -> float:
    """The larger distance from the median to a CI bound, in % of the median (inf if undefined)."""
    x = np.asarray(samples_ms, dtype=float)
    low, high = median_ci(x, confidence)
    median = float(np.median(x)) if len(x) else math.nan
    if not (math.isfinite(low) and math.isfinite(high)) or median <= 0:
        return math.inf
    return 100.0 * max(median - low, high - median) / median


def drift_pct(samples_ms: np.ndarray | list[float], blocks: int = 4) -> float:
    """Range of the medians of ``blocks`` consecutive blocks, in % of the overall median (NaN
    with fewer than two samples per block)."""
    x = np.asarray(samples_ms, dtype=float)
    if len(x) < 2 * blocks:
        return math.nan
    medians = [float(np.median(b)) for b in np.array_split(x, blocks)]
    return 100.0 * (max(medians) - min(medians)) / float(np.median(x))


def summarize(samples_ms: list[float] | np.ndarray, *, confidence: float = 0.95, warmup_runs: int = 0,
              stop_reason: str = "", elapsed_s: float = 0.0) -> TimingResult:
    """Turn raw per-call latencies into a :class:`TimingResult`."""
    x = np.asarray(samples_ms, dtype=float)
    if len(x) == 0:
        raise ValueError("no timed samples")
    p25, p50, p75, p90, p95, p99 = np.percentile(x, [25, 50, 75, 90, 95, 99])
    low, high = median_ci(x, confidence)
    return TimingResult(
        samples_ms=tuple(float(v) for v in x), p50_ms=float(p50), p90_ms=float(p90),
        p95_ms=float(p95), p99_ms=float(p99), mean_ms=float(x.mean()),
        std_ms=float(x.std(ddof=1)) if len(x) > 1 else 0.0,
        iqr_ratio=float((p75 - p25) / p50) if p50 > 0 else math.inf,
        ci_low_ms=low, ci_high_ms=high, ci_half_width_pct=ci_half_width_pct(x, confidence),
        confidence=confidence, drift_pct=drift_pct(x), warmup_runs=warmup_runs,
        stop_reason=stop_reason, elapsed_s=elapsed_s)


def _no_sync() -> None:
    return None


def measure(run_once: Callable[[], object], sync: Callable[[], object] | None = None,
            config: TimingConfig | None = None,
            clock: Callable[[], int] = time.perf_counter_ns) -> TimingResult:
    """Warm up, then time ``run_once(); sync()`` until the median is known to ±target or a cap hits.

    ``clock`` (nanoseconds) is injectable so the protocol itself can be tested deterministically.
    """
    cfg = config or TimingConfig()
    sync = sync or _no_sync
    start = clock()
    warm = 0
    while warm < cfg.warmup_runs or (clock() - start) < cfg.warmup_seconds * 1e9:
        run_once()
        sync()
        warm += 1
    samples: list[float] = []
    t_begin = clock()
    next_check = max(cfg.min_runs, 6)
    reason = "max_runs"
    while len(samples) < cfg.max_runs:
        t0 = clock()
        run_once()
        sync()
        t1 = clock()
        samples.append((t1 - t0) / 1e6)
        n = len(samples)
        if n < cfg.min_runs:
            continue
        if (t1 - t_begin) >= cfg.max_seconds * 1e9:
            reason = "max_seconds"
            break
        if n >= next_check:
            # Checking every call would cost O(n) each; checking at ~5 % growth costs O(n) overall.
            next_check = n + max(1, n // 20)
            if ci_half_width_pct(samples, cfg.confidence) <= cfg.target_ci_pct:
                reason = "ci_target"
                break
    elapsed = (clock() - t_begin) / 1e9
    return summarize(samples, confidence=cfg.confidence, warmup_runs=warm, stop_reason=reason,
                     elapsed_s=elapsed)


__all__ = ["NOISY_IQR_RATIO", "TimingConfig", "TimingResult", "ci_half_width_pct", "drift_pct",
           "measure", "median_ci", "summarize"]
