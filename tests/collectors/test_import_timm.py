"""timm importer on the real results CSVs (../shared/data/timm) and on small copies.

The expected row count was checked independently: 19,007 data lines over the 14
benchmark-infer-*.csv files (``tail -n +2 | wc -l``), of which exactly 2 have empty
samples/s and step time (eva02_enormous_patch14_clip_224 and vit_huge_patch16_gap_448 in
one file), so 19,005 measurements.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from collectors.importers import DataImportError, import_timm, read_timm
from collectors.importers.timm import parse_file_name
from collectors.store import ParquetStore


@pytest.fixture(scope="module")
def timm_rows(real_store) -> pd.DataFrame:
    return real_store.measurements(source="timm")


def test_row_count_matches_the_csv_lines(shared_data, timm_rows):
    files = sorted((shared_data / "timm").glob("benchmark-infer-*.csv"))
    lines = sum(len(f.read_text().splitlines()) - 1 for f in files)
    assert len(files) == 14 and lines == 19_007
    assert len(timm_rows) == 19_005
    assert not timm_rows["record_id"].duplicated().any()
    per_file = timm_rows["source_ref"].str.extract(r"results/(\S+)@")[0].value_counts()
    assert per_file["benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv"] == 932


def test_spot_row_resnet50_rtx3090(timm_rows):
    # benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv line 244:
    # resnet50,3025.4,338.455,1024,224,4.11,11.11,25.56
    rows = timm_rows[timm_rows["source_ref"].str.contains(
        "benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv@aa4b5850 line 244$")]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["model"], row["source_model"], row["device"], row["device_tier"]) == (
        "resnet50", "resnet50", "RTX 3090", "gpu")
    assert row["latency_ms"] == pytest.approx(338.455)
    assert row["ms_per_sample"] == pytest.approx(1000 / 3025.4)
    assert (row["batch_size"], row["input_size"]) == (1024, 224)
    assert (row["precision"], row["layout"], row["runtime"]) == ("amp", "nchw", "pytorch-eager")
    assert row["runtime_version"] == "torch 1.13 / cu117"
    assert row["measured_at"] == pd.Timestamp("2022-12-15")


def test_file_name_parsing():
    cases = {
        "benchmark-infer-amp-nhwc-pt240-cu124-rtx4090.csv": ("RTX 4090", "gpu", "nhwc", "pytorch-eager"),
        "benchmark-infer-amp-nchw-pt291-cu128-4090-dynamo.csv": ("RTX 4090", "gpu", "nchw", "pytorch-compile"),
        "benchmark-infer-fp32-nchw-pt221-cpu-i9_10940x-dynamo.csv": ("i9-10940X", "cpu", "nchw", "pytorch-compile"),
        "benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv": ("i7-12700H", "cpu", "nchw", "pytorch-compile"),
    }
    for name, expected in cases.items():
        meta = parse_file_name(Path(name))
        assert (meta["device"], meta["device_tier"], meta["layout"], meta["runtime"]) == expected
    assert parse_file_name(Path("benchmark-infer-amp-nchw-pt291-cu128-4090.csv"))["runtime_version"] \
        == "torch 2.9.1 / cu128"
    for bad in ("benchmark-infer-amp-nchw-pt240-cu124-a100.csv",      # unknown device
                "benchmark-infer-amp-xyz-pt240-cu124-rtx4090.csv",    # unknown layout
                "benchmark-infer-fp32-nchw-pt240-cu124-i9_10940x.csv"):  # CPU with CUDA
        with pytest.raises(DataImportError, match=bad.replace(".", r"\.")):
            parse_file_name(Path(bad))


def test_step_time_and_throughput_agree(timm_rows):
    per_batch = timm_rows["latency_ms"] / timm_rows["batch_size"]
    rel = (per_batch / timm_rows["ms_per_sample"] - 1).abs()
    assert rel.median() < 0.01
    assert (rel < 0.10).mean() > 0.99


def test_tiers_and_all_devices(timm_rows):
    assert set(timm_rows["device"]) == {"RTX 3090", "RTX 4090", "i9-10940X", "i7-12700H"}
    cpu = timm_rows[timm_rows["device_tier"] == "cpu"]
    assert set(cpu["batch_size"]) == {1} and set(cpu["precision"]) == {"fp32"}
    assert timm_rows["family"].notna().mean() > 0.9


def test_accuracy_and_macs_tables(real_store):
    acc = real_store.read("accuracy")
    acc = acc[acc["source"] == "timm"]
    assert len(acc) == 1556  # every checkpoint row of results-imagenet.csv
    r = acc[acc["source_model"] == "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k"].iloc[0]
    assert (r["model"], r["top1"], r["top5"], r["img_size"]) == (
        "eva02_large_patch14_448", 90.056, 99.054, 448)
    assert acc["pretrain"].notna().sum() > 300
    macs = real_store.read("timm_macs")
    assert not macs.duplicated(["model", "input_size"]).any()
    r = macs[(macs["model"] == "resnet50") & (macs["input_size"] == 224)].iloc[0]
    assert (r["gmacs"], r["macts_m"], r["params_m"]) == (4.11, 11.11, 25.56)


def test_reimport_adds_nothing(shared_data, tmp_path):
    src = shared_data / "timm"
    for name in ("SOURCE", "benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv",
                 "benchmark-infer-fp32-nchw-pt221-cpu-i9_10940x-dynamo.csv", "results-imagenet.csv"):
        shutil.copy(src / name, tmp_path / name)
    store = ParquetStore(tmp_path / "store")
    first = import_timm(tmp_path, store)
    again = import_timm(tmp_path, store)
    assert first.added == 932 + 1321 and first.tables["accuracy"] == 1556
    assert first.tables["timm_macs"] > 900  # the pt221 CPU file has no gmacs column
    assert again.added == 0 and set(again.tables.values()) == {0}
    assert "timm" in again.summary() and "added 0" in again.summary()


def test_no_benchmark_files_is_an_error(tmp_path):
    with pytest.raises(DataImportError, match="no benchmark-infer"):
        read_timm(tmp_path)
    with pytest.raises(DataImportError, match="no such folder"):
        read_timm(tmp_path / "absent")
