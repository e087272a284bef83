"""``predictor.query``: known-file validation (hypothesis over broken CSVs) and prediction rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor.metrics import spearman
from predictor.query import (KnownFileError, QueryError, predict_from_known, read_known,
                             with_target)
from test_evaluate import tiered_matrix

VALID_NAMES = ["resnet50", "mobilenet_v2", "densenet121", "squeezenet1_1", "Resnet-50.a1_in1k"]


def write(tmp_path, text: str):
    path = tmp_path / "known.csv"
    path.write_text(text)
    return path


def test_reads_aliases_and_optional_input_size(tmp_path):
    known = read_known(write(tmp_path, "model,latency_ms,input_size\nmobilenet_v2_quantized,0.5,224\n"
                                       "ResNet-50, 2.5,\n"))
    assert list(known["canonical"]) == ["mobilenetv2_100", "resnet50"]
    assert list(known["model"]) == ["mobilenet_v2_quantized", "ResNet-50"]
    assert known["value"].tolist() == [0.5, 2.5] and known["input_size"].iloc[0] == 224


@pytest.mark.parametrize("text, message", [
    ("model,latency\nresnet50,1\n", "known.csv: missing column(s) ['latency_ms']"),
    ("model,latency_ms\nresnet50,1\nmobilenet_v2,0\n", "known.csv row 2: latency_ms must be > 0"),
    ("model,latency_ms\nresnet50,nan\n", "known.csv row 1: latency_ms must be a finite number"),
    ("model,latency_ms\nresnet50,\n", "known.csv row 1: latency_ms is missing"),
    ("model,latency_ms\nresnet50,fast\n", "known.csv row 1: latency_ms is not a number"),
    ("model,latency_ms\n,1\n", "known.csv row 1: model is missing"),
    ("model,latency_ms\nresnet50,1\nResNet-50,2\n", "known.csv row 2: model 'ResNet-50' is already given in row 1"),
    ("model,latency_ms\nfoo bar!,1\n", "known.csv row 1: unknown model"),
    ("model,latency_ms,input_size\nresnet50,1,-3\n", "known.csv row 1: input_size must be > 0"),
])
def test_bad_rows_name_the_file_and_row(tmp_path, text, message):
    with pytest.raises(KnownFileError) as err:
        read_known(write(tmp_path, text))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


cells = st.one_of(
    st.floats(min_value=1e-3, max_value=1e4).map(repr),        # valid
    st.sampled_from(["", "nan", "inf", "-1", "0", "abc", "1e400", "-0.0", " "]),  # broken
)


def _is_valid(cell: str) -> bool:
    try:
        v = float(cell)
    except ValueError:
        return False
    return math.isfinite(v) and v > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(VALID_NAMES[:4]), cells), min_size=1, max_size=6,
                     unique_by=lambda r: r[0]))
def test_broken_known_files_fail_on_the_first_bad_row(tmp_path, rows):
    path = write(tmp_path, "model,latency_ms\n" + "".join(f"{m},{v}\n" for m, v in rows))
    bad = [i for i, (_, v) in enumerate(rows, start=1) if not _is_valid(v.strip())]
    if not bad:
        assert len(read_known(path)) == len(rows)
        return
    with pytest.raises(KnownFileError) as err:
        read_known(path)
    assert str(err.value).startswith(f"known.csv row {bad[0]}: latency_ms")


# ----------------------------------------------------------------------- prediction rules

@pytest.fixture(scope="module")
def matrix():
    return tiered_matrix()


def known_from(matrix, config: str, models) -> pd.DataFrame:
    frame = pd.DataFrame({"model": list(models),
                          "latency_ms": matrix.values.loc[list(models), config].to_numpy()})
    return frame


def test_stored_target_configuration_is_not_a_source(matrix):
    known = read_known(known_from(matrix, "dev4|tflite|float", ["m000", "m001"]))
    full, tid = with_target(matrix, known, "dev4", "tflite", "float")
    assert "dev4|tflite|float" not in full.values.columns
    assert "dev4|qnn|float" in full.values.columns  # other setups of the device stay sources
    assert full.values[tid].notna().sum() == 2
    blank, tid2 = with_target(matrix, known, "dev4", "tflite", "float", drop_stored=False)
    assert blank.values["dev4|tflite|float"].isna().all()


def test_predicts_a_new_device_from_five_known_models(matrix):
    config = "dev5|onnx|w8a8"
    rest = matrix.values.drop(columns=[c for c in matrix.values if c.startswith("dev5|")])
    from predictor.evaluation.runner import submatrix

    without = submatrix(matrix, list(rest.columns))
    chosen = ["m000", "m005", "m010", "m015", "m020"]
    out = predict_from_known(without, known_from(matrix, config, chosen), method="krt",
                             device="dev5", runtime="onnx", precision="w8a8")
    assert list(out.columns) == ["model", "input_size", "latency_ms_pred", "latency_ms_low",
                                 "latency_ms_high", "rank_pred", "method", "known"]
    assert len(out) == len(matrix.values) and out["known"].sum() == 5
    echoed = out[out["known"]].set_index("model")["latency_ms_pred"]
    assert np.allclose(echoed, matrix.values.loc[echoed.index, config])
    unknown = out[~out["known"]].set_index("model")
    truth = matrix.values.loc[unknown.index, config]
    assert spearman(truth, unknown["latency_ms_pred"]) > 0.9
    assert (unknown["latency_ms_low"] <= unknown["latency_ms_pred"]).all()
    assert out["rank_pred"].min() == 1 and out["rank_pred"].is_monotonic_increasing


def test_models_option_narrows_and_keeps_caller_names(matrix):
    known = known_from(matrix, "dev4|qnn|float", ["m000", "m001", "m002"])
    out = predict_from_known(matrix, known, method="krt", device="dev9", runtime="qnn",
                             precision="float", models=["m003", "M001"])
    assert sorted(out["model"]) == ["M001", "m003"]
    with pytest.raises(QueryError, match="'zzz9' has no measurement"):
        predict_from_known(matrix, known, method="krt", device="dev9", runtime="qnn",
                           precision="float", models=["zzz9"])


def test_too_few_known_models_and_no_information(matrix):
    one = known_from(matrix, "dev4|qnn|float", ["m000"])
    with pytest.raises(QueryError, match="needs at least"):
        predict_from_known(matrix, one, method="rank", device="devX", runtime="qnn",
                           precision="float")
    with pytest.raises(QueryError, match="not in the store and no known models"):
        predict_from_known(matrix, pd.DataFrame(columns=["model", "latency_ms"]), method="krt",
                           device="devX", runtime="qnn", precision="float")


def test_pretrained_predictor_is_kept_and_reused(matrix, tmp_path, monkeypatch):
    from predictor.methods.learned import XGBoostTransfer

    known = known_from(matrix, "dev4|qnn|float", ["m000", "m003", "m006", "m009", "m012"])
    query = dict(method="xgboost", device="dev9", runtime="qnn", precision="float",
                 predictors=tmp_path / "predictors")
    first = predict_from_known(matrix, known, **query)
    saved = list((tmp_path / "predictors").iterdir())
    assert len(saved) == 1 and saved[0].name.startswith("xgboost-")
    assert (saved[0] / "xgboost.json").exists() and (saved[0] / "folds.json").exists()

    def no_pretraining(self, X):
        raise AssertionError("pre-trained again although a saved predictor matches")

    monkeypatch.setattr(XGBoostTransfer, "fit_source", no_pretraining)
    again = predict_from_known(matrix, known, **query)
    pd.testing.assert_frame_equal(first, again)
    monkeypatch.undo()
    # a damaged saved predictor costs a pre-training, never a wrong answer or a crash
    (saved[0] / "method.json").write_text("{not json")
    repaired = predict_from_known(matrix, known, **query)
    pd.testing.assert_frame_equal(first, repaired)
