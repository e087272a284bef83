"""CUDA measurement paths (torch CUDA, ORT CUDA EP); skipped on machines without a GPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible to torch")

from collectors.local.campaign import collect  # noqa: E402
from collectors.local.timing import TimingConfig  # noqa: E402
from collectors.store import open_store  # noqa: E402

BUILDERS = Path(__file__).with_name("local_builders.py")
FAST = TimingConfig(warmup_runs=3, warmup_seconds=0.1, min_runs=10, max_runs=200, max_seconds=1.0)


def _ort_cuda() -> bool:
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        return False
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def test_cuda_rows_for_torch_and_ort(tmp_path):
    runtimes = ["pytorch-eager"] + (["onnxruntime"] if _ort_cuda() else [])
    summary = collect([f"{BUILDERS}:tiny"], runtimes, [1], precisions=["fp32", "fp16"], input_size=64,
                      store=tmp_path / "store", device="cuda", timing=FAST, progress=False,
                      onnx_cache=str(tmp_path / "onnx"), timeout_s=300)
    print(summary.summary())
    assert summary.failed == 0, summary.summary()
    rows = open_store(tmp_path / "store").measurements()
    assert len(rows) == 2 * len(runtimes)
    assert set(rows.device_tier) == {"gpu"} and set(rows.compute_unit) == {"gpu"}
    assert set(rows.device) == {torch.cuda.get_device_name(0)}
    assert set(rows.precision) == {"fp32", "fp16"}
    torch_rows = rows[rows.runtime == "pytorch-eager"]
    assert set(torch_rows.memory_method) == {"cuda-max-allocated"}
    assert (rows.latency_ms > 0).all() and (rows.n_samples >= 10).all()
