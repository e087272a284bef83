"""The timing protocol on synthetic ``run_once`` callables with known durations."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.local.timing import (TimingConfig, ci_half_width_pct, measure, median_ci,
                                     summarize)
from collectors.schema import to_frame


class FakeClock:
    """A nanosecond clock that ``run_once`` advances by scripted durations (milliseconds)."""

    def __init__(self, durations_ms):
        self.now = 0
        self.durations = iter(durations_ms)
        self.calls = 0

    def __call__(self) -> int:
        return self.now

    def run_once(self) -> None:
        self.calls += 1
        self.now += int(next(self.durations) * 1e6)


def test_p50_of_known_durations_and_ci_target_stop():
    rng = np.random.default_rng(0)
    clock = FakeClock(10.0 + rng.uniform(-0.2, 0.2, size=100_000))
    result = measure(clock.run_once, config=TimingConfig(warmup_seconds=0.05), clock=clock)
    assert result.p50_ms == pytest.approx(10.0, rel=0.01)
    assert result.stop_reason == "ci_target"
    assert result.ci_half_width_pct <= 1.0
    assert result.ci_low_ms <= result.p50_ms <= result.ci_high_ms
    assert not result.noisy
    assert result.warmup_runs >= 5  # 3 runs would be 30 ms < the 50 ms warm-up time


def test_real_clock_reports_milliseconds():
    result = measure(lambda: time.sleep(0.003), config=TimingConfig(
        warmup_runs=2, warmup_seconds=0.0, min_runs=10, max_runs=40, max_seconds=1.0))
    # sleep never returns early; the upper bound only catches unit errors (µs or s read as ms),
    # because a loaded 2-core CI box can add 10+ ms of scheduling delay to a 3 ms sleep.
    assert 3.0 <= result.p50_ms < 100.0
    assert 10 <= result.n <= 40


def test_ci_shrinks_as_samples_accumulate():
    rng = np.random.default_rng(1)
    samples = rng.lognormal(mean=math.log(5.0), sigma=0.2, size=4000)
    widths = [ci_half_width_pct(samples[:n]) for n in (20, 200, 4000)]
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 1.0


def test_noisy_flag_on_bimodal_distribution():
    bimodal = FakeClock(itertools.cycle([10.0, 10.0, 20.0, 20.0]))
    result = measure(bimodal.run_once, config=TimingConfig(warmup_seconds=0, max_runs=200), clock=bimodal)
    assert result.noisy and result.iqr_ratio > 0.5
    tight = summarize(np.full(50, 7.0) + np.linspace(0, 0.1, 50))
    assert not tight.noisy


def test_caps_max_runs_max_seconds_and_min_runs():
    wide = FakeClock(itertools.cycle([1.0, 3.0, 5.0, 9.0]))  # never converges to ±1 %
    result = measure(wide.run_once, config=TimingConfig(warmup_seconds=0, max_runs=50), clock=wide)
    assert result.n == 50 and result.stop_reason == "max_runs"
    slow = FakeClock(itertools.cycle([1.0, 3.0, 5.0, 9.0]))
    result = measure(slow.run_once, config=TimingConfig(warmup_seconds=0, max_seconds=0.1, min_runs=10),
                     clock=slow)
    assert result.stop_reason == "max_seconds" and 10 <= result.n <= 30
    glacial = FakeClock(itertools.repeat(500.0))  # one call exceeds max_seconds: min_runs still wins
    result = measure(glacial.run_once, config=TimingConfig(warmup_runs=1, warmup_seconds=0, max_seconds=0.1,
                                                           min_runs=6), clock=glacial)
    assert result.n == 6


def test_timing_fields_make_a_valid_schema_row():
    result = summarize([5.0, 5.1, 5.2, 5.05, 4.9, 5.3, 5.0, 5.1])
    row = {"model": "m", "device": "cpu", "device_tier": "cpu", "runtime": "onnxruntime",
           "precision": "fp32", "source": "local", "source_ref": "local://x",
           "measured_at": "2026-01-01T00:00:00Z", **result.record_fields()}
    df = to_frame([row])
    assert df.latency_ms.iloc[0] == result.p50_ms
    assert "n=8" in result.summary() and "±" in result.summary()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1e4, allow_nan=False), min_size=6, max_size=300))
def test_median_ci_brackets_the_median(samples):
    low, high = median_ci(samples)
    median = float(np.median(samples))
    assert low <= median <= high
    assert min(samples) <= low and high <= max(samples)


def test_empty_samples_are_an_error():
    with pytest.raises(ValueError):
        summarize([])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1e4, allow_nan=False), min_size=2, max_size=400),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_median_ci_equals_scipy_quantile_test(samples, confidence):
    from scipy import stats

    ci = stats.quantile_test(samples, q=float(np.median(samples)), p=0.5).confidence_interval(confidence)
    low, high = median_ci(samples, confidence)
    assert (low == ci.low or (math.isnan(low) and math.isnan(ci.low)))
    assert (high == ci.high or (math.isnan(high) and math.isnan(ci.high)))


def test_drift_is_the_spread_of_block_medians():
    from collectors.local.timing import drift_pct

    steady = [10.0] * 40
    assert drift_pct(steady) == 0.0
    # the machine slows down by 20 % half-way: the CI of the median would not show it, drift does
    stepped = [10.0] * 20 + [12.0] * 20
    assert drift_pct(stepped) == pytest.approx(100 * 2.0 / 11.0)
    assert math.isnan(drift_pct([1.0, 2.0, 3.0]))
    result = summarize(stepped)
    assert result.drift_pct == pytest.approx(drift_pct(stepped))
    assert result.conditions()["drift_pct"] == pytest.approx(result.drift_pct, abs=1e-3)
