"""Broken inputs: every failure is a one-line DataImportError or a counted skip, never another
exception, never a bad value in the frame, and a failed import leaves the store unchanged."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.importers import DataImportError, import_aihub, import_timm, read_aihub, read_timm
from collectors.store import ParquetStore

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

LEGACY = {
    "aggregated": {"supported_chipsets": ["Snapdragon® 8 Gen 2"]},
    "models": [{"name": "ResNet50", "performance_metrics": [{
        "torchscript_onnx_tflite": {
            "inference_time": 1904.0, "throughput": 525.2,
            "estimated_peak_memory_range": {"min": 20480, "max": 2314168},
            "primary_compute_unit": "NPU", "precision": "fp16",
            "layer_info": {"layers_on_npu": 77, "total_layers": 77},
            "job_id": "jlegacy01", "job_status": "Passed"},
        "reference_device_info": {"name": "Samsung Galaxy S23", "os": "13", "form_factor": "Phone",
                                  "chipset": "Snapdragon® 8 Gen 2"},
        "timestamp": "2024-02-21T16:07:34Z"}]}],
}
CURRENT = {
    "supported_devices": ["QCS9075 (Proxy)"],
    "supported_chipsets": ["qualcomm-qcs9075-proxy", "qualcomm-snapdragon-8gen3"],
    "precisions": {"w8a8": {"components": {"ResNet50": {"performance_metrics": {
        "QCS9075 (Proxy)": {"tflite": {
            "job_id": "jcurrent1", "job_status": "Passed", "inference_time_milliseconds": 2.5,
            "estimated_peak_memory_range_mb": {"min": 0, "max": 30},
            "primary_compute_unit": "NPU", "layer_counts": {"total": 79, "npu": 79},
            "tool_versions": {"qairt": "2.37.0", "tflite": "2.17.0"}}}}}}}},
}
ANY_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def write_aihub(root: Path, docs: list[object] | None = None, texts: list[str] | None = None) -> Path:
    """A shared-layout folder with one model dir and one perf file per document/text."""
    (root / "perf/resnet50").mkdir(parents=True, exist_ok=True)
    bodies = texts if texts is not None else [yaml.safe_dump(d, allow_unicode=True) for d in docs or []]
    lines = ["model_dir,commit,date,tag,path"]
    for i, body in enumerate(bodies):
        rel = f"perf/resnet50/2024-0{i + 1}-01_abcdef0{i}.yaml"
        (root / rel).write_text(body, encoding="utf-8")
        lines.append(f"resnet50,abcdef0{i}{'0' * 32},2024-0{i + 1}-01,v0.{i},{rel}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def paths_of(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths_of(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths_of(v, prefix + (i,))
    return out


def replaced(doc: object, path: tuple, value: object) -> object:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def check_frame(df: pd.DataFrame) -> None:
    """Whatever got through is a sane measurement."""
    assert (df["latency_ms"] > 0).all() and (df["latency_ms"] <= 10_000).all()
    assert df["latency_ms"].map(math.isfinite).all()
    mem = df.dropna(subset=["peak_memory_mb"])
    assert (mem["peak_memory_mb"] >= mem["peak_memory_min_mb"]).all()


def store_snapshot(store: ParquetStore) -> dict[str, bytes]:
    return {str(p.relative_to(store.root)): p.read_bytes()
            for p in store.root.rglob("*.parquet")} if store.root.exists() else {}


@pytest.fixture()
def seeded_store(tmp_path: Path) -> ParquetStore:
    store = ParquetStore(tmp_path / "store")
    import_aihub(write_aihub(tmp_path / "seed", [LEGACY]), store)
    return store


def test_valid_synthetic_files_of_both_schemas(tmp_path):
    df, counts = read_aihub(write_aihub(tmp_path, [LEGACY, CURRENT]))
    assert len(df) == 2 and counts["files_read"] == 2
    legacy, current = df.iloc[0], df.iloc[1]
    assert legacy["latency_ms"] == pytest.approx(1.904) and legacy["precision"] == "float"
    assert current["precision"] == "w8a8" and current["latency_ms"] == 2.5
    # a device never seen in a legacy file: form factor from its name, chipset from the list
    assert (current["form_factor"], current["chipset"]) == ("Iot", "QCS9075 Proxy")


@pytest.mark.parametrize("value, reason", [
    (1.9e6, "latency > 10000 ms (absurd)"), (-3.0, "latency zero or negative"),
    (0, "latency zero or negative"), (".nan", "latency NaN"), ("null", "latency null"),
    (None, "latency null"), ("fast", "latency not a number"), (".inf", "latency infinite")])
def test_bad_latencies_are_counted_skips(tmp_path, value, reason):
    doc = replaced(CURRENT, ("precisions", "w8a8", "components", "ResNet50", "performance_metrics",
                             "QCS9075 (Proxy)", "tflite", "inference_time_milliseconds"), value)
    text = yaml.safe_dump(doc).replace("'.nan'", ".nan").replace("'.inf'", ".inf")
    df, counts = read_aihub(write_aihub(tmp_path, texts=[text]))
    assert len(df) == 0 and counts[reason] == 1


def test_unknown_schema_and_bad_yaml_name_the_file(tmp_path):
    root = write_aihub(tmp_path, [{"version": 3, "results": []}])
    with pytest.raises(DataImportError, match=r"2024-01-01_abcdef00\.yaml: unknown perf\.yaml schema"):
        read_aihub(root)
    # a key holding a line break (found by hypothesis) is quoted, the error stays one line
    root = write_aihub(tmp_path / "nl", [{"\n": None}])
    with pytest.raises(DataImportError, match=r"top-level keys: \\n;") as caught:
        read_aihub(root)
    assert "\n" not in str(caught.value)
    root = write_aihub(tmp_path / "b", texts=["models: [\n  {name: x"])
    with pytest.raises(DataImportError, match=r"2024-01-01_abcdef00\.yaml: not valid YAML"):
        read_aihub(root)


@pytest.mark.parametrize("text", ["&a [*a]\n", "? [a, b]\n: 1\n", "", "just text\n", "- 1\n- 2\n"])
def test_odd_yaml_documents(tmp_path, text):
    with pytest.raises(DataImportError, match=r"abcdef00\.yaml: "):
        read_aihub(write_aihub(tmp_path, texts=[text]))


def test_repeated_job_keeps_the_earliest_file(tmp_path):
    df, counts = read_aihub(write_aihub(tmp_path, [LEGACY, LEGACY]))
    assert len(df) == 1 and counts["job repeated from an earlier version"] == 1
    assert df["measured_at"].iloc[0] == pd.Timestamp("2024-01-01")


@SETTINGS
@given(base=st.sampled_from([LEGACY, CURRENT]), data=st.data(), value=ANY_VALUE)
def test_any_field_of_any_type(tmp_path_factory, base, data, value):
    path = data.draw(st.sampled_from(paths_of(base)))
    doc = replaced(base, path, value)
    root = write_aihub(tmp_path_factory.mktemp("mut"), [doc])
    try:
        df, _ = read_aihub(root)
    except DataImportError as exc:
        assert "\n" not in str(exc) and "abcdef00.yaml" in str(exc) or "manifest" in str(exc)
        return
    check_frame(df)


@SETTINGS
@given(base=st.sampled_from([LEGACY, CURRENT]), cut=st.floats(0, 1))
def test_truncated_file_leaves_the_store_unchanged(seeded_store, tmp_path_factory, base, cut):
    text = yaml.safe_dump(base, allow_unicode=True)
    root = write_aihub(tmp_path_factory.mktemp("cut"), texts=[text[: int(len(text) * cut)]])
    before = store_snapshot(seeded_store)
    try:
        summary = import_aihub(root, seeded_store)
    except DataImportError as exc:
        assert "\n" not in str(exc)
        assert store_snapshot(seeded_store) == before
        return
    check_frame(seeded_store.measurements())
    assert summary.added + summary.skipped_existing + sum(summary.skipped.values()) >= 0


def test_a_bad_file_after_good_ones_writes_nothing(tmp_path, seeded_store):
    root = write_aihub(tmp_path / "mixed", texts=[yaml.safe_dump(CURRENT), "precisions: [1, 2"])
    before = store_snapshot(seeded_store)
    with pytest.raises(DataImportError):
        import_aihub(root, seeded_store)
    assert store_snapshot(seeded_store) == before


# ----------------------------------------------------------------------------------- timm

TIMM_HEADER = ["model", "infer_img_size", "infer_samples_per_sec", "infer_step_time",
               "infer_batch_size", "param_count", "infer_gmacs", "infer_macts"]
TIMM_ROWS = [["resnet50", 224, 3025.4, 338.455, 1024, 25.56, 4.11, 11.11],
             ["resnet18", 224, 9000.0, 113.0, 1024, 11.69, 1.82, 2.48],
             ["vit_base_patch16_224", 224, 1000.0, 1024.0, 1024, 86.57, 16.87, 16.49]]
GOOD_NAME = "benchmark-infer-amp-nchw-pt240-cu124-rtx4090.csv"
CELL = st.one_of(st.none(), st.integers(-10**6, 10**6), st.text(max_size=8),
                 st.floats(allow_nan=True, allow_infinity=True),
                 st.sampled_from(["", "nan", "-1", "0", "1e308", "1e-300", "inf"]))


def write_timm(root: Path, rows: list[list[object]], header=TIMM_HEADER, name=GOOD_NAME) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join("" if c is None else str(c) for c in r) for r in rows]
    (root / name).write_text("\n".join(lines) + "\n")
    return root


@SETTINGS
@given(row=st.integers(0, 2), col=st.integers(0, 7), cell=CELL,
       drop=st.one_of(st.none(), st.integers(1, 7)))
def test_timm_any_cell(tmp_path_factory, row, col, cell, drop):
    rows = [list(r) for r in TIMM_ROWS]
    rows[row][col] = (str(cell).replace(",", ";").replace("\n", " ").replace("\r", " ")
                     if cell is not None else None)
    header = list(TIMM_HEADER)
    if drop is not None:
        header.pop(drop)
        rows = [r[:drop] + r[drop + 1:] for r in rows]
    root = write_timm(tmp_path_factory.mktemp("timm"), rows, header)
    try:
        frames, counts = read_timm(root)
    except DataImportError as exc:
        assert "\n" not in str(exc) and GOOD_NAME in str(exc)
        return
    df = frames["measurements"]
    assert (df["latency_ms"] > 0).all() and (df["ms_per_sample"] > 0).all()
    assert (df["ms_per_sample"] <= 600_000).all()
    skipped = sum(v for k, v in counts.items() if k.startswith("rows "))
    assert len(df) + skipped == counts["rows_read"] == 3


@SETTINGS
@given(cut=st.floats(0, 1))
def test_timm_truncated_csv(tmp_path_factory, cut):
    root = write_timm(tmp_path_factory.mktemp("tt"), TIMM_ROWS)
    path = root / GOOD_NAME
    text = path.read_text()
    path.write_text(text[: int(len(text) * cut)])
    try:
        frames, _ = read_timm(root)
    except DataImportError as exc:
        assert GOOD_NAME in str(exc)
        return
    assert len(frames["measurements"]) <= 3


def test_timm_bad_rows_are_counted_and_bad_names_fail_without_writing(tmp_path):
    rows = [list(r) for r in TIMM_ROWS]
    rows[0][2] = -5          # negative throughput
    rows[1][3] = ""          # missing step time
    rows[2][2] = 1e-9        # 1e12 ms per sample: absurd
    frames, counts = read_timm(write_timm(tmp_path / "a", rows))
    assert len(frames["measurements"]) == 0
    assert counts["rows with a missing, NaN, non-positive or absurd time"] == 3

    store = ParquetStore(tmp_path / "store")
    import_timm(write_timm(tmp_path / "b", TIMM_ROWS), store)
    before = store_snapshot(store)
    root = write_timm(tmp_path / "c", TIMM_ROWS)
    write_timm(root, TIMM_ROWS, name="benchmark-infer-amp-nchw-pt240-cu124-h100.csv")
    with pytest.raises(DataImportError, match=r"benchmark-infer-amp-nchw-pt240-cu124-h100\.csv: "
                                              r"unknown device 'h100'"):
        import_timm(root, store)
    assert store_snapshot(store) == before
