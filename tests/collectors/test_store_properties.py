"""Properties of the Parquet store the importers rely on: appends are idempotent and
order-independent (the stored set is the union), and concurrent writers neither corrupt the
store nor duplicate a record."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.schema import to_frame
from collectors.store import ParquetStore


def frame(keys: list[int], tag: str = "") -> pd.DataFrame:
    """One measurement per key; the record identity is the key (record_key), not the tag."""
    return to_frame([{
        "model": f"m{k % 7}", "device": f"d{k % 3}", "device_tier": "edge", "runtime": "tflite",
        "precision": "float", "latency_ms": 1.0 + k, "source": "aihub",
        "source_ref": f"test {tag}", "measured_at": "2024-01-01", "record_key": f"job {k}",
    } for k in keys])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.integers(0, 40), max_size=15), min_size=1, max_size=4))
def test_appends_store_the_union_once(tmp_path_factory, batches):
    store = ParquetStore(tmp_path_factory.mktemp("store"))
    added = 0
    for batch in batches:
        added += store.append(frame(batch)).added
    union = set().union(*map(set, batches))
    stored = store.measurements()
    assert added == len(stored) == len(union)
    assert not stored["record_id"].duplicated().any()
    assert set(stored["latency_ms"].astype(int) - 1) == union
    # replaying every batch adds nothing
    assert sum(store.append(frame(b)).added for b in batches) == 0


def _writer(root: str, keys: list[int], tag: str, chunk: int) -> None:
    store = ParquetStore(root)
    for start in range(0, len(keys), chunk):
        store.append(frame(keys[start:start + chunk], tag))


def test_concurrent_writers_store_the_union_without_duplicates(tmp_path: Path):
    a, b = list(range(0, 300)), list(range(150, 450))  # overlap 150..299
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), keys, tag, 25))
             for keys, tag in ((a, "a"), (b[::-1], "b"))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    stored = ParquetStore(tmp_path).measurements()
    assert len(stored) == 450
    assert not stored["record_id"].duplicated().any()
    assert sorted(stored["latency_ms"].astype(int) - 1) == list(range(450))
    assert not list(tmp_path.rglob("*.tmp"))  # no half-written part left behind


def test_reading_a_column_that_older_parts_lack(tmp_path):
    """A table that gained a column later: reading that column gives nulls for the old rows."""
    import pandas as pd

    from collectors.store import ParquetStore

    store = ParquetStore(tmp_path)
    store.append(pd.DataFrame({"model": ["a"], "input_size": [224]}), "features")
    store.append(pd.DataFrame({"model": ["b"], "input_size": [224], "flops": [1.0e9]}), "features")
    got = store.read("features", columns=["model", "flops"]).sort_values("model")
    assert list(got.columns) == ["model", "flops"]
    assert got["flops"].isna().tolist() == [True, False]
    assert store.read("features", columns=["model", "never"])["never"].isna().all()
