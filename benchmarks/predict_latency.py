"""How long one ``effbench predict`` takes: as a fresh process, and in-process after start-up.

Goal: ≤ 2 s per query in-process after start-up. The query is the main use case: a device the
store has never seen (one real AI Hub device is removed from a copy of the store), five of its
real measurements as ``known.csv``, KRT, ``auto``, xgboost and low-rank. The first query of a
method pays for ``auto``'s choice or the pre-training; both are kept in the store folder, so the
later ones show the steady state.

    python benchmarks/predict_latency.py [--store DIR] [--device "Samsung Galaxy S23"] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def held_out_store(source_dir: str, device: str, folder: Path):
    """A copy of the store without ``device`` and a known.csv of 5 of its tflite/float models."""
    from collectors.store import ParquetStore, copy_store

    source = ParquetStore(source_dir)
    rows = source.read()
    target = rows[(rows.device == device) & (rows.runtime == "tflite") & (rows.precision == "float")]
    truth = target.sort_values("measured_at").groupby("model")["ms_per_sample"].last()
    store = copy_store(source, folder / "store", keep=lambda df: df.device != device)
    known = truth.sample(5, random_state=1).rename("latency_ms").rename_axis("model").reset_index()
    known.to_csv(folder / "known.csv", index=False)
    return store, folder / "known.csv", truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="an imported store (effbench import ...)")
    parser.add_argument("--device", default="Samsung Galaxy S23")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    folder = Path(tempfile.mkdtemp(prefix="predict-bench-"))
    store, known, truth = held_out_store(args.store, args.device, folder)
    query = ["--store", str(store.root), "--device", args.device, "--runtime", "tflite",
             "--precision", "float", "--known", str(known)]

    exe = Path(sys.executable).with_name("effbench")
    for method in ("krt", "auto"):
        t = time.perf_counter()
        proc = subprocess.run([str(exe), "predict", *query, "--method", method,
                               "--out", str(folder / f"sub-{method}.csv")],
                              capture_output=True, text=True)
        print(f"subprocess effbench predict --method {method}: {time.perf_counter() - t:.2f} s "
              f"(exit {proc.returncode}) {proc.stdout.strip() or proc.stderr.strip()[-200:]}")

    t = time.perf_counter()
    from predictor.matrix import matrix_from_store
    from predictor.service import predict_from_known, predict_store, read_known
    import predictor.methods  # noqa: F401
    print(f"in-process start-up (imports): {time.perf_counter() - t:.2f} s")

    from predictor.metrics import spearman, within
    from models_registry import canonical_id

    for method in ("krt", "auto", "xgboost", "lowrank"):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = predict_store(store, known, args.device, "tflite", "float", method=method).table()
            times.append(time.perf_counter() - t)
        unknown = out[~out["known"]].assign(model=lambda d: d["model"].map(canonical_id))
        joined = unknown.merge(truth.rename("true").rename_axis("model").reset_index(), on="model")
        rho = spearman(joined["true"], joined["latency_ms_pred"])
        w10 = within(joined["true"].to_numpy(), joined["latency_ms_pred"].to_numpy(), 0.10)
        print(f"in-process predict_store --method {method} -> {out['method'].iloc[0]} (store read + "
              f"matrix + fit): first {times[0]:.2f} s (auto's choice / pre-training, then kept in "
              f"the store), later min {min(times[1:] or times):.2f} s, all "
              f"{[round(x, 2) for x in times]}; {len(out)} models; vs real {args.device}: "
              f"Spearman {rho:.3f}, within ±10 % {w10:.2f} on {len(joined)} models")

    t = time.perf_counter()
    matrix = matrix_from_store(store)
    print(f"matrix_from_store alone: {time.perf_counter() - t:.2f} s")
    k = read_known(known)
    for method in ("krt", "lowrank"):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            predict_from_known(matrix, k, method, None, args.device, "tflite", "float")
            times.append(time.perf_counter() - t)
        print(f"in-process predict_from_known --method {method} (matrix already built, no saved "
              f"pre-training: every call pre-trains and calibrates): "
              f"min {min(times):.2f} s")


if __name__ == "__main__":
    main()
