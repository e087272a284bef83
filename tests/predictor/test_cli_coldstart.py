"""`effbench predict --models` for networks no stored device measured: traced, predicted from
their operator features (``basis = features``), and the rest of the request answered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from collectors.store import copy_store
from effbench.cli import app

DEVICE = "RTX 3090"
CONFIG = "RTX 3090|pytorch-eager|amp|nchw|torch 2.4.0 / cu124"
NEW = ("lcnetv2_small", "cspnext_tiny")  # timm architectures the public data never measured


@pytest.fixture(scope="module")
def cold_store(real_store, tmp_path_factory):
    """A timm-only store of 40 small models and resnet50 without the RTX 3090, the operator
    features of the 40 traced into it (enough: 40 of 41 stored models, no store trace is
    needed); a known.csv of five of them measured on the RTX 3090."""
    from collectors.features import trace_models
    from predictor.matrix import matrix_from_store

    folder = tmp_path_factory.mktemp("cold")
    full = matrix_from_store(real_store, sources=["timm"])
    truth = full.values[CONFIG].dropna()
    small = full.models.loc[truth.index]
    small = small[(pd.to_numeric(small["macs"], errors="coerce") < 2e9) & ~small.index.str.contains("@")]
    picked = small.sample(40, random_state=0)
    keep = set(picked["model"]) | {"resnet50"}  # resnet50: a stored model, predicted by transfer
    store = copy_store(real_store, folder / "store",
                       keep=lambda df: (df["source"] == "timm") & (df["device"] != DEVICE) & df["model"].isin(keep))
    trace_models(list(picked["model"]), store=store, progress=False)  # 40 of its 41 models
    known = truth.loc[picked.index[:5]].rename("latency_ms").rename_axis("model").reset_index()
    known.to_csv(folder / "known.csv", index=False)
    return store, folder / "known.csv"


def _onnx_file(folder) -> str:
    """A small network of our own, exported to ONNX: a model no store has ever heard of."""
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, stride=2), torch.nn.ReLU(),
                              torch.nn.Conv2d(16, 32, 3, stride=2), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(32, 10)).eval()
    path = folder / "my_net.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), str(path), dynamo=False)
    return str(path)


def test_models_measured_nowhere_are_predicted_from_features(cold_store, tmp_path):
    store, known = cold_store
    out = tmp_path / "preds.csv"
    onnx = _onnx_file(tmp_path)
    result = CliRunner().invoke(app, [
        "predict", "--store", str(store.root), "--device", DEVICE, "--runtime", "pytorch-eager",
        "--precision", "amp", "--known", str(known), "--method", "krt", "--out", str(out),
        "--models", ",".join([*NEW, "resnet50", "no_such_net_xyz", "test_maxvit@100", onnx])])
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out).set_index("model")
    for name in NEW:
        row = preds.loc[name]
        assert row["basis"] == "features" and np.isfinite(row["latency_ms_pred"])
        assert row["latency_ms_low"] < row["latency_ms_pred"] < row["latency_ms_high"]
    assert preds.loc["resnet50", "basis"] == "transfer"
    assert preds.loc[onnx, "basis"] == "features" and np.isfinite(preds.loc[onnx, "latency_ms_pred"])
    assert np.isnan(preds.loc["no_such_net_xyz", "latency_ms_pred"])
    assert "no_such_net_xyz" in preds.loc["no_such_net_xyz", "reason"]
    assert "could not be traced" in preds.loc["test_maxvit", "reason"]
    assert "basis = features" in result.output and "could not be predicted" in result.output
    assert "(5 known)" in result.output  # the known models count though --models hides their rows
    # the traced features are cached in the store (keyed by model and input size)
    assert set(NEW) <= set(store.read("features")["model"])


def test_a_store_not_fully_traced_traces_its_models_once_then_answers(real_store, tmp_path):
    """A main job stopped while tracing left 31 of the 35 stored models with operator features
    (under 90 %): the first cold-start request traces the rest (once, cached in the store)
    instead of fitting on what is there, and the second finds them all."""
    from collectors.features import trace_models
    from predictor.matrix import matrix_from_store

    full = matrix_from_store(real_store, sources=["timm"])
    truth = full.values[CONFIG].dropna()
    small = full.models.loc[truth.index]
    small = small[(pd.to_numeric(small["macs"], errors="coerce") < 1e9) & ~small.index.str.contains("@")]
    picked = small.sample(35, random_state=1)
    keep = set(picked["model"])
    store = copy_store(real_store, tmp_path / "store",
                       keep=lambda df: (df["source"] == "timm") & (df["device"] != DEVICE) & df["model"].isin(keep))
    assert "features" not in store.tables()
    trace_models(list(picked["model"])[:31], store=store, progress=False)
    truth.loc[picked.index[:5]].rename("latency_ms").rename_axis("model").reset_index().to_csv(
        tmp_path / "known.csv", index=False)
    args = ["predict", "--store", str(store.root), "--device", DEVICE, "--runtime", "pytorch-eager",
            "--precision", "amp", "--known", str(tmp_path / "known.csv"), "--method", "krt",
            "--models", NEW[0], "--out", str(tmp_path / "preds.csv")]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    row = pd.read_csv(tmp_path / "preds.csv").set_index("model").loc[NEW[0]]
    assert row["basis"] == "features" and np.isfinite(row["latency_ms_pred"])
    assert "traced the operator features of" in first.output
    traced = set(store.read("features")["model"])
    assert keep <= traced and NEW[0] in traced
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "traced the operator features of" not in second.output
