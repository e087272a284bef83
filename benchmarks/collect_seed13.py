"""Measure the 13 seed models × {pytorch-eager, onnxruntime} × threads {1, 2} on this machine.

Prints the campaign's wall time (goal: ≤ 15 min on the 2-core CI machine), every p50 with its
95 % CI half-width (goal: ≤ ±2 %) and drift — after the pass, configurations above ±2 % are
measured once more (``collect(remeasure_above_ci=2)``; the first pass and the final latest rows
are both counted) — and for resnet50 compares the collector's p50 with an
independent measurement taken in this process: ``torch.utils.benchmark.Timer.blocked_autorange``
for PyTorch and a bare ``InferenceSession.run`` loop for ONNX Runtime (goal: within 5 %), in
interleaved rounds (see ``compare_resnet50``).

    python benchmarks/collect_seed13.py [--store DIR] [--max-seconds 8] [--models seed13] [--rounds 5]
        [--remeasure-above-ci 2]

The store is a temporary folder unless ``--store`` is given; ONNX files are cached in
``effbench-data/cache/onnx`` so a second run skips the exports.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collectors.local.onnx_export import onnx_path  # noqa: E402  (light: the children import it)
from collectors.local.timing import TimingConfig  # noqa: E402


def independent_torch_ms(threads: int, seconds: float) -> float:
    import torch
    import torch.utils.benchmark as tb

    from collectors.modelprep import prepare_model

    torch.set_num_threads(threads)
    model, size = prepare_model("resnet50")
    x = torch.randn(1, 3, size, size)
    with torch.inference_mode():
        timer = tb.Timer("model(x)", globals={"model": model, "x": x}, num_threads=threads)
        return timer.blocked_autorange(min_run_time=seconds).median * 1e3


def independent_ort_ms(threads: int, seconds: float) -> float:
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path("resnet50", 224, 1, "fp32")), opts,
                                providers=["CPUExecutionProvider"])
    feeds = {sess.get_inputs()[0].name: np.random.default_rng(0).standard_normal(
        (1, 3, 224, 224), dtype=np.float32)}
    for _ in range(5):
        sess.run(None, feeds)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 10:
        t0 = time.perf_counter_ns()
        sess.run(None, feeds)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return statistics.median(times)


def main() -> int:
    from collectors.local.campaign import collect
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None)
    parser.add_argument("--models", default="seed13")
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the resnet50 check")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--remeasure-above-ci", type=float, default=2.0,
                        help="measure a configuration once more after the pass if its CI exceeds this "
                             "%% (0: never)")
    parser.add_argument("--compare-only", action="store_true",
                        help="skip the campaign; run only the interleaved resnet50 comparison")
    args = parser.parse_args()
    store_dir = args.store or tempfile.mkdtemp(prefix="effbench-seed13-")
    threads = [int(t) for t in args.threads.split(",")]
    timing = TimingConfig(warmup_runs=3, warmup_seconds=0.3, min_runs=10, max_seconds=args.max_seconds,
                          target_ci_pct=1.0)
    print(f"store: {store_dir}", flush=True)
    if args.compare_only:
        compare_resnet50(threads, args.rounds, min(args.max_seconds, 4.0))
        return 0
    t0 = time.perf_counter()
    summary = collect(args.models, ["pytorch-eager", "onnxruntime"], threads, store=store_dir,
                      timing=timing, progress=False,
                      remeasure_above_ci=args.remeasure_above_ci if args.remeasure_above_ci > 0 else None)
    wall = time.perf_counter() - t0
    print(summary.summary(), flush=True)
    first = {_config(r): r["ci_pct"] for r in summary.rows if not r["remeasured"]}
    final = {_config(r): r["ci_pct"] for r in summary.rows}  # the later row is the store's latest
    print(f"\nWALL TIME: {wall / 60:.1f} min for {summary.planned} configurations, "
          f"{summary.remeasured} measured again (goal <= 15 min)", flush=True)
    for label, cis in (("first pass", list(first.values())), ("final (latest row)", list(final.values()))):
        print(f"  {label:<19} CI half-width <= 2 %: {sum(c <= 2.0 for c in cis)}/{len(cis)}; median CI "
              f"{statistics.median(cis) if cis else float('nan'):.2f} %", flush=True)
    print(f"  noisy (IQR/median > 0.10) rows: {sum(bool(r['noisy']) for r in summary.rows)}", flush=True)

    drifts = [r["drift_pct"] for r in summary.rows if not math.isnan(r.get("drift_pct", math.nan))]
    if drifts:
        print(f"drift (range of 4 block medians within one run): median {statistics.median(drifts):.1f} %, "
              f"max {max(drifts):.1f} %", flush=True)
    compare_resnet50(threads, args.rounds, min(args.max_seconds, 4.0))
    return 0


def _config(row: dict) -> tuple:
    return tuple(row[k] for k in ("model", "runtime", "threads", "batch_size", "precision"))


def in_fresh_process(independent, threads: int, seconds: float) -> float:
    """Run an independent measurement in its own interpreter with the worker's thread
    environment, so that it and the collector's worker start from the same process state (a
    long-lived parent that has imported pandas/pyarrow and spawned workers is not that)."""
    from collectors.local.campaign import worker_env

    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import collect_seed13 as b; print(b.{independent.__name__}({threads}, {seconds}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=worker_env(threads))
    return float(out.stdout.strip().splitlines()[-1])


def compare_resnet50(threads: list[int], rounds: int, seconds: float) -> None:
    """Collector vs independent loop, interleaved: each round runs the collector (a fresh worker
    process, as in the campaign) and then the independent loop (also a fresh process) right
    after it, so that the two see the same machine. On a shared VM whose speed wanders by ±10 % over seconds, comparing one
    collector row taken minutes earlier with one loop measures the drift, not the harness; the
    per-round (paired) difference cancels slow drift, and the spread of the independent loop
    across rounds is the machine's own run-to-run repeatability, printed alongside."""
    from collectors.local.campaign import collect
    from collectors.store import open_store

    timing = TimingConfig(warmup_runs=3, warmup_seconds=0.3, min_runs=10, max_seconds=seconds,
                          target_ci_pct=1.0)
    print(f"\nresnet50 collector p50 vs independent loop, {rounds} interleaved rounds "
          f"({seconds:.0f} s of timing each):")
    for runtime, independent in (("pytorch-eager", independent_torch_ms),
                                 ("onnxruntime", independent_ort_ms)):
        for t in threads:
            ours, refs = [], []
            for _ in range(rounds):
                scratch = tempfile.mkdtemp(prefix="effbench-cmp-")
                collect("resnet50", [runtime], [t], store=scratch, timing=timing, progress=False)
                rows = open_store(scratch).measurements(model="resnet50")
                if rows.empty:
                    break
                ours.append(float(rows.latency_ms.iloc[-1]))
                refs.append(in_fresh_process(independent, t, seconds))
            if not ours:
                print(f"  {runtime} t{t}: the collector produced no row")
                continue
            paired = [100 * (o - r) / r for o, r in zip(ours, refs)]
            diff = statistics.median(paired)
            spread = 100 * (max(refs) - min(refs)) / statistics.median(refs)
            verdict = "OK" if abs(diff) <= 5 else "DIFFERS"
            print(f"  {runtime:<14} t{t}: collector {statistics.median(ours):8.2f} ms  independent "
                  f"{statistics.median(refs):8.2f} ms  paired diff median {diff:+.1f} % "
                  f"(rounds: {', '.join(f'{d:+.1f}' for d in paired)})  {verdict}; independent "
                  f"loop's own spread across rounds {spread:.1f} %", flush=True)


if __name__ == "__main__":
    sys.exit(main())
