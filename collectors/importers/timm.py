"""Import the timm benchmark results (desktop GPUs and CPUs) and ImageNet accuracy.

Reads a copy of ``huggingface/pytorch-image-models/results`` (see ``../shared/data/timm``):

* ``benchmark-infer-<precision>-<layout>-pt<torch>-<cuda|cpu>-<device>[-dynamo].csv`` ->
  table ``measurements`` (one row per architecture and file) and table ``timm_macs`` (GMACs,
  activations and parameters per architecture and input size, first file that lists them);
* ``results-imagenet.csv`` -> table ``accuracy`` (every pretrained checkpoint, ``source='timm'``),
  with the ``pretrain`` column of ``model_metadata-in1k.csv`` joined on the architecture.

Decisions:

* ``latency_ms`` is ``infer_step_time`` (ms per batch, the source's own figure) and ``batch_size``
  is ``infer_batch_size``; ``ms_per_sample`` is ``1000 / infer_samples_per_sec`` (the throughput
  timm reports, averaged over the whole run). Both are stored because the two disagree a little
  (step_time/batch vs throughput: median relative difference well under 1%, see the tests).
* ``runtime`` is ``pytorch-eager``, or ``pytorch-compile`` for ``-dynamo`` files;
  ``runtime_version`` is written ``torch 2.4.0 / cu124`` (``/ cpu`` for CPU runs).
* ``measured_at``: the files carry no date. The proxy is the release date of the torch version in
  the file name (a benchmark cannot predate the torch it ran on, and timm re-ran its benchmarks
  soon after each release), see :data:`TORCH_RELEASES`. 2.9.1's date is approximate (2.9.0 was
  2025-10-15). An unknown torch version falls back to 2000-01-01 + a counted note, never a guess.
  This matters for time-split evaluation: all rows of one file share one date.
* ``source_ref`` is ``timm:results/<file>@<commit8> line <n>`` (n = line number in the file,
  header = line 1), commit from ``SOURCE``. ``record_key`` = file + arch + img_size + batch.
* A ``benchmark-infer-*.csv`` whose name does not match :data:`FILE_PATTERN` or whose device token
  is unknown is a one-line :class:`DataImportError` (nothing is written); other files are ignored.
  A row with a missing, NaN, non-positive or absurd (> 600 s per sample) time is a counted skip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectors.importers.common import (DataImportError, ImportSummary, SkipCounter, run_import,
                                         validated_frame)
from collectors.importers.registry import family, model_id
from collectors.schema import MAX_MS_PER_SAMPLE
from collectors.store import MEASUREMENTS, MeasurementStore

SOURCE = "timm"
FILE_PATTERN = re.compile(
    r"^benchmark-infer-(?P<precision>[a-z0-9]+)-(?P<layout>nchw|nhwc)-pt(?P<torch>\d+)"
    r"-(?P<accel>cu\d+|cpu)-(?P<device>[a-z0-9_]+?)(?P<dynamo>-dynamo)?\.csv$")
#: Device token in a file name -> (device name, tier).
DEVICES: dict[str, tuple[str, str]] = {
    "rtx3090": ("RTX 3090", "gpu"), "3090": ("RTX 3090", "gpu"),
    "rtx4090": ("RTX 4090", "gpu"), "4090": ("RTX 4090", "gpu"),
    "i9_10940x": ("i9-10940X", "cpu"), "i7_12700h": ("i7-12700H", "cpu"),
}
#: Torch tag in a file name -> (version, release date used as the measured_at proxy).
TORCH_RELEASES: dict[str, tuple[str, str]] = {
    "113": ("1.13", "2022-12-15"),   # 1.13.1; the tag does not say which 1.13.x
    "200": ("2.0.0", "2023-03-15"),
    "210": ("2.1.0", "2023-10-04"),
    "221": ("2.2.1", "2024-02-22"),
    "240": ("2.4.0", "2024-07-24"),
    "291": ("2.9.1", "2025-11-12"),  # approximate
}
UNKNOWN_DATE = "2000-01-01"
BENCH_COLUMNS = ("model", "infer_img_size", "infer_samples_per_sec", "infer_step_time",
                 "infer_batch_size")


def read_commit(root: Path) -> str:
    """The results commit named in ``SOURCE`` ("... at commit <sha>"), or ``unknown``."""
    source = root / "SOURCE"
    if source.is_file():
        match = re.search(r"\b([0-9a-f]{40})\b", source.read_text(errors="replace"))
        if match:
            return match.group(1)[:8]
    return "unknown"


def parse_file_name(path: Path) -> dict[str, Any]:
    """Everything a benchmark file's name says, or a one-line DataImportError naming the file."""
    match = FILE_PATTERN.match(path.name)
    if not match:
        raise DataImportError(
            f"{path}: file name does not match benchmark-infer-<precision>-<layout>-pt<torch>-"
            "<cuda|cpu>-<device>[-dynamo].csv")
    parts = match.groupdict()
    if parts["device"] not in DEVICES:
        raise DataImportError(f"{path}: unknown device '{parts['device']}' in file name "
                              f"(known: {', '.join(sorted(DEVICES))})")
    device, tier = DEVICES[parts["device"]]
    if (tier == "gpu") != parts["accel"].startswith("cu"):
        raise DataImportError(f"{path}: device '{device}' does not match '{parts['accel']}'")
    version, date = TORCH_RELEASES.get(parts["torch"], (f"pt{parts['torch']}", UNKNOWN_DATE))
    return {
        "device": device, "device_tier": tier, "precision": parts["precision"],
        "layout": parts["layout"], "runtime": "pytorch-compile" if parts["dynamo"] else "pytorch-eager",
        "runtime_version": f"torch {version} / {parts['accel']}", "measured_at": date,
        "compute_unit": "GPU" if tier == "gpu" else "CPU", "known_torch": date != UNKNOWN_DATE,
    }


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype={"model": "string"}, keep_default_na=True)
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataImportError(f"{path}: unreadable CSV ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataImportError(f"{path}: field '{missing[0]}' is missing (columns: {', '.join(map(str, df.columns))})")
    return df


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    return pd.to_numeric(df[column], errors="coerce").astype("float64")


def _bench_records(path: Path, commit: str, skips: SkipCounter) -> tuple[list[dict], list[dict]]:
    meta = parse_file_name(path)
    if not meta.pop("known_torch"):
        skips.skip("files with an unknown torch version (measured_at 2000-01-01)")
    df = _read_csv(path, BENCH_COLUMNS)
    sps, step = _numeric(df, "infer_samples_per_sec"), _numeric(df, "infer_step_time")
    batch, size = _numeric(df, "infer_batch_size"), _numeric(df, "infer_img_size")
    gmacs, macts, params = _numeric(df, "infer_gmacs"), _numeric(df, "infer_macts"), _numeric(df, "param_count")
    ok_time = (step > 0) & (sps > 0) & np.isfinite(step) & np.isfinite(sps)
    ok_shape = (batch.between(1, 1e6) & size.between(1, 1e5) & (batch == batch.round())
                & (size == size.round()))
    # an absurd time per sample (e.g. microseconds written as milliseconds) must not enter
    ok_time &= ((1000.0 / sps) <= MAX_MS_PER_SAMPLE) & ((step / batch.clip(lower=1)) <= MAX_MS_PER_SAMPLE)
    ok_name = df["model"].notna() & (df["model"].str.strip() != "")
    records, macs = [], []
    for reason, bad in (("rows without a model name", ~ok_name),
                        ("rows with a missing, NaN, non-positive or absurd time", ok_name & ~ok_time),
                        ("rows with a missing or invalid batch/img size", ok_name & ok_time & ~ok_shape)):
        for _ in range(int(bad.sum())):
            skips.skip(reason)
    keep = (ok_name & ok_time & ok_shape).to_numpy()
    name = path.name
    # plain lists: per-row Series access was most of the import time
    archs = df["model"].astype(str).str.strip().tolist()
    cols = {c: v.to_numpy().tolist() for c, v in (("sps", sps), ("step", step), ("batch", batch),
                                                  ("size", size), ("gmacs", gmacs),
                                                  ("macts", macts), ("params", params))}
    finite = np.isfinite
    for i in np.flatnonzero(keep).tolist():
        arch = archs[i]
        model = model_id(arch)
        b, s = int(cols["batch"][i]), int(cols["size"][i])
        ref = f"timm:results/{name}@{commit} line {i + 2}"
        records.append({
            **meta, "model": model, "source_model": arch, "family": family(model),
            "input_size": s, "batch_size": b, "latency_ms": cols["step"][i],
            "ms_per_sample": 1000.0 / cols["sps"][i], "source": SOURCE, "source_ref": ref,
            "record_key": f"{name}|{arch}|{s}|{b}", "_origin": f"{path}: line {i + 2} ({arch})",
        })
        g, a, p = cols["gmacs"][i], cols["macts"][i], cols["params"][i]
        if finite(g) and g >= 0:
            macs.append({"model": model, "source_model": arch, "input_size": s, "gmacs": g,
                         "macts_m": a if finite(a) else None, "params_m": p if finite(p) else None,
                         "source_ref": ref})
    return records, macs


def _accuracy(root: Path, commit: str, skips: SkipCounter) -> pd.DataFrame | None:
    path = root / "results-imagenet.csv"
    if not path.is_file():
        return None
    df = _read_csv(path, ("model", "top1", "top5", "img_size", "param_count"))
    pretrain: Mapping[str, str] = {}
    meta_path = root / "model_metadata-in1k.csv"
    if meta_path.is_file():
        meta = _read_csv(meta_path, ("model", "pretrain"))
        pretrain = dict(zip(meta["model"].astype(str), meta["pretrain"].astype("string").fillna("")))
    top1, top5 = _numeric(df, "top1"), _numeric(df, "top5")
    ok = df["model"].notna() & top1.between(0, 100) & top5.between(0, 100)
    for _ in range(int((~ok).sum())):
        skips.skip("accuracy rows with a missing model or top-1/top-5 outside 0-100")
    names = df["model"].astype(str).str.strip().tolist()
    sizes, params = _numeric(df, "img_size").tolist(), _numeric(df, "param_count").tolist()
    t1, t5 = top1.tolist(), top5.tolist()
    rows = []
    for i in np.flatnonzero(ok.to_numpy()).tolist():
        name = names[i]
        rows.append({
            "model": model_id(name), "source_model": name, "source": SOURCE,
            "top1": t1[i], "top5": t5[i],
            "img_size": int(sizes[i]) if 1 <= sizes[i] <= 1e5 else None,
            "param_count": params[i] if np.isfinite(params[i]) else None,
            "pretrain": pretrain.get(name) or pretrain.get(name.split(".", 1)[0]) or None,
            "source_ref": f"timm:results/{path.name}@{commit} line {i + 2}",
        })
    out = pd.DataFrame(rows, columns=["model", "source_model", "source", "top1", "top5", "img_size",
                                      "param_count", "pretrain", "source_ref"])
    out["img_size"] = out["img_size"].astype("Int64")
    return out


def read_timm(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Parse a timm results folder into ``{"measurements", "accuracy", "timm_macs"}`` frames and
    skip counts (plus ``files_read``/``rows_read``); nothing is written."""
    root = Path(path)
    if not root.is_dir():
        raise DataImportError(f"{root}: no such folder")
    files = sorted(root.glob("benchmark-infer-*.csv"))
    if not files:
        raise DataImportError(f"{root}: no benchmark-infer-*.csv files")
    commit = read_commit(root)
    skips = SkipCounter()
    records: list[dict] = []
    macs: list[dict] = []
    for file in files:
        r, m = _bench_records(file, commit, skips)
        records.extend(r)
        macs.extend(m)
    rows_read = len(records) + sum(v for k, v in skips.items() if k.startswith("rows"))
    frames = {MEASUREMENTS: validated_frame(records, str(root))}
    macs_df = pd.DataFrame(macs, columns=["model", "source_model", "input_size", "gmacs", "macts_m",
                                          "params_m", "source_ref"])
    frames["timm_macs"] = macs_df.drop_duplicates(["model", "input_size"]).reset_index(drop=True)
    frames["timm_macs"]["input_size"] = frames["timm_macs"]["input_size"].astype("Int64")
    accuracy = _accuracy(root, commit, skips)
    if accuracy is not None:
        frames["accuracy"] = accuracy
    counts = dict(skips)
    counts["files_read"] = len(files) + (accuracy is not None)
    counts["rows_read"] = rows_read
    return frames, counts


def import_timm(path: str | Path, store: MeasurementStore) -> ImportSummary:
    """Parse and validate the whole folder, then append each table (nothing written on error)."""
    return run_import(SOURCE, read_timm, path, store)


__all__ = ["DEVICES", "FILE_PATTERN", "TORCH_RELEASES", "import_timm", "parse_file_name", "read_timm"]
