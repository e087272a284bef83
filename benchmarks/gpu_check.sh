#!/usr/bin/env bash
# GPU check for the local collector (<= 5 min), run from the repo root on a bare CUDA machine:
#     OUT=/some/dir bash benchmarks/gpu_check.sh
# Prints nvidia-smi and torch/CUDA versions, runs the CUDA tests, then a 3-model CUDA collect
# (pytorch-eager, plus onnxruntime when its CUDA EP exists; fp32 and fp16) and writes
# $OUT/gpu_measurements.csv, $OUT/gpu_failures.csv and $OUT/gpu_check.log.
# It installs nothing unless a module is missing, and then only tries pip (the machine may be
# offline: a failed install is reported and the affected step is skipped, never hidden).
set -u
OUT="${OUT:-/tmp/effbench-gpu-out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
cd "$(dirname "$0")/.."
exec > >(tee "$OUT/gpu_check.log") 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONWARNINGS=ignore

echo "== nvidia-smi"; nvidia-smi || echo "nvidia-smi not found"
echo "== python"; "$PY" --version
echo "== torch"
if ! "$PY" -c "import torch; print(torch.__version__, torch.cuda.is_available(), torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-')"; then
    echo "TORCH MISSING: '$PY' cannot import torch; install a CUDA build of torch first. Nothing measured."
    exit 3
fi

missing() {  # prints the distributions whose modules are not importable
    "$PY" - "$@" <<'PYEOF'
import importlib.util, sys
dists = {"pandas": "pandas", "pyarrow": "pyarrow", "filelock": "filelock", "scipy": "scipy",
         "rich": "rich", "numpy": "numpy", "pytest": "pytest", "hypothesis": "hypothesis",
         "timm": "timm", "onnx": "onnx", "onnxruntime": "onnxruntime-gpu"}
print(" ".join(d for m, d in dists.items() if m in sys.argv[1:] and importlib.util.find_spec(m) is None))
PYEOF
}
NEED=$(missing pandas pyarrow filelock scipy rich numpy pytest hypothesis timm onnx onnxruntime)
if [ -n "$NEED" ]; then
    echo "== missing: $NEED -- trying pip (45 s cap)"
    timeout 45 "$PY" -m pip install -q $NEED || echo "pip install failed (offline?): $NEED"
fi
STILL=$(missing pandas pyarrow filelock scipy rich numpy)
if [ -n "$STILL" ]; then
    echo "REQUIRED MODULES MISSING: $STILL -- the collector cannot run here."
    exit 4
fi

echo "== CUDA tests"
if [ -z "$(missing pytest)" ]; then
    timeout 110 "$PY" -m pytest -q -p no:cacheprovider tests/collectors/test_local_cuda.py -rs -s \
        || echo "CUDA TESTS FAILED OR TIMED OUT (rc=$?)"
else
    echo "pytest missing: CUDA tests skipped"
fi

echo "== 3-model CUDA collect"
timeout 150 "$PY" benchmarks/gpu_collect.py "$OUT" --budget-s 120 || echo "GPU COLLECT FAILED OR TIMED OUT (rc=$?)"
ls -l "$OUT"
