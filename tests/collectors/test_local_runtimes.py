"""Runtime adapters and the worker's record, run in-process (no subprocess start-up cost)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from collectors.local.runtimes import (ALIASES, REGISTRY, RUNTIMES, UnknownRuntimeError,
                                       openvino_precision, parse_runtimes)
from collectors.local.worker import measure_spec
from collectors.schema import to_frame

BUILDERS = Path(__file__).with_name("local_builders.py")
FAST = {"warmup_runs": 2, "warmup_seconds": 0.0, "min_runs": 6, "max_runs": 15, "max_seconds": 0.5}


def test_parse_runtimes_aliases_order_and_dedup():
    assert parse_runtimes("torch,ort,ov") == ["pytorch-eager", "onnxruntime", "openvino"]
    assert parse_runtimes(["TFLite", "compile", "onnx", "onnxruntime"]) == [
        "litert", "pytorch-compile", "onnxruntime"]
    assert set(ALIASES.values()) == set(RUNTIMES) == set(REGISTRY)


@pytest.mark.parametrize("bad", ["tensorrt", "", " , "])
def test_parse_runtimes_rejects_unknown_in_one_line(bad):
    with pytest.raises(UnknownRuntimeError) as err:
        parse_runtimes(bad)
    assert "\n" not in str(err.value)


def test_openvino_precision_names():
    assert openvino_precision("<Type: 'float32'>") == "fp32"
    assert openvino_precision("bf16") == "bf16"


def test_litert_is_a_recorded_skip_when_not_installed():
    litert = REGISTRY["litert"]
    if litert.installed():
        pytest.skip("ai-edge-litert is installed here")
    assert litert.check("cpu", "fp32").startswith("not installed")


def test_unsupported_precision_is_reported_not_raised():
    assert REGISTRY["pytorch-eager"].check("cpu", "fp16").startswith("unsupported")
    assert REGISTRY["openvino"].check("cuda", "fp32").startswith("unsupported")


def _spec(runtime: str, tmp_path: Path, ref: str = f"{BUILDERS}:tiny", model_id: str = "tiny",
          input_size: int = 64) -> dict:
    return {"model_id": model_id, "ref": ref, "family": None, "runtime": runtime, "device": "cpu",
            "threads": 1, "batch_size": 1, "precision": "fp32", "input_size": input_size,
            "onnx_cache": str(tmp_path / "onnx"), "timing": FAST}


@pytest.mark.parametrize("runtime,method", [
    ("pytorch-eager", "torch.profiler-live-tensors"),
    ("onnxruntime", "ort-profiling"),
    ("openvino", "rss-hwm-delta"),
    ("pytorch-compile", "rss-hwm-delta"),
    ("litert", "rss-hwm-delta-incl-arena"),  # the optional extra: runs where ai-edge-litert is installed
])
def test_each_runtime_produces_a_valid_schema_row(runtime, method, tmp_path):
    if not REGISTRY[runtime].installed():
        pytest.skip(f"{runtime} not installed")
    if runtime == "pytorch-compile" and not (shutil.which("c++") or shutil.which("g++")):
        pytest.skip("torch.compile (inductor) needs a C++ compiler on CPU")
    record = measure_spec(_spec(runtime, tmp_path))
    df = to_frame([record], origin="test")
    row = df.iloc[0]
    assert row.runtime == runtime and row.source == "local" and row.device_tier == "cpu"
    assert row.latency_ms == row.latency_p50_ms <= row.latency_p99_ms
    assert row.n_samples >= 6 and row.threads == 1 and row.input_size == 64
    assert row.memory_method == method and row.peak_memory_mb >= 0
    assert row.runtime_version and row.device
    conditions = json.loads(row.conditions)
    assert conditions["precision_used"] == "fp32" and conditions["requested_threads"] == 1
    assert {"load_before", "load_after", "libraries", "ci_half_width_pct", "warmup_runs"} <= set(conditions)


def test_registry_model_through_onnxruntime_at_small_input(tmp_path):
    pytest.importorskip("timm")
    record = measure_spec(_spec("onnxruntime", tmp_path, ref="resnet18", model_id="resnet18", input_size=96))
    row = to_frame([record], origin="test").iloc[0]
    assert row.model == "resnet18"
    # resnet18 at 96 px: the largest activations are 64x48x48 fp32 (0.56 MB); ORT's arena peak
    # must be at least that and far below the weights (45 MB), which it does not count.
    assert 0.5 < row.peak_memory_mb < 40
    assert (tmp_path / "onnx" / "resnet18-96px-b1-fp32.onnx").is_file()


_PROBE = r"""
import numpy as np
from collectors.local import memory

size = 8 << 20
for _ in range(3):  # warm the heap: glibc now serves 8 MB from memory it already holds
    a = np.ones(size, dtype=np.uint8); del a
memory.reset_rss_hwm()
before = memory._status_kb("VmRSS")
a = np.ones(size, dtype=np.uint8); del a
plain = (memory._status_kb("VmHWM") - before) / 1024
probe = memory.rss_hwm_delta(lambda: np.ones(size, dtype=np.uint8))
print(plain, probe.peak_mb, probe.detail["large_buffers_mmapped"])
"""


def test_rss_probe_sees_buffers_the_heap_would_hide():
    import subprocess
    import sys

    from collectors.local import memory

    if memory._libc() is None or memory._status_kb("VmHWM") is None:
        pytest.skip("needs glibc and /proc (Linux)")
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    plain, probed, mmapped = map(float, out.stdout.split())
    assert plain < 1.0        # a warmed heap hides an 8 MB buffer from RSS ...
    assert probed >= 7.5      # ... the probe's lowered mmap threshold shows it
    assert mmapped == 1.0
