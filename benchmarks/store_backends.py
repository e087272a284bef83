"""The two store backends side by side: Parquet folder vs PostgreSQL, on all the public data.

Per backend: importing everything (rows/s over all tables; parsing the sources is most of it),
re-importing (0 rows added), ``effbench store info`` (in-process: the read of every measurement
plus the counts), a matrix build (``matrix_from_store``), a copy *into* it from the other backend
(``copy_store``, the ``effbench store copy`` path: the store's own write speed), and two
``predict`` queries (KRT, then ``auto``; first and later calls) for a device held out of a copy. The PostgreSQL database is created for the run and dropped afterwards.

    python benchmarks/store_backends.py [--pg postgresql://root@127.0.0.1:5432] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEVICE = "Samsung Galaxy S23"


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def database(server: str):
    """A throw-away database on ``server`` (``postgresql://user@host:port``)."""
    from collectors.sqlstore import scratch_database

    return scratch_database(f"{server.rstrip('/')}/postgres", "effbench_bench")


def info(where: str) -> None:
    from typer.testing import CliRunner

    from effbench.cli import app

    result = CliRunner().invoke(app, ["store", "info", "--store", where])
    assert result.exit_code == 0, result.output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database (a database is created)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import psycopg

    from collectors.importers import import_public, public_data_root
    from collectors.store import ParquetStore, copy_store, open_store
    from predictor.matrix import matrix_from_store
    from predictor.service import predict_store

    root = public_data_root()
    if root is None:
        print("no public data (../shared/data or $EFFBENCH_DATA): nothing to measure")
        return
    try:
        psycopg.connect(f"{args.pg.rstrip('/')}/postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"no PostgreSQL at {args.pg} ({str(exc).strip().splitlines()[0]}): nothing to compare")
        return
    tmp = Path(tempfile.mkdtemp(prefix="store-backends-"))
    with database(args.pg) as full_url, database(args.pg) as held_url:
        backends = {"parquet": str(tmp / "parquet"), "postgresql": full_url}
        rows: dict[str, dict[str, float]] = {}
        for name, where in backends.items():
            store = open_store(where)
            seconds, summaries = timed(lambda: import_public(root, store))
            n = sum(sum(s.tables.values()) for s in summaries)
            again, resumm = timed(lambda: import_public(root, store))
            assert sum(sum(s.tables.values()) for s in resumm) == 0  # idempotent
            info_s, _ = timed(lambda: info(where), args.repeat)
            matrix_s, matrix = timed(lambda: matrix_from_store(store), args.repeat)
            rows[name] = {"rows": n, "import_s": seconds, "rows_per_s": n / seconds,
                          "reimport_s": again, "info_s": info_s, "matrix_s": matrix_s,
                          "shape": matrix.values.shape}

        # copies between backends (the `effbench store copy` path): PG -> Parquet of the whole
        # store, Parquet -> PG of the store without the held-out device
        source = ParquetStore(backends["parquet"])
        rows["parquet"]["copy_in_s"], _ = timed(lambda: copy_store(open_store(full_url), tmp / "copied"))
        keep = (lambda df: df.device != DEVICE)
        held = {"parquet": copy_store(source, tmp / "held", keep=keep)}
        rows["postgresql"]["copy_in_s"], held["postgresql"] = timed(
            lambda: copy_store(source, held_url, keep=keep))
        rows["parquet"]["copy_in_rows_per_s"] = rows["parquet"]["rows"] / rows["parquet"]["copy_in_s"]
        n_held = sum(len(held["postgresql"].read(t)) for t in held["postgresql"].tables())
        rows["postgresql"]["copy_in_rows_per_s"] = n_held / rows["postgresql"]["copy_in_s"]
        measured = source.measurements(device=DEVICE, runtime="tflite", precision="float")
        truth = measured.sort_values("measured_at").groupby(["model", "input_size"])["ms_per_sample"].last()
        known = truth.sample(5, random_state=1).rename("latency_ms").reset_index()
        known_csv = tmp / "known.csv"
        known.to_csv(known_csv, index=False)
        for name, store in held.items():
            for method in ("krt", "auto"):
                first, answer = timed(lambda: predict_store(store, known_csv, DEVICE, "tflite",
                                                            "float", method=method))
                later, _ = timed(lambda: predict_store(store, known_csv, DEVICE, "tflite",
                                                       "float", method=method), args.repeat)
                rows[name][f"predict_{method}_first_s"] = first
                rows[name][f"predict_{method}_s"] = later
            table = answer.table() if callable(getattr(answer, "table", None)) else answer
            rows[name]["predicted_rows"] = len(table)

    print(f"public data: {root}; PostgreSQL: {args.pg}; median of {args.repeat} where repeated")
    keys = ["rows", "import_s", "rows_per_s", "reimport_s", "info_s", "matrix_s", "shape",
            "copy_in_s", "copy_in_rows_per_s", "predict_krt_first_s", "predict_krt_s", "predict_auto_first_s",
            "predict_auto_s", "predicted_rows"]
    print(f"{'':24s}" + "".join(f"{name:>16s}" for name in rows))
    for key in keys:
        cells = []
        for name in rows:
            value = rows[name].get(key, "")
            cells.append(f"{value:16.2f}" if isinstance(value, float) and not key.endswith("rows_per_s")
                         else f"{value:16,.0f}" if key.endswith("rows_per_s") else f"{str(value):>16s}")
        print(f"{key:24s}" + "".join(cells))


if __name__ == "__main__":
    main()
