"""One concurrent writer of the SQL-store test: import source trees and append local rows.

Run as ``python _writers.py SPEC_JSON OUT_JSON GO_FILE``: it opens the store, says it is ready
(``OUT_JSON.ready``), waits for ``GO_FILE`` so that all writers start together, runs its plan and
writes the rows it added per table. The test runs the same plans one after another into a
Parquet store for the expected result.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd

from collectors.schema import to_frame
from collectors.store import MEASUREMENTS


def local_record(i: int, **extra) -> dict:
    """One local measurement, as ``collect`` appends it (one row per append)."""
    return dict(model=f"net{i}", device="labbox", device_tier="cpu", runtime="onnxruntime",
                precision="fp32", threads=1 + i % 2, input_size=224, latency_ms=1.0 + i / 7,
                latency_p50_ms=1.0 + i / 7, n_samples=30, noisy=bool(i % 3 == 0),
                source="local", source_ref=f"run-{i}",
                measured_at=pd.Timestamp("2025-01-01 10:00:00.123456") + pd.Timedelta(minutes=i),
                conditions=json.dumps({"i": i}), **extra)


def run_plan(store, plan: list[list]) -> dict[str, int]:
    """Import source trees, append one-row local records and failure rows; rows added per table."""
    from collectors.importers import import_aihub, import_timm

    added: dict[str, int] = {}
    for action, arg in plan:
        if action == "aihub":
            tables = import_aihub(arg, store).tables
        elif action == "timm":
            tables = import_timm(arg, store).tables
        elif action == "local":
            tables = {MEASUREMENTS: store.append(to_frame([local_record(arg)])).added}
        else:  # a failure row, as collect records one
            row = {"failure_id": f"f{arg}", "kind": "failure", "model": f"net{arg}",
                   "reason": "worker crashed", "when": pd.Timestamp("2025-01-02 03:04:05.5")}
            tables = {"failures": store.append(pd.DataFrame([row]), "failures").added}
        for table, n in tables.items():
            added[table] = added.get(table, 0) + n
    return added


def main(spec_json: str, out: str, go: str) -> None:
    from collectors.store import open_store

    spec = json.loads(spec_json)
    store = open_store(spec["store"])
    store.tables()  # connected before the start signal
    Path(out + ".ready").touch()
    while not Path(go).exists():
        time.sleep(0.01)
    Path(out).write_text(json.dumps(run_plan(store, spec["plan"])))


if __name__ == "__main__":
    main(*sys.argv[1:4])
