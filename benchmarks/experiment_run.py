"""Time ``effbench experiment run experiments/paper.yaml`` end to end on the public data.

Goal: ≤ 5 min on 2 cores (store already imported). Prints the import time (when it imports),
the time to build the study data, each analysis' seconds, MLflow logging + report, and the total.

    python benchmarks/experiment_run.py                      # imports ../shared/data into a temp store
    python benchmarks/experiment_run.py --store /tmp/store   # an already imported store
    python benchmarks/experiment_run.py --only disagreement,noise --no-mlflow
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from collectors.store import ParquetStore
from predictor.analyses import StudyData
from effbench.experiment import load_spec, run_experiment
from collectors.importers import import_public, public_data_root
from effbench.main_job import PAPER


def import_shared(root: Path, store: ParquetStore) -> float:
    start = time.perf_counter()
    import_public(root, store)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="an imported store (default: import into a temp one)")
    parser.add_argument("--spec", type=Path, default=PAPER)
    parser.add_argument("--only", help="comma-separated analyses to run (default: all in the spec)")
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow logging")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="effbench-bench-"))
    if args.store is None:
        root = public_data_root()
        if root is None:
            raise SystemExit("public data not found: set EFFBENCH_DATA or place ../shared/data")
        store = ParquetStore(work / "store")
        print(f"import of {root}: {import_shared(root, store):.1f} s")
    else:
        store = ParquetStore(args.store)
    spec = load_spec(args.spec)
    if args.only:
        wanted = set(args.only.split(","))
        for name in list(spec.analyses):
            if name not in wanted:
                spec.analyses.pop(name)
    total = time.perf_counter()
    start = time.perf_counter()
    data = StudyData.from_store(store, sources=spec.sources)
    print(f"study data (matrices): {time.perf_counter() - start:.1f} s  "
          f"({data.latency.values.shape[0]} models × {data.latency.values.shape[1]} configs)")
    start = time.perf_counter()
    result = run_experiment(spec, data=data, log=not args.no_mlflow,
                            tracking_uri=f"sqlite:///{work / 'mlflow.db'}", report_dir=work / "report")
    analyses = sum(result.seconds.values())
    for name, seconds in result.seconds.items():
        print(f"  {name:<20} {seconds:6.1f} s" + (f"  FAILED {result.errors[name]}"
                                                  if name in result.errors else ""))
    print(f"logging + evidence + report: {time.perf_counter() - start - analyses:.1f} s")
    print(f"experiment total (study data + analyses + logging + report): "
          f"{time.perf_counter() - total:.1f} s   report: {work / 'report' / 'index.html'}")


if __name__ == "__main__":
    main()
