"""A 3-model CUDA collect for ``gpu_check.sh``: prints the summary and writes CSVs to ``$OUT``.

    python benchmarks/gpu_collect.py OUT_DIR [--models resnet18,mobilenetv2_100,squeezenet1_1]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.local.campaign import collect  # noqa: E402
from collectors.local.timing import TimingConfig  # noqa: E402
from collectors.store import open_store  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--models", default="resnet18,mobilenetv2_100,squeezenet1_1")
    parser.add_argument("--max-seconds", type=float, default=1.5)
    parser.add_argument("--budget-s", type=float, default=120.0,
                        help="start no new model after this many seconds (the store keeps what is done)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = args.models
    if importlib.util.find_spec("timm") is None:
        print("timm missing: measuring the tests' tiny conv net instead of registry models")
        models = f"{ROOT / 'tests' / 'collectors' / 'local_builders.py'}:tiny"
    runtimes = ["pytorch-eager"]
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        import onnxruntime as ort

        print("onnxruntime", ort.__version__, "providers", ort.get_available_providers())
        if "CUDAExecutionProvider" in ort.get_available_providers():
            runtimes.append("onnxruntime")
    else:
        print("onnxruntime/onnx missing: ORT-CUDA not measured")
    work = Path(tempfile.mkdtemp(prefix="effbench-gpu-"))
    timing = TimingConfig(warmup_runs=5, warmup_seconds=0.3, min_runs=20, max_seconds=args.max_seconds)
    t0 = time.perf_counter()
    measured = 0
    for model in models.split(","):  # one model at a time, so a budget overrun keeps what is done
        if time.perf_counter() - t0 > args.budget_s:
            print(f"budget of {args.budget_s:.0f} s spent: {model} not measured")
            continue
        summary = collect(model, runtimes, [1], precisions=["fp32", "fp16"], store=out / "store",
                          device="cuda", timing=timing, progress=False, onnx_cache=str(work / "onnx"),
                          timeout_s=120)
        measured += summary.measured
        print(summary.summary(), flush=True)
    print(f"wall {time.perf_counter() - t0:.1f} s")
    store = open_store(out / "store")
    store.measurements().to_csv(out / "gpu_measurements.csv", index=False)
    store.read("failures").to_csv(out / "gpu_failures.csv", index=False)
    print(f"wrote {out / 'gpu_measurements.csv'} and {out / 'gpu_failures.csv'}")
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
