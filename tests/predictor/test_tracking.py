"""MLflow tracking into a temporary SQLite store: runs, nested runs, artifacts, model registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow")

from predictor.evaluation import evaluate  # noqa: E402
from predictor.service import predict_from_known  # noqa: E402
from predictor.tracking import (TrackingError, load_trained_model, log_result,  # noqa: E402
                                log_trained_model, resolve_tracking_uri, store_snapshot,
                                ui_command)
from tests.helpers.tiered import MeanStandIn, RatioStandIn, tiered_matrix  # noqa: E402

TARGETS = ["dev0|qnn|float", "dev2|qnn|float", "dev4|onnx|w8a8"]


@pytest.fixture(scope="module")
def uri(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def matrix():
    return tiered_matrix()


@pytest.fixture(scope="module")
def logged(uri, matrix):
    result = evaluate(matrix, {"ratio": RatioStandIn(), "mean": MeanStandIn()}, "lodo", ks=(3,),
                      n_draws=1, targets=TARGETS)
    run_id = log_result(result, "lodo-test", experiment="effbench-test",
                        params={"data_snapshot": "abc-10rows"}, tracking_uri=uri)
    return result, run_id


def test_parent_and_nested_runs_are_found_again(logged, uri):
    result, run_id = logged
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["effbench-test"])
    parent = runs[runs.run_id == run_id].iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == run_id]
    assert sorted(children["params.target"]) == sorted(TARGETS)
    assert parent["params.protocol"] == "lodo" and parent["params.data_snapshot"] == "abc-10rows"
    assert parent["metrics.pareto_f1"] == pytest.approx(result.metrics()["pareto_f1"])
    assert parent["metrics.ratio.k3.within_10"] == pytest.approx(
        result.estimate("ratio", 3, "within_10").value)
    assert children["metrics.ratio.k3.spearman"].notna().all()


def test_artifacts_hold_tables_and_figures(logged, uri):
    _, run_id = logged
    client = mlflow.MlflowClient(tracking_uri=uri)
    tables = {a.path for a in client.list_artifacts(run_id, "tables")}
    assert {"tables/predictions.csv", "tables/per_target.csv", "tables/summary.csv"} <= tables
    figures = {a.path for a in client.list_artifacts(run_id, "figures")}
    assert "figures/predicted_vs_true.png" in figures
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tables/predictions.csv",
                                                tracking_uri=uri)
    preds = pd.read_csv(local)
    assert {"model", "known", "true_ms", "pred_ms", "low_ms", "high_ms"} <= set(preds.columns)


class PlainResult:
    """Any result with the tracking protocol (as the analyses have) and no per-target table."""

    def params(self):
        return {"analysis": "plain", "items": [1, 2, 3]}

    def metrics(self):
        return {"rho": 0.5, "not a number": float("nan"), "bad/name?": 1.0}

    def tables(self):
        return {"numbers": pd.DataFrame({"a": [1, 2]})}

    def figures(self):
        return {}


def test_any_result_object_can_be_logged(uri):
    run_id = log_result(PlainResult(), "plain", experiment="effbench-test", tracking_uri=uri)
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.params["items"] == "1,2,3"
    assert run.data.metrics == {"rho": 0.5, "bad/name_": 1.0}  # NaN dropped, name sanitised


def test_train_register_load_round_trip(uri, matrix):
    from predictor.design import make_design
    from predictor.methods import make_method
    est = make_method("lowrank", warm_start=True)
    est.fit_source(make_design(matrix, None))  # every stored configuration is a source
    model_uri = log_trained_model(est, "effbench-test-lowrank", matrix, "lowrank", tracking_uri=uri)
    assert model_uri == "models:/effbench-test-lowrank/1"
    trained = load_trained_model("models:/effbench-test-lowrank/latest", tracking_uri=uri)
    assert trained.method == "lowrank"
    pd.testing.assert_frame_equal(trained.matrix.values, matrix.values, check_freq=False)
    config = "dev3|onnx|w8a8"
    known = pd.DataFrame({"model": ["m000", "m004", "m008", "m012", "m016"],
                          "latency_ms": matrix.values.loc[["m000", "m004", "m008", "m012", "m016"],
                                                          config].to_numpy()})
    again = predict_from_known(trained.matrix, known, trained.method, trained.estimator,
                               "dev3", "onnx", "w8a8").table()
    direct = predict_from_known(matrix, known, "lowrank", est, "dev3", "onnx", "w8a8").table()
    pd.testing.assert_frame_equal(again, direct)
    truth = matrix.values[config].reindex(again["model"]).to_numpy()
    assert np.corrcoef(np.log(truth), np.log(again["latency_ms_pred"]))[0, 1] > 0.9
    mlflow.set_tracking_uri(uri)
    served = mlflow.pyfunc.load_model("models:/effbench-test-lowrank/latest").predict(
        known.assign(device="dev3", runtime="onnx", precision="w8a8"))
    assert len(served) == len(again) and served["known"].sum() == 5
    with pytest.raises(TrackingError, match="models:/no-such-model/latest"):
        load_trained_model("models:/no-such-model/latest", tracking_uri=uri)


def test_default_uri_ui_command_and_snapshot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == "sqlite:///effbench-data/mlflow.db"
    assert (tmp_path / "effbench-data").is_dir()
    cmd, env = ui_command(port=5055)
    assert cmd[1:] == ["server", "--backend-store-uri", "sqlite:///effbench-data/mlflow.db",
                       "--workers", "1", "--host", "127.0.0.1", "--port", "5055"]
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    a = store_snapshot(pd.DataFrame({"record_id": ["b", "a"]}))
    assert a == store_snapshot(pd.DataFrame({"record_id": ["a", "b"]})) and a.endswith("-2rows")
    assert a != store_snapshot(pd.DataFrame({"record_id": ["a", "c"]}))
