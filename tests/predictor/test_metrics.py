"""Metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.metrics import (bootstrap_ci, kendall, mape, pareto_f1, pareto_front, set_agreement,
                               spearman, topk_overlap, within)


def test_rank_correlations_hand_values():
    true = [1, 2, 3, 4]
    assert spearman(true, [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman(true, [40, 30, 20, 10]) == pytest.approx(-1.0)
    # one adjacent swap of 4: rho = 1 - 6*2/(4*15) = 0.8 ; tau = (5-1)/6
    assert spearman(true, [1, 3, 2, 4]) == pytest.approx(0.8)
    assert kendall(true, [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert np.isnan(spearman([1, 1], [1, 2]))


def test_errors_and_shares():
    true = np.array([10.0, 20.0, 40.0, 80.0])
    pred = np.array([11.0, 18.0, 40.0, 100.0])  # errors 10 %, 10 %, 0 %, 25 %
    assert mape(true, pred) == pytest.approx(100 * (0.1 + 0.1 + 0 + 0.25) / 4)
    assert within(true, pred, 0.10) == pytest.approx(0.75)
    assert within(true, pred, 0.05) == pytest.approx(0.25)
    assert mape([1.0, np.nan], [2.0, 5.0]) == pytest.approx(100.0)


def test_topk_overlap():
    assert topk_overlap([1, 2, 3, 4, 5], [1, 2, 5, 4, 3], k=2) == pytest.approx(1.0)
    assert topk_overlap([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], k=2) == pytest.approx(0.0)


def test_pareto_front_and_f1_hand_case():
    latency = np.array([1.0, 2.0, 3.0, 4.0, 2.5])
    top1 = np.array([70.0, 75.0, 74.0, 80.0, 76.0])
    # frontier: 1 (fastest), 2 (75 > 70), 5 (76 > 75 at 2.5), 4 (80); model 3 dominated by 2
    assert pareto_front(latency, top1).tolist() == [True, True, False, True, True]
    predicted = np.array([1.0, 3.5, 3.0, 4.0, 2.5])  # now 2 is dominated by 5 (faster, better)
    agreement = pareto_f1(latency, predicted, top1)
    assert agreement.precision == pytest.approx(1.0)
    assert agreement.recall == pytest.approx(3 / 4)
    assert agreement.f1 == pytest.approx(2 * 0.75 / 1.75)
    assert set_agreement([False, False], [False, False]).f1 == 0.0


def test_bootstrap_ci_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small = bootstrap_ci(np.mean, rng.normal(5, 1, 20))
    large = bootstrap_ci(np.mean, rng.normal(5, 1, 2000))
    assert small.low < 5 < small.high
    assert (large.high - large.low) < (small.high - small.low)
