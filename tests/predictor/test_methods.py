"""Transfer methods: recovery of known structure, the estimator contract, intervals, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.helpers.synthetic import flops_matrix, low_rank_matrix
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from predictor import metrics
from predictor.design import make_design, target_vector
from predictor.methods import (METHODS, NotEnoughKnownModels, TransferInputError, UnknownMethod,
                               load_method, make_method, save_method)

FAST = {"xgboost": {"n_estimators": 30}}


def _params(name: str, **extra) -> dict:
    return {**FAST.get(name, {}), **extra}


@pytest.fixture(scope="module")
def lowrank():
    return low_rank_matrix(n_models=40, n_devices=6, noise=0.01, seed=0)


def _split(matrix, target, k, seed=0):
    device = matrix.configs.at[target, "device"]
    X = make_design(matrix, target, exclude_devices=[device])
    y = target_vector(matrix, target)
    y = y[y.index.isin(X.index)]
    rng = np.random.default_rng(seed)
    known = rng.choice(len(y), size=k, replace=False)
    mask = np.zeros(len(y), dtype=bool)
    mask[known] = True
    return X, y[mask], y[~mask]


@pytest.mark.parametrize("name", [n for n in METHODS if n != "flops"])
def test_recovers_low_rank_matrix(name, lowrank):
    """k = 5 known models: ≥ 90 % of the unknown models within ±10 % on every target tried."""
    est = make_method(name, **_params(name, intervals=False))
    shares = []
    for target in [lowrank.configs_of("dev2")[0], lowrank.configs_of("dev4")[2]]:
        X, y_known, y_unknown = _split(lowrank, target, k=5)
        pred = est.fit(X, y_known, target=y_known.name).predict(X.loc[y_unknown.index])
        shares.append(metrics.within(y_unknown.to_numpy(), pred, 0.10))
    assert min(shares) >= 0.90, shares


def test_flops_recovers_flops_proportional_matrix():
    m = flops_matrix()
    X, y_known, y_unknown = _split(m, m.configs_of("dev3")[1], k=5)
    pred = make_method("flops", intervals=False).fit(X, y_known, target=y_known.name).predict(X.loc[y_unknown.index])
    assert metrics.within(y_unknown.to_numpy(), pred, 0.10) >= 0.95
    # ... and fails where latency is not ∝ FLOPs: the low-rank matrix has setup interactions
    lr = low_rank_matrix(seed=3)
    X, y_known, y_unknown = _split(lr, lr.configs_of("dev1")[1], k=5)
    pred = make_method("flops", intervals=False).fit(X, y_known, target=y_known.name).predict(X.loc[y_unknown.index])
    assert metrics.within(y_unknown.to_numpy(), pred, 0.10) < 0.5


def test_krt_picks_same_setup_source_and_family_scope(lowrank):
    target = lowrank.configs_of("dev2")[1]
    X, y_known, _ = _split(lowrank, target, k=5)
    est = make_method("krt", intervals=False).fit(X, y_known, target=y_known.name)
    assert est.source_.split("|", 1)[1] == target.split("|", 1)[1]
    fam = make_method("krt", scope="family", intervals=False).fit(X, y_known, target=y_known.name)
    assert set(fam.family_offsets_) <= set(X["family"])
    fixed = make_method("krt", source="dev0|onnx|w8a8", intervals=False).fit(X, y_known, target=y_known.name)
    assert fixed.source_ == "dev0|onnx|w8a8"


@pytest.mark.parametrize("name", list(METHODS))
def test_sklearn_contract(name, lowrank):
    est = make_method(name, **_params(name))
    params = est.get_params()
    assert clone(est).get_params() == params
    assert type(est)(**params).get_params() == params
    X, y_known, _ = _split(lowrank, lowrank.configs_of("dev1")[0], k=5)
    with pytest.raises(NotFittedError):
        est.predict(X)
    est.set_params(intervals=False)
    pred = est.fit(X, y_known, target=y_known.name).predict(X)
    assert pred.shape == (len(X),) and np.isfinite(pred).all()
    assert np.array_equal(pred, est.predict(X))  # predict is pure
    assert est.n_known_ == 5


@pytest.mark.parametrize("name,k", [("flops", 0), ("krt", 0), ("rank", 1), ("xgboost", 0),
                                    ("sklearn", 0), ("statsmodels", 0)])
def test_not_enough_known_models_is_one_line(name, k, lowrank):
    X, y_known, _ = _split(lowrank, lowrank.configs_of("dev1")[0], k=k)
    with pytest.raises(NotEnoughKnownModels) as info:
        make_method(name, **_params(name, intervals=False)).fit(X, y_known, target=y_known.name)
    message = str(info.value)
    assert "\n" not in message and f"got {k}" in message and "at least" in message


def test_lowrank_works_with_no_known_model(lowrank):
    X, y_known, y_unknown = _split(lowrank, lowrank.configs_of("dev1")[0], k=0)
    pred = make_method("lowrank", intervals=False).fit(X, y_known, target=y_known.name).predict(X.loc[y_unknown.index])
    assert np.isfinite(pred).all()
    assert metrics.spearman(y_unknown.to_numpy(), pred) > 0.8


def test_bad_inputs_raise_specific_errors(lowrank):
    X, y_known, _ = _split(lowrank, lowrank.configs_of("dev1")[0], k=5)
    est = make_method("krt", intervals=False)
    with pytest.raises(TransferInputError, match="not in X"):
        est.fit(X, pd.concat([y_known, pd.Series({"ghost": 1.0})]))
    with pytest.raises(TransferInputError, match="must be > 0"):
        est.fit(X, y_known * 0)
    with pytest.raises(TransferInputError, match="no 'src:<config>' columns"):
        est.fit(X[["family", "flops"]], y_known)
    with pytest.raises(UnknownMethod, match="unknown method 'magic'"):
        make_method("magic")


def test_warm_start_reuses_source_model_and_matches_cold_fit(lowrank):
    X, y_known, _ = _split(lowrank, lowrank.configs_of("dev3")[0], k=5)
    warm = make_method("xgboost", **_params("xgboost", warm_start=True, intervals=False)).fit_source(X)
    model = warm.source_model_
    warm.fit(X, y_known, target=y_known.name)
    assert warm.source_model_ is model
    cold = make_method("xgboost", **_params("xgboost", intervals=False)).fit(X, y_known, target=y_known.name)
    assert np.allclose(warm.predict(X), cold.predict(X))


@pytest.mark.parametrize("name", ["krt", "lowrank", "xgboost"])
def test_interval_coverage_near_nominal(name):
    """90 % intervals cover 85–95 % of the unknown models over many held-out configurations."""
    m = low_rank_matrix(n_models=40, n_devices=6, noise=0.05, seed=5)
    covered, total = 0, 0
    for device in m.devices:
        est = make_method(name, **_params(name, warm_start=True) if name != "krt" else {})
        for i, target in enumerate(m.configs_of(device)):
            X, y_known, y_unknown = _split(m, target, k=5, seed=i)
            if i == 0 and name != "krt":
                est.fit_source(X)
            est.fit(X, y_known, target=y_known.name)
            low, high = est.predict_interval(X.loc[y_unknown.index], coverage=0.9)
            inside = (y_unknown.to_numpy() >= low) & (y_unknown.to_numpy() <= high)
            covered += inside.sum()
            total += len(inside)
    coverage = covered / total
    print(f"{name}: empirical coverage of 90 % intervals = {coverage:.3f} over {total} predictions")
    assert 0.85 <= coverage <= 0.95


@pytest.mark.parametrize("name", list(METHODS))
def test_save_load_round_trip(name, lowrank, tmp_path):
    X, y_known, _ = _split(lowrank, lowrank.configs_of("dev1")[0], k=5)
    est = make_method(name, **_params(name, n_calibration=4)).fit(X, y_known, target=y_known.name)
    save_method(est, tmp_path / name)
    assert not list((tmp_path / name).glob("*.pkl")) and not list((tmp_path / name).glob("*.pickle"))
    back = load_method(tmp_path / name)
    assert type(back) is type(est) and back.get_params() == est.get_params()
    assert np.allclose(back.predict(X), est.predict(X), rtol=1e-9)
    lo1, hi1 = est.predict_interval(X)
    lo2, hi2 = back.predict_interval(X)
    assert np.allclose(lo1, lo2) and np.allclose(hi1, hi2)
    # a k the saved predictor never calibrated: the loaded one (cross-fitted fold regressors
    # included) calibrates exactly as the original does
    X3, y3, _ = _split(lowrank, lowrank.configs_of("dev1")[0], k=3)
    fresh = make_method(name, **_params(name, n_calibration=4)).fit(X3, y3, target=y3.name)
    again = load_method(tmp_path / name)
    if "warm_start" in again.get_params():
        again.set_params(warm_start=True)  # as a served predictor: no pre-training again
    again.fit(X3, y3, target=y3.name)
    assert np.allclose(again.interval_residuals_, fresh.interval_residuals_, rtol=0, atol=1e-9)


def test_load_rejects_foreign_class(tmp_path):
    (tmp_path / "method.json").write_text('{"format_version": 1, "class": "os.system", "params": {}, "state": {}}')
    with pytest.raises(UnknownMethod, match="not an effbench transfer method"):
        load_method(tmp_path)
    with pytest.raises(UnknownMethod, match="no saved method"):
        load_method(tmp_path / "empty")


def test_memory_matrix_transfers_too():
    m = low_rank_matrix(n_models=30, n_devices=5, seed=2)
    from predictor.matrix import build_matrix
    mem = build_matrix(_memory_rows(m), metric="memory")
    X, y_known, y_unknown = _split(mem, mem.configs_of("dev2")[0], k=5)
    pred = make_method("krt", intervals=False).fit(X, y_known, target=y_known.name).predict(X.loc[y_unknown.index])
    assert metrics.within(y_unknown.to_numpy(), pred, 0.10) >= 0.9


def _memory_rows(m) -> pd.DataFrame:
    tidy = m.values.stack().rename("ms_per_sample").reset_index()
    tidy.columns = ["model", "config", "ms_per_sample"]
    parts = tidy["config"].str.split("|", expand=True)
    tidy["device"], tidy["runtime"], tidy["precision"] = parts[0], parts[1], parts[2]
    tidy["layout"], tidy["batch_size"], tidy["source"], tidy["device_tier"] = None, 1, "aihub", "edge"
    tidy["peak_memory_mb"] = np.exp(np.log(tidy["ms_per_sample"]) / 2 + 3)
    tidy["family"] = None
    return tidy.drop(columns="config")


def test_sklearn_hgb_variant_fits(lowrank):
    """(Its skops round trip is not run here: importing skops alone takes ~15 s on CI.)"""
    X, y_known, y_unknown = _split(lowrank, lowrank.configs_of("dev2")[0], k=5)
    est = make_method("sklearn", estimator="hgb", max_iter=15, intervals=False).fit(X, y_known, target=y_known.name)
    assert metrics.within(y_unknown.to_numpy(), est.predict(X.loc[y_unknown.index]), 0.10) >= 0.9
    with pytest.raises(ValueError, match="estimator must be 'hgb' or 'ridge'"):
        make_method("sklearn", estimator="svm", intervals=False).fit(X, y_known, target=y_known.name)


def test_log_sources_is_a_fresh_array_in_the_order_asked():
    """The log source block is read once per design matrix and remembered: every call still
    returns a new array (a caller's edit cannot reach the next caller), in the columns' order,
    NaN for a column the design lacks, and a different design gets its own values."""
    from predictor.methods.base import log_sources

    X = make_design(low_rank_matrix(seed=1), None)
    cols = [c for c in X.columns if c.startswith("src:")][:3]
    first = log_sources(X, cols)
    expected = np.log(X[cols].to_numpy(dtype=float))
    np.testing.assert_allclose(first, expected)
    first[:] = 0.0
    np.testing.assert_allclose(log_sources(X, cols), expected)
    swapped = log_sources(X, [cols[1], "src:absent", cols[0]])
    np.testing.assert_allclose(swapped[:, 0], expected[:, 1])
    assert np.isnan(swapped[:, 1]).all()
    np.testing.assert_allclose(swapped[:, 2], expected[:, 0])
    other = X.assign(**{cols[0]: X[cols[0]] * 2.0})  # a new design: its own block
    np.testing.assert_allclose(log_sources(other, cols[:1])[:, 0], expected[:, 0] + np.log(2.0))


def test_pseudo_target_design_is_built_once_and_is_the_plain_selection():
    """A pseudo-target's design is shared by every method calibrated on the same X: the same
    object each time, equal to selecting its rows and kept sources from X by hand, its source
    block the log of those values; a method calibrated from it gets the scores it gets alone."""
    from predictor.methods import make_method
    from predictor.methods.base import _source_block_of, log_sources, pseudo_sources

    X = make_design(low_rank_matrix(seed=2), None)
    cols = [c for c in X.columns if c.startswith("src:")]
    entry = _source_block_of(X)
    Xp, y_log = entry.pseudo_design(cols[0], False)
    assert entry.pseudo_design(cols[0], False)[0] is Xp
    keep = pseudo_sources(X, cols, cols[0])
    rows = X[keep].notna().any(axis=1)
    pd.testing.assert_frame_equal(Xp, X.loc[rows, [c for c in X.columns if c not in cols] + keep])
    np.testing.assert_allclose(log_sources(Xp, keep), np.log(Xp[keep].to_numpy(dtype=float)))
    np.testing.assert_allclose(y_log, np.log(X.loc[rows, cols[0]].to_numpy(dtype=float)))
    target = cols[-1][len("src:"):]
    Xt = make_design(low_rank_matrix(seed=2), target)
    y = low_rank_matrix(seed=2).values[target].dropna().iloc[:5]
    first = make_method("krt_power").fit(Xt, y, target=target)
    make_method("krt").fit(Xt, y, target=target)  # shares the designs
    again = make_method("krt_power").fit(Xt.copy(), y, target=target)  # builds its own
    np.testing.assert_array_equal(first.interval_residuals_, again.interval_residuals_)


@pytest.mark.parametrize("method, p", [("plain_krt", 1), ("krt_power", 2)])
def test_interval_scale_gives_back_the_fits_degrees_of_freedom(method, p):
    """Six known models on one source: the in-sample scale is sqrt(SSR / (n − p)), p the numbers
    the fit learned (ratio; ratio and exponent), not the raw RMS, which understates the error of
    a model the fit never saw."""
    from predictor.methods import make_method

    rng = np.random.default_rng(3)
    x = np.exp(rng.uniform(0, 4, 30))
    X = pd.DataFrame({"family": "f", "src:dev|tflite|float": x},
                     index=pd.Index([f"m{i}" for i in range(30)], dtype=object))
    y = pd.Series(2.0 * x ** 0.8 * np.exp(rng.normal(0, 0.05, 30)), index=X.index)
    est = make_method(method).set_params(intervals=False).fit(X, y.iloc[:6], target="new|tflite|float")
    r = np.log(y.iloc[:6].to_numpy()) - np.log(est.predict(X.iloc[:6]))
    assert est._n_fitted() == p
    assert est.known_rms_ == pytest.approx(np.sqrt(np.sum(r ** 2) / (6 - p)))
