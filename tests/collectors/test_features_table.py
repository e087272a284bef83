"""The features table and the ONNX operator histogram (slow path: one export)."""

from __future__ import annotations

import pandas as pd
import pytest
import timm
from torch import nn

from collectors.features import CATEGORIES, FEATURE_COLUMNS, features_frame, onnx_op_histogram, run_features
from collectors.features.onnx_ops import OnnxExportError
from collectors.features.table import expand_models


@pytest.fixture(scope="module")
def resnet18_frame() -> pd.DataFrame:
    return features_frame(["resnet18"], with_onnx=True)


def test_onnx_conv_count_equals_conv_modules(resnet18_frame):
    model = timm.create_model("resnet18", pretrained=False)
    n_conv = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    row = resnet18_frame.iloc[0]
    assert row["onnx_Conv"] == n_conv == 20
    assert row["onnx_Gemm"] == 1
    assert "onnx_Identity" not in resnet18_frame.columns  # exporter bookkeeping dropped
    # ONNX Conv count agrees with the aten trace's convolution categories
    assert row["onnx_Conv"] == sum(row[f"count_{c}"] for c in CATEGORIES if c.startswith("conv_"))


def test_frame_columns_and_keys(resnet18_frame):
    frame = resnet18_frame
    assert list(frame.columns[: len(FEATURE_COLUMNS)]) == list(FEATURE_COLUMNS)
    assert frame[["model", "input_size"]].values.tolist() == [["resnet18", 224]]
    assert frame.loc[0, "macs"] / 1e9 == pytest.approx(1.82, rel=0.01)
    assert (frame.filter(like="onnx_").dtypes == "int64").all()


def test_run_features_writes_csv_per_size(tmp_path):
    out = tmp_path / "sub" / "features.csv"
    frame = run_features(["squeezenet1_1"], out=out, with_onnx=False)
    back = pd.read_csv(out)
    assert back["model"].tolist() == ["squeezenet1_1"] and back["input_size"].tolist() == [224]
    assert back.loc[0, "flops"] == frame.loc[0, "flops"] > 0
    # MACs grow with the square of the resolution for a fully convolutional net
    small = features_frame("squeezenet1_1", input_size=[112])
    assert small["input_size"].tolist() == [112]
    ratio = frame["macs"].iloc[0] / small["macs"].iloc[0]
    assert 3.5 < ratio < 4.5


def test_expand_models_sets_lists_and_duplicates():
    ids = [e.id for e in expand_models(["seed13", "resnet18", "ResNet-18"])]
    assert len(ids) == 13 and len(set(ids)) == 13 and ids[0] == "resnet18"
    with pytest.raises(ValueError, match="not_a_model"):
        expand_models(["not_a_model"])


def test_onnx_export_failure_is_one_line_value_error():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom\nsecond line")

    with pytest.raises(OnnxExportError, match="Broken.*boom") as info:
        onnx_op_histogram(Broken(), 8)
    assert "\n" not in str(info.value)
