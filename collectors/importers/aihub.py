"""Import Qualcomm AI Hub ``perf.yaml`` history (edge devices) into the measurement store.

Two layouts are read: the shared one (``manifest.csv`` + ``perf/<dir>/<date>_<commit8>.yaml`` +
``info/<dir>.yaml``, see ``../shared/data/README.md``) and any tree of ``perf.yaml`` files (a clone
of quic/ai-hub-models), where commit and date are unknown: the file's mtime date stands in for the
date and the path for the reference.

Two perf.yaml schemas are read and normalised at this edge, once:

* legacy (``models:`` list; until ~v0.29): ``inference_time`` in microseconds, memory in bytes,
  device metadata in ``reference_device_info``, precision per entry (``fp16``/``fp32``/``int8``);
* current (``precisions:`` mapping; from ~v0.30): milliseconds and MB, no device metadata, the
  precision is the key (``float``, ``w8a8``, ``w8a16``, ...).

Decisions (each one is visible in the data, not a guess):

* Identity is the AI Hub ``job_id``: the same job re-appears in every later version of a perf.yaml
  until the model is re-profiled, so files are read in date order and the first (earliest) file
  of a job gives its ``measured_at``; later repeats are counted, not stored. Different job ids for
  one configuration are genuine re-profiles and are all kept (the store's ``latest`` view picks one).
* Precision is the precision *of the model variant*. Legacy ``*_quantized`` folders also carry
  entries reporting ``fp16``/``fp32`` (a runtime that executed the quantized graph in float); they
  are stored as the folder's quantization (``w8a8``, or ``w8a16`` when the folder says so), the
  raw value stays in ``conditions.raw_precision``. This matches the current schema, where the
  precision key holds for every runtime of a variant.
* CLIP: only the image encoder is an image classifier's latency. ``CLIPImageEncoder`` is kept as
  ``source_model='openai_clip/CLIPImageEncoder'``; ``CLIPTextEncoder`` and the combined
  ``OpenAI-Clip`` component (image + text encoders in one graph: on the Galaxy S24 its 17.7 ms
  equals image 14.7 ms + text 3.1 ms) are counted skips. So openai_clip has no rows after the
  combined model replaced the encoders (2025-04).
* Device metadata: ``chipset``/``form_factor`` come from a device -> metadata map built from all
  legacy ``reference_device_info`` (newest spelling wins, since AI Hub respelled chipsets over
  time, e.g. ``Qcs8550`` -> ``QCS8550 Proxy``) and applied to every row of that device, legacy or
  current. Devices never seen in legacy files get a form factor from their name and a chipset from
  ``supported_chipsets`` when exactly one matches, else null. Form factors use AI Hub's own words
  (``Phone``, ``Compute``, ``Auto``, ``Iot``, ``Xr``).
* Skips are counted per reason: jobs not ``Passed``, null / NaN / non-positive latencies, and
  latencies above :data:`MAX_CLASSIFIER_MS` (10 s: an image classifier on a Snapdragon NPU/GPU/CPU
  takes well under a second; larger values are unit errors). A file that does not parse or has
  an unknown structure raises :class:`DataImportError` naming the file, and nothing is written.
"""

from __future__ import annotations

import csv
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date as date_cls, datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from collectors.importers.common import (DataImportError, ImportSummary, SkipCounter, run_import,
                                         load_yaml, positive_number, validated_frame)
from collectors.importers.registry import family, model_id, registry_input_size
from collectors.schema import mb_from_bytes, ms_from_us
from collectors.store import MeasurementStore

SOURCE = "aihub"
#: An image classifier on an edge SoC above this is a unit error (µs read as ms), not a timing.
MAX_CLASSIFIER_MS = 10_000.0

RUNTIMES = {
    "tflite": "tflite", "torchscript_onnx_tflite": "tflite",
    "qnn": "qnn", "qnn_dlc": "qnn", "torchscript_onnx_qnn": "qnn",
    "onnx": "onnx", "torchscript_onnx": "onnx", "torchscript_onnx_ort": "onnx",
}
PRECISIONS = {"fp16": "float", "fp32": "float", "float": "float", "int8": "w8a8"}
#: Components that are not the image classifier itself: (folder, component) -> skip reason.
#: A component listed with ``None`` is kept under ``<folder>/<component>``.
COMPONENTS: dict[tuple[str, str], str | None] = {
    ("openai_clip", "CLIPImageEncoder"): None,
    ("openai_clip", "CLIPTextEncoder"): "text encoder component",
    ("openai_clip", "OpenAI-Clip"): "combined image+text component",
}
#: Name patterns -> AI Hub form factor, for devices never described by a legacy file.
FORM_FACTOR_RULES = (
    (re.compile(r"\bXR\d", re.I), "Xr"),
    (re.compile(r"^SA\d", re.I), "Auto"),
    (re.compile(r"\bCRD\b|\bX (Elite|Plus)\b", re.I), "Compute"),
    (re.compile(r"Proxy|^QCS|^RB\d|\bIoT\b", re.I), "Iot"),
    (re.compile(r"Galaxy|Pixel|Xiaomi|QRD|Phone", re.I), "Phone"),
)
_LEGACY_META = ("reference_device_info", "timestamp")
_RESOLUTION = re.compile(r"(\d+)\s*x\s*(\d+)")


@dataclass(frozen=True)
class PerfFile:
    """One perf.yaml version: where it is and what the manifest says about it."""

    path: Path
    model_dir: str
    date: pd.Timestamp
    ref: str                 # shown in source_ref: "perf/resnet50/2024-02-22_eb71ac97.yaml@eb71ac97"
    tag: str | None = None
    commit: str | None = None


# --------------------------------------------------------------------------- discovery


def discover(root: Path) -> list[PerfFile]:
    """The perf.yaml versions under ``root``, oldest first (the order identity depends on)."""
    root = Path(root)
    manifest = root / "manifest.csv"
    if manifest.is_file():
        files = _from_manifest(root, manifest)
    elif root.is_file() and root.suffix in (".yaml", ".yml"):
        files = [_from_tree_file(root, root.parent.parent)]
    elif root.is_dir():
        files = [_from_tree_file(p, root) for p in sorted(root.rglob("perf.yaml"))]
        if not files:
            raise DataImportError(f"{root}: no manifest.csv and no perf.yaml files found")
    else:
        raise DataImportError(f"{root}: no such file or folder")
    return sorted(files, key=lambda f: f.date)  # stable: manifest order breaks date ties


def _from_manifest(root: Path, manifest: Path) -> list[PerfFile]:
    try:
        with open(manifest, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataImportError(f"{manifest}: unreadable ({exc})") from None
    needed = ("model_dir", "commit", "date", "path")
    files = []
    for line, row in enumerate(rows, start=2):
        for column in needed:
            if not (row.get(column) or "").strip():
                raise DataImportError(f"{manifest}: row {line}: field '{column}' is missing")
        try:  # fromisoformat: pd.to_datetime per row cost 5 ms each
            date = pd.Timestamp(date_cls.fromisoformat(row["date"].strip()[:10]))
        except ValueError:
            raise DataImportError(
                f"{manifest}: row {line}: field 'date' is not a date: {row['date']!r}") from None
        path = root / row["path"]
        if not path.is_file():
            raise DataImportError(f"{manifest}: row {line}: file {row['path']} does not exist")
        commit = row["commit"].strip()
        files.append(PerfFile(path, row["model_dir"].strip(), date, f"{row['path']}@{commit[:8]}",
                              (row.get("tag") or "").strip() or None, commit))
    return files


def _from_tree_file(path: Path, root: Path) -> PerfFile:
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).date()
    try:
        ref = str(path.relative_to(root))
    except ValueError:
        ref = str(path)
    return PerfFile(path, path.parent.name, pd.Timestamp(mtime), ref)


def info_card(perf: PerfFile, root: Path) -> Path | None:
    """The model card: ``info/<dir>.yaml`` (shared layout) or ``info.yaml`` beside perf.yaml."""
    for candidate in (Path(root) / "info" / f"{perf.model_dir}.yaml", perf.path.parent / "info.yaml"):
        if candidate.is_file():
            return candidate
    return None


def card_input_size(card: Path | None) -> int | None:
    """Input side from the card's "Input resolution: 224x224" (first number for non-square)."""
    if card is None:
        return None
    data = load_yaml(card)
    details = data.get("technical_details") if isinstance(data, Mapping) else None
    if not isinstance(details, Mapping):
        return None
    for key, value in details.items():
        if "resolution" in str(key).lower():
            match = _RESOLUTION.search(str(value))
            if match:
                return int(match.group(1))
    return None


# --------------------------------------------------------------------------- parsing


def _mapping(value: Any, path: Path, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DataImportError(f"{path}: field '{field}' is {type(value).__name__}, expected a mapping")
    return value


def _sequence(value: Any, path: Path, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise DataImportError(f"{path}: field '{field}' is {type(value).__name__}, expected a list")
    return value


def _text(value: Any) -> str | None:
    """A descriptive scalar, or None for null / 'null' / a non-scalar."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value).strip()
        return text if text and text.lower() not in ("null", "none", "~") else None
    return None


def entries(perf: PerfFile, data: Any) -> Iterator[dict[str, Any]]:
    """Flatten one perf.yaml (either schema) into raw entries with units still as written."""
    path = perf.path
    if not isinstance(data, Mapping):
        raise DataImportError(f"{path}: unknown perf.yaml schema (top level is {type(data).__name__})")
    if "models" in data:
        yield from _legacy_entries(path, data)
    elif "precisions" in data:
        yield from _current_entries(path, data)
    else:
        keys = ", ".join(sorted(map(str, data))) or "none"
        raise DataImportError(f"{path}: unknown perf.yaml schema (top-level keys: {keys}; "
                              "expected 'models' or 'precisions')")


def _legacy_entries(path: Path, data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for i, model in enumerate(_sequence(data["models"], path, "models")):
        model = _mapping(model, path, f"models[{i}]")
        component = str(model.get("name") or "")
        metrics = _sequence(model.get("performance_metrics") or [], path,
                            f"models[{i}].performance_metrics")
        for j, block in enumerate(metrics):
            where = f"models[{i}].performance_metrics[{j}]"
            block = _mapping(block, path, where)
            info = _mapping(block.get("reference_device_info"), path, f"{where}.reference_device_info")
            device = info.get("name")
            if not isinstance(device, str) or not device:
                raise DataImportError(f"{path}: field '{where}.reference_device_info.name' is missing")
            for runtime, entry in block.items():
                if runtime in _LEGACY_META or not isinstance(entry, Mapping):
                    continue
                memory = entry.get("estimated_peak_memory_range")
                memory = memory if isinstance(memory, Mapping) else {}
                time_us = entry.get("inference_time")
                yield {
                    "schema": "legacy", "component": component, "device": device,
                    "chipset": _text(info.get("chipset")), "form_factor": _text(info.get("form_factor")),
                    "raw_runtime": str(runtime), "raw_precision": entry.get("precision"),
                    "status": entry.get("job_status"), "job_id": entry.get("job_id"),
                    "time": time_us, "to_ms": ms_from_us,
                    "mem_min": memory.get("min"), "mem_max": memory.get("max"), "to_mb": mb_from_bytes,
                    "compute_unit": entry.get("primary_compute_unit"),
                    "layer_counts": entry.get("layer_info"), "tool_versions": None,
                    "profiled_at": block.get("timestamp"),
                }


def _current_entries(path: Path, data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for precision, body in _mapping(data["precisions"], path, "precisions").items():
        body = _mapping(body, path, f"precisions.{precision}")
        components = _mapping(body.get("components") or {}, path, f"precisions.{precision}.components")
        for component, content in components.items():
            where = f"precisions.{precision}.components.{component}"
            content = _mapping(content, path, where)
            metrics = _mapping(content.get("performance_metrics") or {}, path,
                               f"{where}.performance_metrics")
            for device, runtimes in metrics.items():
                runtimes = _mapping(runtimes, path, f"{where}.performance_metrics.{device}")
                for runtime, entry in runtimes.items():
                    entry = _mapping(entry, path, f"{where}.performance_metrics.{device}.{runtime}")
                    memory = entry.get("estimated_peak_memory_range_mb")
                    memory = memory if isinstance(memory, Mapping) else {}
                    yield {
                        "schema": "current", "component": str(component), "device": str(device),
                        "chipset": None, "form_factor": None,
                        "raw_runtime": str(runtime), "raw_precision": str(precision),
                        "status": entry.get("job_status"), "job_id": entry.get("job_id"),
                        "time": entry.get("inference_time_milliseconds"), "to_ms": float,
                        "mem_min": memory.get("min"), "mem_max": memory.get("max"), "to_mb": float,
                        "compute_unit": entry.get("primary_compute_unit"),
                        "layer_counts": entry.get("layer_counts"),
                        "tool_versions": entry.get("tool_versions"), "profiled_at": None,
                    }


# --------------------------------------------------------------------------- normalising


def normalise_runtime(raw: str) -> str:
    return RUNTIMES.get(raw, raw)


def normalise_precision(raw: Any, model_dir: str) -> str:
    """Model-variant precision: a ``*_quantized`` folder is quantized whatever an entry reports."""
    if model_dir.endswith("_quantized"):
        match = re.search(r"(w\d+a\d+)", model_dir)
        return match.group(1) if match else "w8a8"
    text = str(raw) if raw not in (None, "null") else "float"
    return PRECISIONS.get(text, text)


def infer_form_factor(device: str) -> str | None:
    for pattern, form_factor in FORM_FACTOR_RULES:
        if pattern.search(device):
            return form_factor
    return None


def infer_chipset(device: str, supported_chipsets: list[str]) -> str | None:
    """The one supported chipset whose slug contains the device's part number (QCS9075, SA8295P)."""
    tokens = re.findall(r"\b(?:qcs|sa|sm)\d{3,4}[a-z]?\b", device.lower())
    for token in tokens:
        hits = [c for c in supported_chipsets if token.rstrip("p") in c.lower().replace("-", "")]
        if len(hits) == 1:
            return _chipset_from_slug(hits[0])
    return None


def _chipset_from_slug(slug: str) -> str:
    name = slug.lower().removeprefix("qualcomm-")
    proxy = name.endswith("-proxy")
    name = name.removesuffix("-proxy")
    if name.startswith("snapdragon-"):
        rest = re.sub(r"(\d)gen(\d)", r"\1 Gen \2", name.removeprefix("snapdragon-")).replace("-", " ")
        return "Snapdragon® " + " ".join(w if w[:1].isdigit() else w.capitalize() for w in rest.split())
    return name.upper() + (" Proxy" if proxy else "")


def device_metadata(raw: list[dict[str, Any]], supported_chipsets: list[str]) -> dict[str, tuple]:
    """device -> (chipset, form_factor): newest legacy spelling, else inferred from the name."""
    meta: dict[str, tuple] = {}
    for entry in raw:  # raw is in date order, so the last legacy description wins
        if entry["schema"] == "legacy" and (entry["chipset"] or entry["form_factor"]):
            meta[entry["device"]] = (entry["chipset"], entry["form_factor"])
    for entry in raw:
        device = entry["device"]
        if device not in meta:
            meta[device] = (infer_chipset(device, supported_chipsets), infer_form_factor(device))
    return meta


def _memory(entry: dict[str, Any], skips: SkipCounter) -> tuple[float | None, float | None]:
    low, high = entry["mem_min"], entry["mem_max"]
    if low is None and high is None:
        return None, None
    high_v, why = positive_number(high)
    try:
        low_v = float(low) if low is not None else None
    except (TypeError, ValueError):
        low_v = -1.0
    if high_v is None or low_v is None or not low_v >= 0 or low_v > high_v:
        skips.skip("memory range 0/0 or invalid (latency kept, memory null)")
        return None, None
    return entry["to_mb"](high_v), entry["to_mb"](low_v)


def _conditions(entry: dict[str, Any], perf: PerfFile) -> str:
    layers = entry["layer_counts"]
    if isinstance(layers, Mapping):  # scalars arrive as strings (see common.load_yaml)
        layers = {k: int(v) if str(v).isdigit() else v for k, v in layers.items()}
    cond = {"raw_precision": entry["raw_precision"], "raw_runtime": entry["raw_runtime"],
            "schema": entry["schema"], "component": entry["component"], "tag": perf.tag,
            "commit": perf.commit, "tool_versions": entry["tool_versions"],
            "layer_counts": layers, "profiled_at": entry["profiled_at"]}
    return json.dumps({k: v for k, v in cond.items() if v not in (None, "", {})},
                      sort_keys=True, default=str)


def _runtime_version(entry: dict[str, Any], runtime: str) -> str | None:
    tools = entry["tool_versions"]
    if not isinstance(tools, Mapping):
        return None
    key = {"tflite": "tflite", "onnx": "onnx_runtime"}.get(runtime, "qairt")
    version = tools.get(key) or tools.get("qairt")
    return f"{key} {version}" if version else None


# --------------------------------------------------------------------------- public API

#: Below this many files, a process pool costs more than it saves.
_PARALLEL_MIN_FILES = 64


def parse_file(perf: PerfFile) -> tuple[list[dict[str, Any]], list[str]]:
    """One perf.yaml -> (its raw entries, its ``supported_chipsets``). Pure: runs in a worker."""
    data = load_yaml(perf.path)
    flat = list(entries(perf, data))
    listed = data.get("supported_chipsets") if isinstance(data, Mapping) else None
    return flat, [str(c) for c in listed] if isinstance(listed, list) else []


def _parse_all(files: list[PerfFile]) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """Parse files in order; YAML construction is CPU-bound Python, so use every core we have."""
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else os.cpu_count() or 1, 8)
    if workers < 2 or len(files) < _PARALLEL_MIN_FILES:
        yield from map(parse_file, files)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(parse_file, files, chunksize=16)



def read_aihub(path: str | Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Parse an AI Hub folder into the validated measurement frame and the skip counts (no store).

    The counts also carry ``files_read`` and ``rows_read`` (entries seen, before any skip).
    """
    root = Path(path)
    files = discover(root)
    skips = SkipCounter()
    raw: list[tuple[PerfFile, dict[str, Any]]] = []
    chipsets: set[str] = set()
    sizes: dict[str, int | None] = {}
    for perf, (flat, listed) in zip(files, _parse_all(files)):
        raw.extend((perf, entry) for entry in flat)
        chipsets.update(listed)
        if perf.model_dir not in sizes:
            sizes[perf.model_dir] = card_input_size(info_card(perf, root))
    meta = device_metadata([e for _, e in raw], sorted(chipsets))

    records: list[dict[str, Any]] = []
    seen_jobs: set[str] = set()
    ids: dict[str, tuple[str, str | None, int | None]] = {}
    for perf, entry in raw:
        status = entry["status"]
        if status != "Passed":
            skips.skip(f"job_status {status}" if status not in (None, "", "null") else "job_status missing")
            continue
        rule = COMPONENTS.get((perf.model_dir, entry["component"]), None)
        if rule is not None:
            skips.skip(rule)
            continue
        job = entry["job_id"]
        job = str(job) if job not in (None, "", "null", "~") else None
        if job is not None and job in seen_jobs:
            skips.skip("job repeated from an earlier version")
            continue
        value, why = positive_number(entry["time"])
        if value is None:
            skips.skip(f"latency {why}")
            continue
        latency = entry["to_ms"](value)
        if latency > MAX_CLASSIFIER_MS:
            skips.skip(f"latency > {MAX_CLASSIFIER_MS:.0f} ms (absurd)")
            continue
        if job is not None:
            seen_jobs.add(job)
        if perf.model_dir not in ids:
            model = model_id(perf.model_dir)
            ids[perf.model_dir] = (model, family(model),
                                   sizes.get(perf.model_dir) or registry_input_size(model))
        model, fam, size = ids[perf.model_dir]
        keyed = (perf.model_dir, entry["component"]) in COMPONENTS
        runtime = normalise_runtime(entry["raw_runtime"])
        peak, peak_min = _memory(entry, skips)
        chipset, form_factor = meta[entry["device"]]
        origin = f"{perf.path}: {entry['component']} on {entry['device']} / {entry['raw_runtime']}"
        records.append({
            "model": model,
            "source_model": f"{perf.model_dir}/{entry['component']}" if keyed else perf.model_dir,
            "family": fam, "device": entry["device"], "device_tier": "edge",
            "chipset": chipset, "form_factor": form_factor,
            "runtime": runtime, "runtime_version": _runtime_version(entry, runtime),
            "precision": normalise_precision(entry["raw_precision"], perf.model_dir),
            "input_size": size, "batch_size": 1,
            "compute_unit": _text(entry["compute_unit"]),
            "latency_ms": latency, "ms_per_sample": latency,
            "peak_memory_mb": peak, "peak_memory_min_mb": peak_min,
            "source": SOURCE,
            "source_ref": f"aihub:{perf.ref}" + (f" job {job}" if job else ""),
            "measured_at": perf.date, "conditions": _conditions(entry, perf),
            "record_key": f"job {job}" if job else None, "_origin": origin,
        })
    frame = validated_frame(records, str(root))
    counts = dict(skips)
    counts["files_read"] = len(files)
    counts["rows_read"] = len(raw)
    return frame, counts


def import_aihub(path: str | Path, store: MeasurementStore) -> ImportSummary:
    """Parse and validate everything under ``path``, then append it in one go (all or nothing)."""
    return run_import(SOURCE, read_aihub, path, store)


__all__ = ["MAX_CLASSIFIER_MS", "PerfFile", "discover", "entries", "import_aihub",
           "normalise_precision", "normalise_runtime", "read_aihub"]
