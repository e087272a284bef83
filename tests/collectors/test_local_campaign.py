"""The campaign: fresh worker per configuration, failures recorded, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.local.campaign import DeviceUnavailableError, FAILURES, collect, plan, worker_env
from collectors.local.models import UnknownModelSpecError, resolve_models
from collectors.local.runtimes import UnknownRuntimeError
from collectors.local.timing import TimingConfig
from collectors.store import open_store

BUILDERS = Path(__file__).with_name("local_builders.py")
FAST = TimingConfig(warmup_runs=2, warmup_seconds=0.0, min_runs=6, max_runs=15, max_seconds=0.5)


def _models(*names: str) -> list[str]:
    return [f"{BUILDERS}:{name}" for name in names]


def test_plan_is_model_major_and_worker_env_pins_threads():
    specs = resolve_models(_models("tiny", "crash"))
    configs = plan(specs, ["pytorch-eager", "onnxruntime"], [1, 2], [1], ["fp32"], 64)
    assert [c.model.id for c in configs] == ["tiny"] * 4 + ["crash"] * 4
    import os

    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"  # a caller's setting must not reach timing
    try:
        env = worker_env(2)
    finally:
        del os.environ["MALLOC_MMAP_THRESHOLD_"]
    assert env["OMP_NUM_THREADS"] == "2"
    assert env["MALLOC_MMAP_THRESHOLD_"] == str(32 << 20) and env["MALLOC_TRIM_THRESHOLD_"] == str(64 << 20)


def test_bad_model_or_runtime_is_one_clear_line(tmp_path):
    with pytest.raises(UnknownModelSpecError, match="does not exist"):
        resolve_models(str(tmp_path / "missing.py:fn"))
    with pytest.raises(UnknownRuntimeError):
        collect(_models("tiny"), "tensorrt", store=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()  # nothing half-written
    with pytest.raises(DeviceUnavailableError):
        collect(_models("tiny"), "ort", store=tmp_path / "s", device="tpu", progress=False)


def test_failures_are_recorded_and_the_run_continues_then_resumes(tmp_path):
    store = open_store(tmp_path / "store")
    common = dict(store=store, input_size=64, timing=FAST, progress=False, device="cpu",
                  onnx_cache=str(tmp_path / "onnx"))
    # crash and unexportable come first: the good model after them must still be measured
    summary = collect(_models("crash", "unexportable", "tiny"), "onnxruntime", [1], timeout_s=300, **common)
    hung = collect(_models("hang"), "onnxruntime", [1], timeout_s=3, **common)
    assert (summary.measured, summary.failed, hung.failed) == (1, 2, 1)
    failures = store.read(FAILURES).set_index("model")
    assert "worker crashed" in failures.loc["crash", "reason"]
    assert failures.loc["unexportable", "reason"].startswith("export failed")
    assert "refuses ONNX export" in failures.loc["unexportable", "stderr_tail"]
    assert failures.loc["hang", "reason"].startswith("timeout")
    assert json.loads(failures.loc["crash", "settings"]) == {"batch_size": 1, "input_size": 64, "precision": "fp32", "threads": 1}
    rows = store.measurements(source="local")
    assert list(rows.model) == ["tiny"] and rows.runtime.iloc[0] == "onnxruntime"
    assert rows.input_size.iloc[0] == 64 and rows.threads.iloc[0] == 1

    again = collect(_models("crash", "unexportable", "tiny", "hang"), "ort", [1], timeout_s=300, **common)
    assert again.ran == 0 and again.already_stored == 4
    assert len(store.measurements()) == 1 and len(store.read(FAILURES)) == 3
    assert "4 already stored" in again.summary()


def test_not_installed_runtime_is_a_recorded_skip(tmp_path):
    summary = collect(_models("tiny"), "litert", [1], store=tmp_path / "s", input_size=64, timing=FAST,
                      progress=False, device="cpu")
    from collectors.local.runtimes import REGISTRY

    if REGISTRY["litert"].installed():
        pytest.skip("ai-edge-litert installed here")
    assert summary.skipped == 1 and summary.ran == 0
    assert open_store(tmp_path / "s").read(FAILURES).kind.tolist() == ["skip"]


def test_onnx_worker_with_a_cached_export_never_imports_torch(tmp_path):
    store = open_store(tmp_path / "store")
    common = dict(store=store, input_size=64, timing=FAST, progress=False, device="cpu",
                  onnx_cache=str(tmp_path / "onnx"))
    collect(_models("tiny"), "onnxruntime", [1], **common)   # exports: builds the module
    collect(_models("tiny"), "onnxruntime", [2], **common)   # reads the cached file only
    rows = store.measurements(source="local").sort_values("threads")
    conditions = [json.loads(c) for c in rows.conditions]
    assert "torch_threads" in conditions[0] and "torch_threads" not in conditions[1]
    assert rows.threads.tolist() == [1, 2] and (rows.latency_ms > 0).all()
    # the allocator setting the worker timed under is part of the record
    assert conditions[1]["env"]["MALLOC_MMAP_THRESHOLD_"] == str(32 << 20)


def test_unsteady_configurations_are_measured_again_and_both_rows_kept(tmp_path):
    store = open_store(tmp_path / "store")
    common = dict(store=store, input_size=64, timing=FAST, progress=False, device="cpu",
                  onnx_cache=str(tmp_path / "onnx"))
    # 15 runs at most: the median's CI is never within ±0 %, so the configuration runs twice
    summary = collect(_models("tiny"), "onnxruntime", [1], remeasure_above_ci=0.0, **common)
    assert (summary.measured, summary.remeasured) == (1, 1)
    assert [r["remeasured"] for r in summary.rows] == [False, True]
    assert "1 measured again" in summary.summary()
    rows = store.measurements(source="local").sort_values("measured_at")
    assert len(rows) == 2 and rows.measured_at.is_unique
    latest = store.measurements(source="local", latest=True)
    assert len(latest) == 1 and latest.measured_at.iloc[0] == rows.measured_at.iloc[-1]
    # a generous threshold measures nothing twice; a resumed call measures nothing at all
    calm = collect(_models("tiny"), "onnxruntime", [2], remeasure_above_ci=1e9, **common)
    assert (calm.measured, calm.remeasured) == (1, 0)
    again = collect(_models("tiny"), "onnxruntime", [1, 2], remeasure_above_ci=0.0, **common)
    assert again.ran == 0 and again.remeasured == 0
