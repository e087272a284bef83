"""``effbench predict / train / evaluate`` end to end on the real AI Hub data.

The main use case: a device the store has never seen. One real device is deleted from a copy of
the AI Hub store, five of its real measurements become ``known.csv``, and the predicted ranking
of the other models is compared with the device's real measurements.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from collectors.store import copy_store
from models_registry import canonical_id
from effbench.cli import app
from predictor.metrics import spearman

DEVICE = "Samsung Galaxy S23"
runner = CliRunner()


@pytest.fixture(scope="module")
def held_out(real_store, tmp_path_factory):
    """(store without DEVICE, known.csv with 5 of its tflite/float models, truth per model)."""
    rows = real_store.measurements(latest=True, source="aihub")
    target = rows[(rows.device == DEVICE) & (rows.runtime == "tflite") & (rows.precision == "float")]
    if target["model"].nunique() < 15:
        pytest.skip(f"{DEVICE} tflite/float has too few models in the public data")
    truth = target.groupby("model")["ms_per_sample"].median()
    folder = tmp_path_factory.mktemp("held_out")
    store = copy_store(real_store, folder / "store",
                       keep=lambda df: (df.source == "aihub") & (df.device != DEVICE))
    known = truth.sample(5, random_state=3).rename("latency_ms").rename_axis("model").reset_index()
    known.to_csv(folder / "known.csv", index=False)
    return store, folder / "known.csv", truth


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_predict_a_device_absent_from_the_store(held_out, tmp_path):
    store, known, truth = held_out
    assert DEVICE not in set(store.read(columns=["device"])["device"])
    out = tmp_path / "preds.csv"
    result = invoke("predict", "--store", store.root, "--device", DEVICE, "--runtime", "tflite",
                    "--precision", "float", "--known", known, "--method", "krt", "--out", out)
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out)
    assert preds["known"].sum() == 5 and (preds["method"] == "krt").all()
    unknown = preds[~preds["known"]].assign(model=lambda d: d["model"].map(canonical_id))
    joined = unknown.merge(truth.rename("true").rename_axis("model").reset_index(), on="model")
    assert len(joined) >= 10
    rho = spearman(joined["true"], joined["latency_ms_pred"])
    assert rho > 0.75, f"Spearman vs the real {DEVICE} measurements: {rho:.3f}"


def test_predict_auto_caches_its_choice(held_out, tmp_path):
    store, known, _ = held_out
    out = tmp_path / "preds.csv"
    result = invoke("predict", "--store", store.root, "--device", DEVICE, "--runtime", "tflite",
                    "--precision", "float", "--known", known, "--models",
                    "resnet50,mobilenet_v2,squeezenet1_1", "--out", out)
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out)
    assert sorted(preds["model"]) == ["mobilenet_v2", "resnet50", "squeezenet1_1"]
    cache = json.loads((store.root / "auto_method.json").read_text())
    assert set(pd.read_csv(out)["basis"]) <= {"measured", "transfer"}
    assert list(cache.values()) == [preds["method"].iloc[0]]


def _store_state(store) -> tuple:
    """What a failed request must leave as it was: the measurements and the table files."""
    from collectors.store import store_snapshot

    tables = sorted(p.name for p in store.root.rglob("*.parquet"))
    return store_snapshot(store), tuple(tables)


def _one_line_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output


def _query(store, known, out, *extra, device=DEVICE, runtime="tflite", precision="float"):
    args = ["predict", "--store", store.root, "--known", known, "--out", out]
    for flag, value in (("--device", device), ("--runtime", runtime), ("--precision", precision)):
        if value is not None:
            args += [flag, value]
    return invoke(*args, *extra)


@pytest.mark.parametrize("text, message", [
    ("model,latency_ms\nresnet50,1.5\nmobilenet_v2,-2\n", "known.csv row 2: latency_ms must be > 0"),
    ("model,ms\nresnet50,1.5\n", "known.csv: missing column(s) ['latency_ms']"),
    ("model,latency_ms\nqq zz!,3\n", "needs at least 1 known model(s) measured on another "
                                      "configuration, got 0 after skipping qq zz!"),
    ("model,latency_ms\nresnet50,NaN\n", "known.csv row 1: latency_ms must be a finite number"),
])
def test_bad_known_file_is_one_line_and_exit_2(held_out, tmp_path, text, message):
    store, _, _ = held_out
    (tmp_path / "known.csv").write_text(text)
    before = _store_state(store)
    result = _query(store, tmp_path / "known.csv", tmp_path / "p.csv", "--method", "krt",
                    device="NewPhone")
    _one_line_error(result, message)
    assert not (tmp_path / "p.csv").exists() and _store_state(store) == before


@pytest.mark.parametrize("device, runtime, precision, message", [
    (DEVICE, "tflit", "float", "--runtime 'tflit' is not in the store; did you mean 'tflite'?"),
    (DEVICE, "coreml", "float", "--runtime 'coreml' is not in the store; the store has: "),
    (DEVICE, "tflite", "fp64", "--precision 'fp64' is not in the store; the store has: "),
    (None, "tflite", "float", "--device is required"),
])
def test_bad_target_is_one_line_and_exit_2(held_out, tmp_path, device, runtime, precision, message):
    store, known, _ = held_out
    before = _store_state(store)
    result = _query(store, known, tmp_path / "p.csv", "--method", "krt", device=device,
                    runtime=runtime, precision=precision)
    _one_line_error(result, message)
    assert not (tmp_path / "p.csv").exists() and _store_state(store) == before


@pytest.mark.parametrize("factor, unit", [(1000.0, "microseconds"), (1e-3, "seconds")])
def test_unit_slip_is_one_line_and_exit_2(held_out, tmp_path, factor, unit):
    store, known, _ = held_out
    frame = pd.read_csv(known)
    frame["latency_ms"] *= factor
    frame.to_csv(tmp_path / "known.csv", index=False)
    before = _store_state(store)
    result = _query(store, tmp_path / "known.csv", tmp_path / "p.csv", "--method", "krt")
    _one_line_error(result, f"are they in {unit}")
    assert _store_state(store) == before


def test_unknown_models_are_answered_in_part(held_out, tmp_path):
    """A known model new to the store is skipped with one warning; a --models name with no
    measurement anywhere gets a row with a reason; the rest is answered (exit 0)."""
    store, known, _ = held_out
    frame = pd.concat([pd.read_csv(known), pd.DataFrame({"model": ["my_private_net"],
                                                         "latency_ms": [4.2]})])
    frame.to_csv(tmp_path / "known.csv", index=False)
    out = tmp_path / "p.csv"
    result = _query(store, tmp_path / "known.csv", out, "--method", "krt",
                    "--models", "resnet50,resnet5O,my_private_net")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert any("my_private_net" in w and "skipped 1 known model" in w for w in warnings), warnings
    preds = pd.read_csv(out).set_index("model")
    assert np.isfinite(preds.loc["resnet50", "latency_ms_pred"])
    assert np.isnan(preds.loc["resnet5O", "latency_ms_pred"])
    # a name no stored device measured is traced for a cold-start prediction; a typo of a
    # timm name cannot be, and its reason offers the close names
    assert "close timm names: resnet50" in preds.loc["resnet5O", "reason"]
    assert preds.loc["my_private_net", "known"]  # echoed: it was measured


def test_one_path_evaluate_and_predict_agree(real_store, held_out, tmp_path):
    """`effbench evaluate` (one held-out target, one draw) and `effbench predict` given the same
    known models on a store without that device produce identical predictions."""
    store, _, _ = held_out
    target = f"{DEVICE}|tflite|float"
    evaluated = tmp_path / "evaluated.csv"
    result = invoke("evaluate", "--store", real_store.root, "--source", "aihub", "--protocol", "lodo",
                    "--group", "device", "--target", target, "--k", 5, "--draws", 1, "--methods", "krt,xgboost",
                    "--no-align", "--no-log", "--out", evaluated)
    assert result.exit_code == 0, result.output
    held = pd.read_csv(evaluated)
    for method in ("krt", "xgboost"):
        rows = held[held["method"] == method]
        assert rows["input_size"].notna().all()  # predictions carry (model, input size)
        known = rows[rows["known"]][["model", "input_size", "true_ms"]].rename(
            columns={"true_ms": "latency_ms"})
        assert len(known) == 5
        known.to_csv(tmp_path / "known.csv", index=False)
        out = tmp_path / f"{method}.csv"
        result = _query(store, tmp_path / "known.csv", out, "--method", method)
        assert result.exit_code == 0, result.output
        predicted = pd.read_csv(out).set_index("model")
        unknown = rows[~rows["known"]].set_index("model")
        assert len(unknown) >= 10
        np.testing.assert_allclose(predicted.loc[unknown.index, "latency_ms_pred"],
                                   unknown["pred_ms"], rtol=1e-9)
        np.testing.assert_allclose(predicted.loc[unknown.index, "latency_ms_high"],
                                   unknown["high_ms"], rtol=1e-9)


@pytest.mark.parametrize("args, message", [
    (["--k", "0", "--methods", "krt"], "--k 0: nothing could be evaluated (needs 1 known models"),
    (["--k", "5000", "--methods", "krt"], "--k 5000: nothing could be evaluated (only"),
    (["--k", "-1", "--methods", "krt"], "--k must be >= 0, got -1"),
    (["--methods", "krt,magic"], "unknown method 'magic'"),
])
def test_evaluate_rejects_requests_it_cannot_answer(held_out, args, message):
    store, _, _ = held_out
    result = invoke("evaluate", "--store", store.root, "--no-log", "--draws", 1,
                    "--no-intervals", *args)
    _one_line_error(result, message)


def test_train_then_predict_from_the_registry(held_out, tmp_path):
    store, known, truth = held_out
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = invoke("train", "--store", store.root, "--method", "lowrank", "--name", "s23-lowrank",
                    "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    assert "models:/s23-lowrank/1" in result.output
    out = tmp_path / "preds.csv"
    result = invoke("predict", "--model-uri", "models:/s23-lowrank/latest", "--tracking-uri", uri,
                    "--device", DEVICE, "--runtime", "tflite", "--precision", "float",
                    "--known", known, "--out", out)
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out)
    assert (preds["method"] == "lowrank").all()
    unknown = preds[~preds["known"]].assign(model=lambda d: d["model"].map(canonical_id))
    joined = unknown.merge(truth.rename("true").rename_axis("model").reset_index(), on="model")
    assert spearman(joined["true"], joined["latency_ms_pred"]) > 0.7


def test_evaluate_prints_and_logs(held_out, tmp_path):
    store, _, _ = held_out
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = invoke("evaluate", "--store", store.root, "--protocol", "lodo", "--k", 1, "--k", 5,
                    "--methods", "krt,flops", "--draws", 1, "--no-intervals", "--tracking-uri", uri)
    assert result.exit_code == 0, result.output
    assert "best at k=5: krt" in result.output and "logged MLflow run" in result.output
    import mlflow

    runs = mlflow.MlflowClient(tracking_uri=uri).search_runs(["0", "1"], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].data.params["methods"] == "krt,flops"
    assert len(runs) - 1 == int(parents[0].data.params["n_targets"])  # one child per target
    assert parents[0].data.params["protocol.align"] == "True"  # sources as of the target's dates

    plain = invoke("evaluate", "--store", store.root, "--protocol", "lodo", "--k", 5, "--methods",
                   "krt", "--draws", 1, "--no-intervals", "--no-align", "--tracking-uri", uri,
                   "--run-name", "plain-latest-view")
    assert plain.exit_code == 0, plain.output
    mlflow.set_tracking_uri(uri)
    logged = mlflow.search_runs(experiment_ids=["0", "1"], filter_string=
                                "tags.mlflow.runName = 'plain-latest-view'", output_format="list")
    assert [r.data.params["protocol.align"] for r in logged] == ["False"]


def test_held_out_timm_gpu_gets_a_prediction_for_every_pair(real_store, tmp_path):
    """RTX 3090 held out; five known models at their own input sizes: every (model, input size)
    measured on another configuration is predicted (none NaN), and each prediction is of the
    size asked (a 384 px row is never the 224 px one)."""
    from predictor.matrix import build_matrix

    device = "RTX 3090"
    rows = real_store.measurements()
    truth_matrix = build_matrix(rows[rows["device"] == device], min_models=50)
    config = "RTX 3090|pytorch-eager|amp|nchw|torch 2.4.0 / cu124"
    truth = truth_matrix.values[config].dropna().rename("true").to_frame().join(
        truth_matrix.models[["model", "input_size"]])
    store = copy_store(real_store, tmp_path / "store", keep=lambda df: df["device"] != device)
    multi = truth[truth.duplicated("model", keep=False)]
    known = pd.concat([multi.head(2), truth.drop(multi.index).sample(3, random_state=0)])
    known.rename(columns={"true": "latency_ms"})[["model", "input_size", "latency_ms"]].to_csv(
        tmp_path / "known.csv", index=False)
    for method in ("auto", "krt"):
        out = tmp_path / f"{method}.csv"
        result = invoke("predict", "--store", store.root, "--device", device, "--runtime",
                        "pytorch-eager", "--precision", "amp", "--known", tmp_path / "known.csv",
                        "--method", method, "--out", out)
        assert result.exit_code == 0, result.output
        preds = pd.read_csv(out)
        assert len(preds) > 1000 and preds["latency_ms_pred"].notna().all(), method
        assert not preds.duplicated(["model", "input_size"]).any()
        joined = preds[~preds["known"]].merge(truth, on=["model", "input_size"])
        sizes = joined.groupby("model")["input_size"].nunique()
        assert (sizes > 1).any()  # several sizes of one architecture, each predicted apart
        assert spearman(joined["true"], joined["latency_ms_pred"]) > 0.95
