"""Analyses on hand-ranked and synthetic matrices (real data: test_analyses_real.py)."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from tests.helpers.analysis_data import SmallMatrix, synthetic_study
from predictor.analyses import StudyData, get_analysis, list_analyses, register_analysis
from predictor.analyses._base import BY_CONSTRUCTION, MEASURED, PROXY, Finding
from predictor.analyses._rank import group_spearman
from predictor.analyses._resample import RankUnits, bootstrap_weights, resample
from predictor.analyses.disagreement import cohens_d, flops_disagreement, pair_decision_error
from predictor.analyses.pareto import _Frontiers, pareto_transfer
from predictor.analyses.predictability import log_r2
from predictor.analyses.variance import anova_shares
from predictor.metrics import pareto_front, set_agreement, spearman


def one_config(latency, flops, top1=None, second=None) -> StudyData:
    idx = [f"m{i}" for i in range(len(latency))]
    values = pd.DataFrame({"c1": latency}, index=idx)
    if second is not None:
        values["c2"] = second
    cfg = pd.DataFrame({"device": ["d1", "d2"][:values.shape[1]],
                        "device_tier": ["gpu", "edge"][:values.shape[1]],
                        "runtime": "torch", "precision": "fp32"}, index=values.columns)
    models = pd.DataFrame({"flops": flops, "family": "x"}, index=idx)
    if top1 is not None:
        models["top1"] = top1
    return StudyData(latency=SmallMatrix(values, cfg, models), measurements=pd.DataFrame())


def test_disagreement_counts_by_hand():
    # FLOPs ranks 1..5, latency ranks 1,2,5,4,3 -> |Δ| = 0,0,2,0,2 -> 2 cases
    d = one_config([1, 2, 5, 4, 3], [1, 2, 3, 4, 5])
    r = flops_disagreement(d, measures=("latency",), n_boot=20, leave_out_draws=3)
    e = r.estimates()
    assert e["latency.cases"].value == 2
    assert r.findings()["latency.cases"].basis == "not comparable"
    assert e["latency.share_configs_with_case"].value == 1.0
    assert e["latency.share_cells_case"].value == pytest.approx(0.4)
    # pairs (3,4), (3,5), (4,5): lower FLOPs, higher latency -> 3 of 10
    assert e["latency.pair_decision_error"].value == pytest.approx(0.3)
    assert set(r.worst_cases()["model"].head(2)) == {"m2", "m4"}


def test_pair_decision_error_ignores_flops_ties():
    assert pair_decision_error([1, 1, 2], [3, 1, 2]) == (1, 2)


def test_weighted_pair_error_equals_the_expanded_sample():
    """Model weights are multiplicities: the weighted pair error is the error of the sample in
    which each model appears that many times."""
    rng = np.random.default_rng(3)
    flops, lat = rng.uniform(1, 9, 12), rng.uniform(1, 9, 12)
    d = one_config(list(lat), list(flops))
    r = flops_disagreement(d, measures=("latency",), n_boot=5, leave_out_draws=2)
    w = rng.integers(0, 3, 12).astype(float)
    got = r._pair_error(r.measures["latency"], w[None, :], None)[0]
    wrong, total = pair_decision_error(np.repeat(flops, w.astype(int)), np.repeat(lat, w.astype(int)))
    assert got == pytest.approx(wrong / total)


def test_cohens_d_known_case():
    assert cohens_d([1, 2, 3], [3, 4, 5]) == pytest.approx(-2.0)
    assert np.isnan(cohens_d([1], [2, 3]))


def test_pareto_f1_constructed_case():
    # source frontier {m0, m1, m3}; on the target m3 dominates everything -> true frontier {m3}
    d = one_config([1, 2, 3, 4], [1, 2, 3, 4], top1=[70, 80, 75, 90], second=[1, 2, 3, 0.5])
    r = pareto_transfer(d, min_common=4, n_boot=10, leave_out_draws=2)
    fwd = r.pairs.set_index("source").loc["c1"]
    assert (fwd.precision, fwd.recall, fwd.f1) == pytest.approx((1 / 3, 1.0, 0.5))
    assert fwd.runs_saved == pytest.approx(0.25)
    back = r.pairs.set_index("source").loc["c2"]
    assert (back.precision, back.recall) == pytest.approx((1.0, 1 / 3))


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 15), st.integers(0, 10_000))
def test_vectorised_frontiers_match_pareto_front(n, seed):
    rng = np.random.default_rng(seed)
    src, tgt, acc = rng.uniform(1, 9, n), rng.uniform(1, 9, n), rng.uniform(60, 90, n)
    fr = _Frontiers([np.arange(n)], [src], [tgt], [acc], [(0, 1)])
    got = fr.stats(np.ones(n))
    agree = set_agreement(pareto_front(tgt, acc), pareto_front(src, acc))
    assert got["f1"][0] == pytest.approx(agree.f1)
    assert got["runs_saved"][0] == pytest.approx(1 - pareto_front(src, acc).sum() / n)
    # a model left out (weight 0) is as if it were not there
    keep = np.ones(n, bool)
    keep[rng.integers(n)] = False
    part = fr.stats(keep.astype(float))
    ref = set_agreement(pareto_front(tgt[keep], acc[keep]), pareto_front(src[keep], acc[keep]))
    assert part["f1"][0] == pytest.approx(ref.f1)


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 30), st.integers(0, 10_000))
def test_weighted_spearman_is_spearman_of_the_expanded_sample(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, n).astype(float)           # ties on purpose
    y = rng.normal(size=n)
    w = rng.integers(0, 3, n).astype(float)
    ru = RankUnits([np.arange(n)], [[x], [y]])
    got = ru.spearman(w[None, :])[0, 0]
    xe, ye = np.repeat(x, w.astype(int)), np.repeat(y, w.astype(int))
    if (w > 0).sum() < 3 or np.ptp(xe) == 0:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(stats.spearmanr(xe, ye).statistic, abs=1e-9)


def test_bootstrap_weights_are_resamples_of_n():
    w = bootstrap_weights(7, 50, np.random.default_rng(0))
    assert w.shape == (50, 7) and (w.sum(axis=1) == 7).all() and (w >= 0).all()


def test_resample_ci_covers_the_value_and_leave_out_moves_it():
    x = np.random.default_rng(0).normal(size=40)
    r = resample(lambda wm, wd: (wm * x).sum(axis=1) / wm.sum(axis=1), 40, n_boot=200)
    assert r.estimate.low < x.mean() < r.estimate.high
    assert r.unit == "models" and r.n_left_out == 2
    assert r.leave_out[0] < x.mean() < r.leave_out[1]


def test_log_r2_by_hand():
    assert log_r2([1, np.e, np.e ** 2], [1, np.e, np.e ** 2]) == pytest.approx(1.0)
    # predicting the mean log for every model gives r² = 0
    assert log_r2([1, np.e ** 2], [np.e, np.e]) == pytest.approx(0.0)


def test_anova_shares_match_statsmodels_on_an_incomplete_matrix():
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    rng = np.random.default_rng(0)
    v = pd.DataFrame(rng.normal(size=(8, 5)) + np.arange(5) + rng.normal(size=(8, 1)))
    v.iloc[0, 1] = v.iloc[3, 4] = v.iloc[5, 0] = np.nan
    long = v.rename_axis(index="model", columns="config").stack().rename("y").reset_index()
    table = anova_lm(smf.ols("y ~ C(model) + C(config)", data=long.astype({"model": str,
                                                                          "config": str})).fit(), typ=1)
    expected = table["sum_sq"] / table["sum_sq"].sum()
    got = anova_shares(v)
    assert got["n_cells"] == 37
    assert (got["model"], got["config"], got["residual"]) == pytest.approx(
        tuple(expected[["C(model)", "C(config)", "Residual"]]), abs=1e-8)


def test_group_spearman_matches_scipy_per_group():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 20), "x": rng.normal(size=60),
                          "y": rng.normal(size=60)})
    frame.loc[3, "y"] = np.nan
    frame.loc[frame.g == "c", "x"] = 1.0                      # constant ranking -> NaN
    rho = group_spearman(frame, ["g"], "x", "y")
    for g in ("a", "b"):
        sel = frame[frame.g == g]
        assert rho[g] == pytest.approx(spearman(sel.x, sel.y))
    assert np.isnan(rho["c"])


def test_registry_declares_each_analysis_once_with_its_result_type():
    assert {"disagreement", "noise", "runtime_stability", "transfer", "predictability",
            "pareto", "variance"} <= set(list_analyses())
    reg = get_analysis("transfer")
    assert reg.result.__name__ == "TransferResult" and reg.function.__name__ == "cross_tier_transfer"
    with pytest.raises(KeyError, match="unknown analysis 'nope'"):
        get_analysis("nope")
    with pytest.raises(ValueError, match="registered twice"):
        register_analysis("transfer", result=object)(lambda data: None)


@pytest.fixture(scope="module")
def study():
    return synthetic_study()


FAST = dict(n_boot=30, leave_out_draws=4)


@pytest.mark.parametrize("name", [n for n in list_analyses()
                                  if n not in ("predictability", "new_hardware")])  # real data: own tests
def test_every_analysis_follows_the_tracking_protocol(study, name):
    result = get_analysis(name)(study, **({} if name == "variance" else FAST))
    assert isinstance(result, get_analysis(name).result)
    assert isinstance(result.params(), dict) and result.metrics()
    assert all(np.isfinite(v) for v in result.metrics().values())
    assert all(isinstance(t, pd.DataFrame) for t in result.tables().values())
    assert isinstance(result.to_frame(), pd.DataFrame)
    assert name in result.summary() or result.name in result.summary()
    assert all(isinstance(f, Finding) for f in result.findings().values())


def test_transfer_ablation_and_noise_on_synthetic(study):
    t = get_analysis("transfer")(study, **FAST).estimates()
    # FRM shares FLOPs across tiers: its ρ is at least the ablated one on this data
    assert t["overall.frm"].value >= t["overall.frm_no_invariant"].value - 1e-9
    noise = get_analysis("noise")(study, **FAST)
    n = noise.estimates()
    assert 0 < n["median_abs_log_ratio"].value < 0.1      # synthetic noise sd 0.05
    # the synthetic edge configurations are re-profiled 14 days and 6 months later
    assert {"run_to_run.rank_stability_latency", "drift.rank_stability_latency"} <= set(n)
    gaps = noise.platforms.groupby("kind")["median_gap_days"].max()
    assert gaps["run_to_run"] <= 28 and noise.platforms.query("kind == 'drift'")[
        "median_gap_days"].min() >= 180
    v = get_analysis("variance")(study).components.set_index("scope")
    assert v.loc["overall", ["model", "config", "residual"]].sum() == pytest.approx(1.0)


def test_transfer_names_the_gpu_proxy_unless_batch1_gpu_latency_exists(study):
    measured = get_analysis("transfer")(study, **FAST).findings()
    assert measured["gpu_to_edge.frm"].basis == MEASURED       # synthetic GPUs run batch 1
    configs = study.latency.configs.copy()
    configs.loc[configs["device_tier"] == "gpu", ["batch_size", "precision"]] = [256, "amp"]
    proxied = replace(study, latency=replace(study.latency, configs=configs))
    f = get_analysis("transfer")(proxied, **FAST).findings()
    assert f["gpu_to_edge.frm"].basis == PROXY
    assert "throughput" in f["gpu_to_edge.frm"].basis_note and "batch 256" in f["gpu_to_edge.frm"].basis_note
    assert f["cpu_to_edge.frm"].basis == MEASURED              # CPU latency is not a proxy


def test_frm_without_memory_is_flops_times_latency_by_construction(study):
    """Where one side measured no memory, FRM without FLOPs *is* latency: the finding says so."""
    mem = study.memory.values.copy()
    gpu = study.latency.configs.index[study.latency.configs["device_tier"] == "gpu"]
    mem = mem.drop(columns=gpu)
    data = replace(study, memory=replace(study.memory, values=mem))
    f = get_analysis("transfer")(data, **FAST).findings()
    gain = f["gpu_to_edge.frm_gain_without_flops"]
    assert gain.basis == BY_CONSTRUCTION and gain.estimate.value == pytest.approx(0.0)
    # where both sides measured memory (edge ↔ edge, cpu ↔ edge here), FRM is tested for real
    assert f["measured_memory.frm_gain_without_flops"].basis == MEASURED
