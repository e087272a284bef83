"""AI Hub importer on the real perf.yaml history (../shared/data/aihub) and on small layouts.

Expected numbers were checked independently of the importer: every ``job_id:`` line followed by
``job_status: Passed`` in the raw text, de-duplicated, gives 27,980 measurements outside
openai_clip (the importer keeps 339 more: the CLIP image encoder).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from collectors.importers import DataImportError, import_aihub, read_aihub
from collectors.store import ParquetStore
from models_registry import resolve

PASSED_JOB = re.compile(r"job_id: (\S+)\n\s*job_status: Passed")


@pytest.fixture(scope="module")
def aihub_rows(real_store) -> pd.DataFrame:
    return real_store.measurements(source="aihub")


def _subset(shared: Path, dest: Path, dirs: set[str]) -> Path:
    """A shared-layout copy holding only ``dirs`` (manifest rows filtered, files symlinked)."""
    src = shared / "aihub"
    with open(src / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["model_dir"] in dirs]
    with open(dest / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for d in dirs:
        (dest / "perf").mkdir(exist_ok=True)
        (dest / "info").mkdir(exist_ok=True)
        os.symlink(src / "perf" / d, dest / "perf" / d)
        os.symlink(src / "info" / f"{d}.yaml", dest / "info" / f"{d}.yaml")
    return dest


def test_row_count_matches_an_independent_count_of_passed_jobs(shared_data, aihub_rows):
    jobs: set[str] = set()
    for path in (shared_data / "aihub" / "perf").glob("*/*.yaml"):
        if path.parent.name != "openai_clip":
            jobs.update(PASSED_JOB.findall(path.read_text()))
    assert len(jobs) == 27_980
    outside_clip = aihub_rows[aihub_rows["model"] != "openai_clip"]
    assert len(outside_clip) == len(jobs)
    assert set(outside_clip["source_ref"].str.extract(r"job (\S+)$")[0]) == jobs
    assert len(aihub_rows) == 28_319
    assert not aihub_rows["record_id"].duplicated().any()


def test_legacy_microseconds_and_bytes_are_converted(aihub_rows):
    # perf/resnet50/2024-02-22_eb71ac97.yaml: Galaxy S23 Ultra, torchscript_onnx_tflite,
    # inference_time 1904.0 (µs), estimated_peak_memory_range {min: 20480, max: 2314168} bytes.
    row = aihub_rows[aihub_rows["source_ref"].str.endswith("job j1p8em6zp")].iloc[0]
    assert row["latency_ms"] == pytest.approx(1.904)
    assert row["ms_per_sample"] == pytest.approx(1.904)
    assert row["peak_memory_mb"] == pytest.approx(2314168 / 2**20)
    assert row["peak_memory_min_mb"] == pytest.approx(20480 / 2**20)
    assert (row["model"], row["device"], row["runtime"], row["precision"]) == (
        "resnet50", "Samsung Galaxy S23 Ultra", "tflite", "float")
    assert (row["chipset"], row["form_factor"], row["compute_unit"]) == (
        "Snapdragon® 8 Gen 2", "Phone", "NPU")
    assert row["measured_at"] == pd.Timestamp("2024-02-22")
    assert row["source_ref"] == "aihub:perf/resnet50/2024-02-22_eb71ac97.yaml@eb71ac97 job j1p8em6zp"
    cond = json.loads(row["conditions"])
    assert cond["raw_precision"] == "fp16" and cond["raw_runtime"] == "torchscript_onnx_tflite"
    assert row["input_size"] == 224 and row["batch_size"] == 1


def test_current_milliseconds_and_earliest_file_date(shared_data, aihub_rows):
    # job jgj27l715 (resnet50, QCS8275 (Proxy), tflite, float): 10.814 ms, memory 0..63 MB,
    # first listed in 2025-08-26_7385ead0.yaml and repeated in 2025-09-16_660512ac.yaml.
    files = sorted(p.name for p in (shared_data / "aihub/perf/resnet50").glob("*.yaml")
                   if "jgj27l715" in p.read_text())
    assert files[0] == "2025-08-26_7385ead0.yaml" and len(files) >= 2
    rows = aihub_rows[aihub_rows["source_ref"].str.endswith("job jgj27l715")]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["latency_ms"] == pytest.approx(10.814)
    assert (row["peak_memory_mb"], row["peak_memory_min_mb"]) == (63.0, 0.0)
    assert row["measured_at"] == pd.Timestamp("2025-08-26")
    assert row["source_ref"].startswith("aihub:perf/resnet50/2025-08-26_7385ead0.yaml@7385ead0")
    # device metadata for current-schema rows comes from the legacy map
    assert (row["chipset"], row["form_factor"]) == ("QCS8275 Proxy", "Iot")
    assert row["runtime_version"].startswith("tflite 2.")


def test_every_model_folder_resolves_in_the_registry(shared_data, aihub_rows):
    with open(shared_data / "aihub/manifest.csv", newline="") as fh:
        dirs = {r["model_dir"] for r in csv.DictReader(fh)}
    assert len(dirs) == 52
    for d in sorted(dirs):
        resolve(d)  # raises UnknownModelError for a folder the catalogue does not know
    assert aihub_rows["family"].notna().all()
    assert aihub_rows["input_size"].notna().all()


def test_quantized_folders_are_quantized_and_device_metadata_is_filled(aihub_rows):
    quant = aihub_rows[aihub_rows["source_model"].str.endswith("_quantized")]
    assert len(quant) > 6000
    assert set(quant["precision"]) == {"w8a8", "w8a16"}
    assert set(quant.loc[quant["source_model"].str.contains("w8a16"), "precision"]) == {"w8a16"}
    assert aihub_rows["chipset"].notna().all() and aihub_rows["form_factor"].notna().all()
    assert set(aihub_rows["form_factor"]) <= {"Phone", "Compute", "Auto", "Iot", "Xr"}
    assert set(aihub_rows["runtime"]) <= {"tflite", "qnn", "onnx", "torchscript_onnx_ort_dml_gpu"}
    assert set(aihub_rows["device_tier"]) == {"edge"}


def test_clip_keeps_only_the_image_encoder(aihub_rows):
    clip = aihub_rows[aihub_rows["model"] == "openai_clip"]
    assert set(clip["source_model"]) == {"openai_clip/CLIPImageEncoder"}


def test_reimport_adds_nothing_and_summary_counts_skips(shared_data, tmp_path):
    (tmp_path / "aihub").mkdir()
    root = _subset(shared_data, tmp_path / "aihub", {"resnet50", "resnet50_quantized", "openai_clip"})
    store = ParquetStore(tmp_path / "store")
    first = import_aihub(root, store)
    again = import_aihub(root, store)
    assert first.added > 1000 and first.skipped_existing == 0
    assert again.added == 0 and again.skipped_existing == first.added
    assert first.skipped["text encoder component"] > 0
    assert first.skipped["job repeated from an earlier version"] > 0
    text = first.summary()
    assert "aihub" in text and f"added {first.added}" in text and "text encoder" in text
    assert len(store.measurements()) == first.added


def test_tree_of_perf_yaml_files(shared_data, tmp_path):
    """A clone layout: no manifest; date = file mtime, reference = path, card beside perf.yaml."""
    for d in ("resnet18", "mobile_vit"):
        src = sorted((shared_data / "aihub/perf" / d).glob("*.yaml"))[-1]
        dest = tmp_path / "qai_hub_models/models" / d
        dest.mkdir(parents=True)
        shutil.copy(src, dest / "perf.yaml")
        shutil.copy(shared_data / f"aihub/info/{d}.yaml", dest / "info.yaml")
        os.utime(dest / "perf.yaml", (1.7e9, 1.7e9))  # 2023-11-14
    df, counts = read_aihub(tmp_path)
    assert counts["files_read"] == 2 and len(df) > 50
    assert set(df["model"]) == {"resnet18", "mobilevit_s"}
    assert (df["measured_at"] == pd.Timestamp("2023-11-14")).all()
    assert df["source_ref"].str.startswith("aihub:qai_hub_models/models/").all()


def test_missing_path_and_empty_folder_are_one_line_errors(tmp_path):
    with pytest.raises(DataImportError, match="no such file"):
        read_aihub(tmp_path / "absent")
    with pytest.raises(DataImportError, match="no manifest.csv and no perf.yaml"):
        read_aihub(tmp_path)
