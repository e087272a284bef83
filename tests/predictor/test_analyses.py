"""Analyses on hand-ranked and synthetic matrices (real data: test_analyses_real.py)."""

import numpy as np
import pandas as pd
import pytest

from _analysis_data import SmallMatrix, synthetic_study
from predictor.analyses import ANALYSES, StudyData, judge
from predictor.analyses.disagreement import cohens_d, flops_disagreement, pair_decision_error
from predictor.analyses.pareto import pareto_transfer
from predictor.analyses.predictability import log_r2
from predictor.analyses._rank import group_spearman
from predictor.analyses.variance import anova_shares
from predictor.metrics import Estimate, spearman


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
    r = flops_disagreement(d, measures=("latency",))
    e = r.estimates()
    assert e["latency.cases"].value == 2
    assert e["latency.share_configs_with_case"].value == 1.0
    assert e["latency.share_cells_case"].value == pytest.approx(0.4)
    # pairs (3,4), (3,5), (4,5): lower FLOPs, higher latency -> 3 of 10
    assert e["latency.pair_decision_error"].value == pytest.approx(0.3)
    assert set(r.worst_cases()["model"].head(2)) == {"m2", "m4"}


def test_pair_decision_error_ignores_flops_ties():
    assert pair_decision_error([1, 1, 2], [3, 1, 2]) == (1, 2)


def test_cohens_d_known_case():
    assert cohens_d([1, 2, 3], [3, 4, 5]) == pytest.approx(-2.0)
    assert np.isnan(cohens_d([1], [2, 3]))


def test_pareto_f1_constructed_case():
    # source frontier {m0, m1, m3}; on the target m3 dominates everything -> true frontier {m3}
    d = one_config([1, 2, 3, 4], [1, 2, 3, 4], top1=[70, 80, 75, 90], second=[1, 2, 3, 0.5])
    r = pareto_transfer(d, min_common=4)
    fwd = r.pairs.set_index("source").loc["c1"]
    assert (fwd.precision, fwd.recall, fwd.f1) == pytest.approx((1 / 3, 1.0, 0.5))
    assert fwd.runs_saved == pytest.approx(0.25)
    back = r.pairs.set_index("source").loc["c2"]
    assert (back.precision, back.recall) == pytest.approx((1.0, 1 / 3))


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


def test_judge_branches():
    e = Estimate(0.5, 0.4, 0.6, 10)
    assert judge(e, approx=0.55) == "supported"
    assert judge(e, approx=0.9) == "not supported"
    assert judge(e, below=0.7) == "supported"
    assert judge(e, below=0.5) == "inconclusive"
    assert judge(e, below=0.3) == "not supported"
    assert judge(None, approx=1) == "untestable on public data"
    assert judge(Estimate(0.3, float("nan"), float("nan"), 1), approx=0.984) == "inconclusive"


@pytest.fixture(scope="module")
def study():
    return synthetic_study()


@pytest.mark.parametrize("name", [n for n in ANALYSES if n != "predictability"])
def test_every_analysis_follows_the_tracking_protocol(study, name):
    result = ANALYSES[name](study)
    assert isinstance(result.params(), dict) and result.metrics()
    assert all(np.isfinite(v) for v in result.metrics().values())
    assert all(isinstance(t, pd.DataFrame) for t in result.tables().values())
    assert isinstance(result.to_frame(), pd.DataFrame)
    assert name in result.summary() or result.name in result.summary()
    for claim in result.claims():
        assert claim.verdict != "untestable on public data", claim


def test_transfer_ablation_and_noise_on_synthetic(study):
    t = ANALYSES["transfer"](study).estimates()
    # FRM shares FLOPs across tiers: its ρ is at least the ablated one on this data
    assert t["overall.frm"].value >= t["overall.frm_no_invariant"].value - 1e-9
    n = ANALYSES["noise"](study).estimates()
    assert 0 < n["median_abs_log_ratio"].value < 0.1      # synthetic noise sd 0.05
    v = ANALYSES["variance"](study).components.set_index("scope")
    assert v.loc["overall", ["model", "config", "residual"]].sum() == pytest.approx(1.0)
