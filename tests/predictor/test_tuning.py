"""Optuna tuning by nested cross-device validation, on a small synthetic matrix."""

from __future__ import annotations

import optuna
import pytest
from tests.helpers.synthetic import low_rank_matrix

from predictor.tuning import TuningError, lodo_score, tune


@pytest.fixture(scope="module")
def small():
    return low_rank_matrix(n_models=20, n_devices=5, noise=0.02, seed=4)


def test_tune_three_trials_on_sqlite(small, tmp_path):
    storage = f"sqlite:///{tmp_path}/optuna.db"
    result = tune("lowrank", small, n_trials=3, k=5, storage=storage, study_name="t",
                  exclude_devices=["dev0"], max_devices=3, n_draws=1)
    assert result.n_trials == 3 and (tmp_path / "optuna.db").exists()
    assert "dev0" not in result.inner_devices and len(result.inner_devices) == 3
    assert 0.0 <= result.best_value <= 1.0 and set(result.best_params) == {"rank", "alpha", "target_alpha"}
    assert "best inner-LODO within10" in result.summary()
    # the study persists: a second call resumes it
    again = tune("lowrank", small, n_trials=1, storage=storage, study_name="t",
                 exclude_devices=["dev0"], max_devices=3, n_draws=1)
    assert again.n_trials == 4
    assert len(optuna.load_study(study_name="t", storage=storage).trials) == 4


def test_tune_learned_method_one_trial(small, tmp_path):
    result = tune("xgboost", small, n_trials=1, storage=f"sqlite:///{tmp_path}/x.db",
                  max_devices=3, n_draws=1)
    assert {"n_estimators", "max_depth", "n_top"} <= set(result.best_params)


def test_lodo_score_prefers_right_model(small):
    good = lodo_score("lowrank", {"rank": 2}, small, devices=["dev1", "dev2"], n_draws=1)
    bad = lodo_score("flops", {}, small, devices=["dev1", "dev2"], n_draws=1)
    assert good > 0.8 > bad


def test_tuning_errors(small):
    with pytest.raises(TuningError, match="no search space"):
        tune("flops", small)
    with pytest.raises(TuningError, match="objective must be"):
        tune("lowrank", small, objective="r2")
    with pytest.raises(TuningError, match=">= 3 devices"):
        tune("lowrank", small, exclude_devices=["dev0", "dev1", "dev2"])
