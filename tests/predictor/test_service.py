"""``predictor.service``: known-file validation (hypothesis over broken CSVs), matching known
models to (model, input size) rows, target checks and the prediction rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor.metrics import spearman
from predictor.service import (KnownFileError, QueryError, TargetError, predict_from_known,
                               prepare_target, read_known)
from predictor.service.known import RowIndex, match_known
from predictor.service.target import Target, check_units
from tests.helpers.tiered import tiered_matrix

VALID_NAMES = ["resnet50", "mobilenet_v2", "densenet121", "squeezenet1_1", "Resnet-50.a1_in1k"]


def write(tmp_path, text: str):
    path = tmp_path / "known.csv"
    path.write_text(text)
    return path


def test_reads_aliases_and_optional_input_size(tmp_path):
    known = read_known(write(tmp_path, "model,latency_ms,input_size\nmobilenet_v2_quantized,0.5,224\n"
                                       "ResNet-50, 2.5,\n"))
    assert list(known["canonical"]) == ["mobilenetv2_100", "resnet50"]
    assert read_known(write(tmp_path, "model,latency_ms\nfoo bar!,1\n"))["canonical"].tolist() == [
        "foo bar!"]  # not a file error: a model the store may not know, skipped at matching
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
    prepared = prepare_target(matrix, Target("dev4", "tflite", "float"))
    assert "src:dev4|tflite|float" not in prepared.X.columns
    assert "src:dev4|qnn|float" in prepared.X.columns  # other setups of the device stay sources
    blank = prepare_target(matrix, Target("dev4", "tflite", "float"), blank_stored=True)
    assert blank.X["src:dev4|tflite|float"].isna().all()


def test_predicts_a_new_device_from_five_known_models(matrix):
    config = "dev5|onnx|w8a8"
    without = matrix.without(matrix.configs_of("dev5"))
    chosen = ["m000", "m005", "m010", "m015", "m020"]
    out = predict_from_known(without, known_from(matrix, config, chosen), method="krt",
                             device="dev5", runtime="onnx", precision="w8a8").table()
    assert list(out.columns) == ["model", "input_size", "latency_ms_pred", "latency_ms_low",
                                 "latency_ms_high", "rank_pred", "method", "known", "basis",
                                 "reason", "device", "runtime", "precision"]
    assert set(out["basis"]) == {"measured", "transfer"}
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
    result = predict_from_known(matrix, known, method="krt", device="dev9", runtime="qnn",
                                precision="float", models=["m003", "m001", "zzz9"])
    out = result.table().set_index("model")
    assert sorted(out.index) == ["m001", "m003", "zzz9"]
    assert out.loc["m001", "known"] and np.isfinite(out.loc["m003", "latency_ms_pred"])
    # a model with no measurement anywhere is answered with an empty row and a reason
    assert np.isnan(out.loc["zzz9", "latency_ms_pred"]) and "zzz9" in out.loc["zzz9", "reason"]
    assert any("zzz9" in w for w in result.warnings)


def test_too_few_known_models_and_no_information(matrix):
    one = known_from(matrix, "dev4|qnn|float", ["m000"])
    with pytest.raises(QueryError, match="needs at least"):
        predict_from_known(matrix, one, method="rank", device="devX", runtime="qnn",
                           precision="float")
    with pytest.raises(QueryError, match="needs at least 1 known model"):
        predict_from_known(matrix, pd.DataFrame(columns=["model", "latency_ms"]), method="krt",
                           device="devX", runtime="qnn", precision="float")
    unknown = pd.DataFrame({"model": ["ghost1", "ghost2"], "latency_ms": [1.0, 2.0]})
    with pytest.raises(QueryError, match="after skipping ghost1, ghost2"):
        predict_from_known(matrix, unknown, method="krt", device="devX", runtime="qnn",
                           precision="float")


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
    pd.testing.assert_frame_equal(first.table(), again.table())
    monkeypatch.undo()
    # a damaged saved predictor costs a pre-training, never a wrong answer or a crash
    (saved[0] / "method.json").write_text("{not json")
    repaired = predict_from_known(matrix, known, **query)
    pd.testing.assert_frame_equal(first.table(), repaired.table())


def test_unknown_known_models_are_skipped_with_one_warning(matrix):
    known = pd.concat([known_from(matrix, "dev4|qnn|float", ["m000", "m003", "m006"]),
                       pd.DataFrame({"model": ["my_own_net"], "latency_ms": [3.0]})])
    result = predict_from_known(matrix, known, method="krt", device="devX", runtime="qnn",
                                precision="float")
    assert [w for w in result.warnings if "my_own_net" in w] == [
        "skipped 1 known model(s) the store has never measured: my_own_net"]
    assert result.frame["known"].sum() == 4  # three used, the fourth echoed with its reason
    assert result.frame.loc["my_own_net", "reason"] == "not in the store: echoed, not used"


@pytest.mark.parametrize("runtime, precision, message", [
    ("tflit", "float", "--runtime 'tflit' is not in the store; did you mean 'tflite'?"),
    ("coreml", "float", "--runtime 'coreml' is not in the store; the store has: onnx, qnn, tflite"),
    ("qnn", "fp64", "--precision 'fp64' is not in the store"),
    ("qnn", None, "--precision is required"),
])
def test_runtime_and_precision_must_be_known_to_the_store(matrix, runtime, precision, message):
    known = known_from(matrix, "dev4|qnn|float", ["m000", "m003"])
    with pytest.raises(TargetError) as err:
        predict_from_known(matrix, known, method="krt", device="devX", runtime=runtime,
                           precision=precision)
    assert str(err.value).startswith(message)


def test_device_is_required_and_a_near_miss_is_noted(matrix):
    known = known_from(matrix, "dev4|qnn|float", ["m000", "m003"])
    with pytest.raises(TargetError, match="--device is required"):
        predict_from_known(matrix, known, method="krt", device=None, runtime="qnn",
                           precision="float")
    result = predict_from_known(matrix, known, method="krt", device="dev44", runtime="QNN",
                                precision="float")
    assert result.target.runtime == "qnn"  # the store's spelling
    assert any("did you mean 'dev4'" in w for w in result.warnings)


@pytest.mark.parametrize("runtime, precision, stored", [
    ("qnn_dlc", "fp16", ("qnn", "float")),                    # AI Hub's current and legacy names
    ("torchscript_onnx_tflite", "float", ("tflite", "float")),
    ("onnxruntime", "int8", ("onnx", "w8a8")),                # ONNX Runtime, as a collector names it
])
def test_source_spellings_are_read_as_the_stores_names(matrix, runtime, precision, stored):
    known = known_from(matrix, "dev4|qnn|float", ["m000", "m003"])
    result = predict_from_known(matrix, known, method="krt", device="devX", runtime=runtime,
                                precision=precision)
    assert (result.target.runtime, result.target.precision) == stored
    assert any(f"--runtime {runtime!r} read as {stored[0]!r}" in w for w in result.warnings)


def test_an_exact_stored_name_wins_over_a_spelling(matrix):
    """``onnx`` is a local collector's spelling of ``onnxruntime``, but this store names its
    ONNX Runtime configurations ``onnx``: the stored name is taken as it is, with no note."""
    known = known_from(matrix, "dev4|qnn|float", ["m000", "m003"])
    result = predict_from_known(matrix, known, method="krt", device="devX", runtime="onnx",
                                precision="w8a8")
    assert result.target.runtime == "onnx"
    assert not any("read as" in w for w in result.warnings)


@pytest.mark.parametrize("factor, unit", [(1000.0, "microseconds"), (1e-3, "seconds")])
def test_unit_slip_is_named(matrix, factor, unit):
    known = known_from(matrix, "dev4|qnn|float", ["m000", "m003", "m006", "m009", "m012"])
    known["latency_ms"] *= factor
    with pytest.raises(TargetError, match=unit):
        predict_from_known(matrix, known, method="krt", device="devX", runtime="qnn",
                           precision="float")


@settings(max_examples=40, deadline=None)
@given(log_ratio=st.floats(min_value=-1.9, max_value=1.9))
def test_real_speed_differences_are_not_unit_slips(log_ratio):
    sources = pd.DataFrame({"src:a": [1.0, 2.0, 4.0], "src:b": [3.0, 6.0, 12.0]},
                           index=["x", "y", "z"])
    typical = np.sqrt(sources["src:a"] * sources["src:b"])
    check_units(typical * 10 ** log_ratio, sources)  # within 100x of the typical source: no slip
    with pytest.raises(TargetError):
        check_units(typical * 10 ** (log_ratio + np.sign(log_ratio or 1) * 2.2), sources)


def test_rows_are_model_and_input_size():
    models = pd.DataFrame({"model": ["a", "a", "b"], "input_size": [224.0, 384.0, 224.0]},
                          index=["a", "a@384", "b"])
    rows = RowIndex.of(models)
    known = read_known(pd.DataFrame({"model": ["a", "b"], "latency_ms": ["1", "2"],
                                     "input_size": ["384", ""]}))
    m = match_known(known, rows)
    assert m.values.to_dict() == {"a@384": 1.0, "b": 2.0} and not m.skipped and not m.errors
    ambiguous = read_known(pd.DataFrame({"model": ["a"], "latency_ms": ["1"]}))
    m = match_known(ambiguous, rows)  # the primary size, and a note saying so
    assert m.values.to_dict() == {"a": 1.0} and not m.errors
    assert m.assumed == ["a at 224 px (also stored at 384)"]
    no_primary = RowIndex.of(models.set_axis(["a@224", "a@384", "b"]))
    assert match_known(ambiguous, no_primary).errors == ["known row 1: model 'a' is stored at input sizes 224, 384: give input_size"]
    # the file's name travels as a column of the table (not DataFrame.attrs, which a copy or a
    # concat may drop), so the error names it after any pandas operation
    labelled = read_known(pd.DataFrame({"model": ["a"], "latency_ms": ["1"]}), origin="phone.csv")
    copied = pd.concat([labelled.copy()], ignore_index=True)
    assert match_known(copied, no_primary).errors[0].startswith("phone.csv row 1: model 'a'")
    wrong = read_known(pd.DataFrame({"model": ["b"], "latency_ms": ["1"], "input_size": ["288"]}))
    assert match_known(wrong, rows).skipped == ["b@288"]
