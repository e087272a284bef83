"""The PostgreSQL store keeps the Parquet store's contract, under concurrent writers too.

Every test runs against a real PostgreSQL (a fresh database per session, see ``tests/_pg.py``) and
compares with a Parquet store fed the same appends: same rows, same order, same dtypes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _pg import fresh_database
from _writers import local_record, run_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from collectors.schema import COLUMNS, to_frame
from collectors.store import MEASUREMENTS, ParquetStore, StoreError, copy_store, open_store, store_path
from collectors.sqlstore import SQLStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pg_db():
    with fresh_database("store") as url:
        yield url


_schemas = iter(range(10**6))


@pytest.fixture
def pg(pg_db) -> SQLStore:
    """An empty SQL store of its own: a fresh PostgreSQL schema in the session's database."""
    import psycopg

    name = f"s{next(_schemas)}_{int(time.time() * 1000) % 10**8}"
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    store = SQLStore(f"{pg_db}?options=-csearch_path%3D{name}")
    store.plain_url = f"{pg_db}?options=-csearch_path%3D{name}"  # for subprocesses and the CLI
    yield store
    store.dispose()


def test_round_trip_equals_parquet_and_second_append_adds_nothing(pg, tmp_path):
    pq = ParquetStore(tmp_path / "pq")
    frame = to_frame([local_record(i) for i in range(20)])
    for store in (pg, pq):
        first = store.append(frame)
        assert (first.added, first.skipped_existing) == (20, 0)
        again = store.append(pd.concat([frame.iloc[5:], frame.iloc[:2]]))
        assert (again.added, again.skipped_existing) == (0, 17)
    got = pg.read()
    pd.testing.assert_frame_equal(got, pq.read())
    assert dict(got.dtypes.astype(str)) == {c: str(pd.Series(dtype=t).dtype) for c, t in COLUMNS.items()}
    assert got["measured_at"].iloc[3] == pd.Timestamp("2025-01-01 10:03:00.123456")
    assert pg.tables() == pq.tables() == [MEASUREMENTS]
    # columns subset and filters, as the Parquet store
    pd.testing.assert_frame_equal(pg.read(MEASUREMENTS, columns=["record_id", "threads"]),
                                  pq.read(MEASUREMENTS, columns=["record_id", "threads"]))
    for kw in ({"threads": 2}, {"model": ["net1", "net4", "nope"]}, {"noisy": True}, {}):
        pd.testing.assert_frame_equal(pg.measurements(latest=True, **kw), pq.measurements(latest=True, **kw))


def test_latest_view_and_history_as_parquet(pg, tmp_path):
    pq = ParquetStore(tmp_path / "pq")
    old = local_record(1)
    new = {**local_record(1), "latency_ms": 9.0, "latency_p50_ms": 9.0, "source_ref": "rerun",
           "measured_at": pd.Timestamp("2025-02-01")}
    first, second = to_frame([old]), to_frame([new, local_record(2)])
    for store in (pg, pq):
        store.append(first)
        store.append(second)
    for latest in (False, True):
        pd.testing.assert_frame_equal(pg.measurements(latest=latest), pq.measurements(latest=latest))
    assert pg.measurements(latest=True).set_index("model").loc["net1", "latency_ms"] == 9.0
    assert len(pg.measurements()) == 3


def test_auxiliary_tables_grow_columns_and_round_trip(pg, tmp_path):
    pq = ParquetStore(tmp_path / "pq")
    first = pd.DataFrame({"model": ["a", "b"], "input_size": [224, 256], "note": [None, None]})
    second = pd.DataFrame({"model": ["b", "c"], "input_size": [256, 224], "note": ["x", ""],
                           "flops": [1.5, np.nan], "ok": [True, False],
                           "when": pd.to_datetime(["2024-05-01 00:00", "2024-06-01 12:00"])})
    for store in (pg, pq):
        assert store.append(first, "features").added == 2
        result = store.append(second, "features")
        assert (result.added, result.skipped_existing) == (1, 1)
    got, want = pg.read("features"), pq.read("features")
    pd.testing.assert_frame_equal(got, want)
    assert got["note"].tolist()[2] == "" and pd.isna(got["note"].iloc[0])  # '' is not null
    # (the Parquet store cannot read a column that its first part file lacks: compare with a full read)
    pd.testing.assert_frame_equal(pg.read("features", columns=["flops", "model"]),
                                  want[["flops", "model"]])
    # a table without a key keeps every row
    for store in (pg, pq):
        store.append(pd.DataFrame({"x": [1, 1]}), "notes")
        store.append(pd.DataFrame({"x": [1]}), "notes")
    pd.testing.assert_frame_equal(pg.read("notes"), pq.read("notes"))
    assert pg.tables() == pq.tables() == ["features", "notes"]


def test_bad_appends_change_nothing(pg):
    pg.append(pd.DataFrame({"model": ["a"], "input_size": [224], "gmacs": [1.0]}), "timm_macs")
    with pytest.raises(StoreError, match="lack key column"):
        pg.append(pd.DataFrame({"model": ["b"]}), "timm_macs")
    with pytest.raises(StoreError, match="column 'gmacs' is large_string, stored as double"):  # all or nothing
        pg.append(pd.DataFrame({"model": ["c", "d"], "input_size": [1, 2], "gmacs": ["2", "x"]}),
                  "timm_macs")
    with pytest.raises(StoreError, match="table name"):
        pg.append(pd.DataFrame({"x": [1]}), "Bad Name")
    with pytest.raises(StoreError, match="no column"):
        pg.read("timm_macs", columns=["nope"])
    assert pg.read("timm_macs")["model"].tolist() == ["a"]
    assert pg.read("absent").empty and list(pg.read().columns) == list(COLUMNS)


def test_unreachable_database_is_one_line():
    store = SQLStore("postgresql://nobody:secret@127.0.0.1:5432/effbench_no_such_db")
    with pytest.raises(StoreError) as info:
        store.tables()
    assert "secret" not in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("postgresql://nobody:***@127.0.0.1:5432/effbench_no_such_db:")


def test_open_store_dispatch(monkeypatch, tmp_path):
    url = "postgresql://root@127.0.0.1:5432/test"
    assert isinstance(open_store(url), SQLStore)
    assert isinstance(open_store(Path(url)), SQLStore)  # typer's Path folds the '//'
    assert open_store(Path(url)).url == url
    assert isinstance(open_store(tmp_path / "s"), ParquetStore)
    monkeypatch.setenv("EFFBENCH_STORE", url)
    assert store_path() == url and isinstance(open_store(), SQLStore)
    assert isinstance(open_store(tmp_path), ParquetStore)  # --store wins over the environment
    monkeypatch.setenv("EFFBENCH_STORE", str(tmp_path / "s"))
    assert store_path() == tmp_path / "s"


_cell = st.one_of(st.none(), st.integers(-2**40, 2**40), st.floats(allow_nan=False, width=64),
                  st.text(max_size=8), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from([1, 2]),
                                           st.sampled_from(["int", "float", "text", "bool"]),
                                           st.integers(0, 50)), min_size=1, max_size=6),
                        min_size=1, max_size=3))
def test_any_sequence_of_keyed_appends_reads_as_parquet(pg, tmp_path_factory, batches):
    """Keyed appends of frames with int/float/text/bool/null columns: both backends agree."""
    pq = ParquetStore(tmp_path_factory.mktemp("pq"))
    table = f"t{next(_schemas)}"
    for batch in batches:
        rows = []
        for model, size, kind, value in batch:
            column = f"c_{kind}"
            cell = {"int": value, "float": value / 3, "text": f"v{value}" if value else "",
                    "bool": value % 2 == 0}[kind]
            rows.append({"model": model, "input_size": size, column: cell})
        frame = pd.DataFrame(rows)
        for column in frame.columns:  # one dtype per column and batch, as importers build them
            if column == "c_int":
                frame[column] = frame[column].astype("Int64")
            elif column == "c_bool":
                frame[column] = frame[column].astype("boolean")
        results = [store.append(frame, table) for store in (pg, pq)]
        assert results[0] == results[1]
    pd.testing.assert_frame_equal(pg.read(table), pq.read(table))


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def subset(shared_data, tmp_path_factory) -> dict[str, Path]:
    """A few AI Hub model folders and one timm CSV (+ accuracy), as small real source trees."""
    root = tmp_path_factory.mktemp("subset")
    aihub = root / "aihub"
    (aihub / "perf").mkdir(parents=True)
    (aihub / "info").mkdir()
    manifest = pd.read_csv(shared_data / "aihub" / "manifest.csv")
    folders = ["mobilenet_v2", "resnet18", "squeezenet1_1"]
    manifest[manifest.model_dir.isin(folders)].to_csv(aihub / "manifest.csv", index=False)
    for folder in folders:
        (aihub / "perf" / folder).symlink_to(shared_data / "aihub" / "perf" / folder)
        info = shared_data / "aihub" / "info" / f"{folder}.yaml"
        if info.exists():
            (aihub / "info" / info.name).symlink_to(info)
    timm = root / "timm"
    timm.mkdir()
    for name in ("SOURCE", "results-imagenet.csv", "model_metadata-in1k.csv",
                 "benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv"):
        (timm / name).symlink_to(shared_data / "timm" / name)
    return {"aihub": aihub, "timm": timm, "folders": folders}


def _plans(subset) -> list[list[list]]:
    a = [str(subset["aihub"])]
    plans = []
    for p in range(4):
        plan = [["aihub", a[0]]] if p != 1 else []
        plan += [["timm", str(subset["timm"])]] if p in (1, 2) else []
        for i in range(p * 8, p * 8 + 16):  # neighbours overlap by half
            plan.append(["local", i])
            if i % 4 == 0:
                plan.append(["failure", i])
        plans.append(plan[::-1] if p % 2 else plan)
    return plans


@pytest.mark.slow
def test_four_concurrent_writers_lose_nothing_and_duplicate_nothing(pg, subset, tmp_path):
    plans = _plans(subset)
    reference = ParquetStore(tmp_path / "reference")
    for plan in plans:
        run_plan(reference, plan)
    procs, outs = [], []
    for p, plan in enumerate(plans):
        out = tmp_path / f"worker{p}.json"
        outs.append(out)
        procs.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_writers.py")),
             json.dumps({"store": pg.plain_url, "plan": plan}), str(out), str(tmp_path / "go")],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}))
    deadline = time.time() + 120
    while not all(Path(f"{o}.ready").exists() for o in outs):
        assert time.time() < deadline and all(p.poll() is None for p in procs), "a worker died"
        time.sleep(0.05)
    (tmp_path / "go").touch()  # all four start together
    assert [p.wait(timeout=240) for p in procs] == [0, 0, 0, 0]
    added = [json.loads(o.read_text()) for o in outs]
    for table in reference.tables():
        want, got = reference.read(table), pg.read(table)
        assert len(got) == len(want), table  # 0 lost
        assert sum(a.get(table, 0) for a in added) == len(want), table  # each row added once
        key = {"measurements": ["record_id"], "accuracy": ["model", "source_model", "source", "img_size"],
               "timm_macs": ["model", "input_size"], "failures": ["failure_id"]}[table]
        assert not got.duplicated(key).any(), table  # 0 duplicates
        drop = [c for c in ("imported_at",) if c in want]
        order = lambda df: df.drop(columns=drop).sort_values(key).reset_index(drop=True)  # noqa: E731
        pd.testing.assert_frame_equal(order(got), order(want))
    assert set(pg.tables()) == set(reference.tables()) == {"measurements", "accuracy", "timm_macs", "failures"}
    assert len(pg.measurements(source="aihub")) > 100 and len(pg.measurements(source="local")) == 40


@pytest.mark.slow
def test_store_copy_round_trip_parquet_pg_parquet(real_store, pg, tmp_path):
    from effbench.cli import app

    url = pg.plain_url
    runner = CliRunner()
    first = runner.invoke(app, ["store", "copy", str(real_store.root), url])
    assert first.exit_code == 0, first.output
    assert "measurements: " in first.output and "added)" in first.output
    again = runner.invoke(app, ["store", "copy", str(real_store.root), url])
    assert again.exit_code == 0 and again.output.count("(0 added)") == len(real_store.tables())
    back = runner.invoke(app, ["store", "copy", url, str(tmp_path / "back")])
    assert back.exit_code == 0, back.output
    returned = ParquetStore(tmp_path / "back")
    assert returned.tables() == real_store.tables() == pg.tables()
    for table in real_store.tables():
        pd.testing.assert_frame_equal(returned.read(table), real_store.read(table))
        pd.testing.assert_frame_equal(pg.read(table), real_store.read(table))
    m = returned.read()
    assert list(m.columns) == list(COLUMNS)
    assert {c: str(m[c].dtype) for c in COLUMNS} == {c: str(pd.Series(dtype=t).dtype) for c, t in COLUMNS.items()}
    pd.testing.assert_frame_equal(pg.measurements(latest=True, source="timm"),
                                  real_store.measurements(latest=True, source="timm"))
    info = runner.invoke(app, ["store", "info", "--store", url])
    assert info.exit_code == 0 and f"{len(m)} measurements" in info.output


def test_store_cli_errors(tmp_path, pg):
    from effbench.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["store", "info", "--store", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such store folder" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    down = runner.invoke(app, ["store", "info", "--store", "postgresql://root@127.0.0.1:5432/effbench_absent_db"])
    assert down.exit_code == 2 and "effbench_absent_db" in down.output
    url = pg.plain_url
    empty = runner.invoke(app, ["store", "copy", url, str(tmp_path / "x")])
    assert empty.exit_code == 2 and "nothing stored" in empty.output
    same = runner.invoke(app, ["store", "copy", str(tmp_path), str(tmp_path)])
    assert same.exit_code == 2 and "same store" in same.output
    assert not (tmp_path / "x").exists()
