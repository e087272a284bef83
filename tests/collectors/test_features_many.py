"""Tracing many models: meta-device traces, ONNX files, unknown names, failures, resuming."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from collectors.features import FEATURE_COLUMNS, compute_features, resolve_targets, trace_models
from collectors.features.meta import build_on_meta
from collectors.features.onnx_graph import onnx_file_features
from collectors.features.trace import onnx_model_id
from collectors.modelprep import randomize_batchnorm
from collectors.store import ParquetStore

NUMERIC = [c for c in FEATURE_COLUMNS if c != "model"]


@pytest.mark.parametrize("name, size", [("resnet10t", 96), ("test_vit", 160), ("mobilevit_xxs", 128)])
def test_meta_trace_equals_cpu_trace(name, size):
    """The shape-only trace is the CPU trace: every feature identical (attention included)."""
    import timm

    cpu = timm.create_model(name, pretrained=False).eval()
    randomize_batchnorm(cpu)
    meta = build_on_meta(lambda: timm.create_model(name, pretrained=False))
    assert next(meta.parameters()).device.type == "meta"
    a = compute_features(cpu, size, model_id=name).to_row()
    b = compute_features(meta, size, model_id=name).to_row()
    assert {c: a[c] for c in NUMERIC} == pytest.approx({c: b[c] for c in NUMERIC}, rel=1e-9, nan_ok=True)
    assert a["flops"] > 0


def test_trace_store_and_resume(tmp_path):
    store = ParquetStore(tmp_path / "store")
    first, failures = trace_models("resnet10t,test_vit", input_size={"resnet10t": [64, 96]}, store=store,
                                   progress=False)
    assert failures.empty
    assert first[["model", "input_size"]].values.tolist() == [["resnet10t", 64], ["resnet10t", 96],
                                                             ["test_vit", 160]]  # test_vit: its own size
    assert not first["cached"].any() and set(first["traced_on"]) == {"meta"}
    # MACs of a fully convolutional net grow with the pixel count
    macs = first.set_index("input_size")["macs"]
    assert macs[96] / macs[64] == pytest.approx((96 / 64) ** 2, rel=0.1)
    stored = store.read("features")
    assert len(stored) == 3 and list(stored.columns[: len(FEATURE_COLUMNS)]) == list(FEATURE_COLUMNS)
    again, failures = trace_models(["resnet10t", "test_vit"], input_size={"resnet10t": [64, 96]}, store=store,
                                   progress=False)
    assert again["cached"].all() and failures.empty
    assert again["flops"].tolist() == first["flops"].tolist()
    assert len(store.read("features")) == 3  # nothing traced twice


def test_unknown_name_says_why_and_the_rest_answer(tmp_path):
    store = ParquetStore(tmp_path / "store")
    frame, failures = trace_models(["resnet10t", "resnet5O", "definitely_not_a_net"], input_size=64,
                                   store=store, progress=False)
    assert frame["model"].tolist() == ["resnet10t"]
    assert failures["model"].tolist() == ["resnet5O", "definitely_not_a_net"]
    assert (failures["kind"] == "unknown").all()
    assert failures["reason"].str.contains("unknown model").all()
    assert "resnet50" in failures["reason"].iloc[0]  # a close timm name is suggested
    assert store.read("failures").empty  # a typo is not a model failure: nothing recorded


def test_trace_failure_recorded_not_retried_unless_asked(tmp_path):
    """test_maxvit cannot run at 100 px (its window does not divide the feature map)."""
    store = ParquetStore(tmp_path / "store")
    frame, failures = trace_models("test_maxvit,resnet10t", input_size=100, store=store, progress=False)
    assert frame["model"].tolist() == ["resnet10t"]
    assert failures[["model", "input_size", "kind"]].values.tolist() == [["test_maxvit", 100, "trace"]]
    assert "divisible" in failures["reason"].iloc[0]
    recorded = store.read("failures")
    assert recorded[["model", "kind", "runtime"]].values.tolist() == [["test_maxvit", "trace", "features"]]
    assert json.loads(recorded["settings"].iloc[0]) == {"input_size": 100}
    _, again = trace_models("test_maxvit", input_size=100, store=store, progress=False)
    assert again["kind"].tolist() == ["trace-recorded"]
    _, retried = trace_models("test_maxvit", input_size=100, store=store, progress=False, retry_failures=True)
    assert retried["kind"].tolist() == ["trace"] and len(store.read("failures")) == 2
    ok, none = trace_models("test_maxvit", input_size=128, store=store, progress=False)
    assert none.empty and ok["flops"].iloc[0] > 0


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.pw(self.dw(x))
        return self.head(x.mean((2, 3)))


def test_onnx_file_traced_from_its_graph(tmp_path):
    model = _Tiny().eval()
    path = tmp_path / "tiny.onnx"
    with torch.no_grad():
        torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), str(path), dynamo=False, opset_version=17)
    torch_row = compute_features(model, 32).to_row()
    frame, failures = trace_models([str(path), "resnet10t"], input_size=None, store=None, progress=False)
    assert failures.empty and len(frame) == 2
    row = frame.iloc[0]
    assert row["model"] == onnx_model_id(path) and row["model"].startswith("tiny.onnx-")
    assert row["input_size"] == 32 and row["traced_on"] == "onnx"
    for c in ("flops", "flops_conv_standard", "flops_conv_depthwise", "flops_conv_pointwise",
              "flops_linear_matmul", "count_conv_depthwise", "count_conv_pointwise"):
        assert row[c] == torch_row[c], c
    assert row["params"] == torch_row["params"] - 2 * 8  # the exporter folded BatchNorm into the stem conv
    # another input size: the graph's spatial dims are overridden, MACs scale with pixels
    big = onnx_file_features(path, input_size=64)
    assert big["flops_conv_standard"] == 4 * row["flops_conv_standard"]


def test_onnx_bad_files_are_failures(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf at all")
    frame, failures = trace_models([str(broken), str(tmp_path / "missing.onnx"), "resnet10t"], input_size=64,
                                   progress=False)
    assert frame["model"].tolist() == ["resnet10t"]
    kinds = dict(zip(failures["reason"].str.contains("no such ONNX file"), failures["kind"]))
    assert kinds == {True: "unknown", False: "trace"}
    assert failures["reason"].str.contains("not a readable ONNX file").sum() == 1


def test_resolve_patterns_families_and_sets():
    targets, failures = resolve_targets("timm:resnet1*t,seed13")
    names = [t.model for t in targets]
    assert {"resnet10t", "resnet14t"} <= set(names) and "resnet50" in names and failures.empty
    fam, _ = resolve_targets("mobile_cnn")
    fam_names = {t.model for t in fam}
    assert "mobilenetv2_100" in fam_names and "resnet50" not in fam_names and len(fam_names) > 100
    _, none = resolve_targets("timm:zzz*")
    assert none["reason"].str.contains("no timm architecture").all()


def test_cli_features_command(tmp_path):
    from effbench.cli import app

    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["features", "--models", "resnet10t,nope_net", "--input-size", "64",
                                      "--store", str(store), "--out", str(tmp_path / "f.csv")])
    assert result.exit_code == 0, result.output
    assert "1 traced now" in result.output and "UNKNOWN" in result.output and "nope_net" in result.output
    assert pd.read_csv(tmp_path / "f.csv")["model"].tolist() == ["resnet10t"]
    again = CliRunner().invoke(app, ["features", "--models", "resnet10t", "--input-size", "64", "--store",
                                     str(store)])
    assert "0 traced now, 1 already stored" in again.output
    nothing = CliRunner().invoke(app, ["features", "--models", "nope_net", "--store", str(store)])
    assert nothing.exit_code == 1


def test_worker_processes_trace_the_same_rows_in_request_order(tmp_path, monkeypatch):
    """``jobs=2`` spreads the pairs over two spawned processes (here from 1 pair per worker on,
    not 16); the rows, their order, what is stored and what fails are those of one process."""
    from collectors.features import trace as trace_module

    monkeypatch.setattr(trace_module, "MIN_PAIRS_PER_WORKER", 1)
    models = "resnet10t,test_vit,mobilevit_xxs,test_maxvit,lcnetv2_small"
    sizes = {"resnet10t": [64, 96], "test_maxvit": 100}
    one, failed_one = trace_models(models, input_size=sizes, progress=False)

    def not_here(*args):
        raise AssertionError("traced in the parent process")

    # the spawned workers import the module afresh: only this process's copy refuses
    monkeypatch.setattr(trace_module, "_trace_one", not_here)
    store = ParquetStore(tmp_path / "store")
    two, failed_two = trace_models(models, input_size=sizes, store=store, progress=False, jobs=2)
    keys = ["model", "input_size"]
    assert two[keys].values.tolist() == one[keys].values.tolist()
    assert two[NUMERIC].equals(one[NUMERIC])
    assert failed_two[keys + ["kind"]].values.tolist() == failed_one[keys + ["kind"]].values.tolist() \
        == [["test_maxvit", 100, "trace"]]
    assert len(store.read("features")) == len(two) and len(store.read("failures")) == 1


def test_stored_models_are_traced_at_their_measured_sizes(tmp_path):
    """``--models stored``: every model the store measured, at each size it was measured at;
    timm's ``test_*`` dummies are not stored models (the matrix leaves them out)."""
    from collectors.features import stored_sizes
    from effbench.cli import app

    store = ParquetStore(tmp_path / "store")
    rows = pd.DataFrame({"model": ["resnet10t", "resnet10t", "resnet10t", "test_vit", "lcnetv2_small"],
                         "input_size": [64, 96, 64, 160, None], "source": "local",
                         "device": "cpu", "runtime": "torch", "precision": "fp32",
                         "ms_per_sample": [1.0, 2.0, 1.1, 3.0, 0.5], "record_id": list("abcde")})
    store.append(rows, "measurements")
    assert stored_sizes(store) == {"lcnetv2_small": [], "resnet10t": [64, 96]}
    result = CliRunner().invoke(app, ["features", "--models", "stored", "--store", str(tmp_path / "store"),
                                      "--jobs", "1"])
    assert result.exit_code == 0, result.output
    traced = store.read("features").sort_values(["model", "input_size"])
    assert traced[["model", "input_size"]].values.tolist() == [["lcnetv2_small", 224], ["resnet10t", 64],
                                                              ["resnet10t", 96]]
