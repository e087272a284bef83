"""Trace many models into the store's ``features`` table, resumably.

``trace_models`` is what ``effbench features --models ...`` and the cold-start
predictor call: a model with no latency measured anywhere is traced once, its
row cached in the ``features`` table under (model, input_size), and every later
call reads it back. A name that is not a model, a model that fails to build or
to trace, never stops the others: each becomes one row of the returned failures
frame (and, for build/trace failures, of the store's ``failures`` table with
``kind = "trace"``, so that a resumed run does not retry them unless asked).

Model specifications (:func:`resolve_targets`):

- ``timm:all`` / ``timm:<fnmatch pattern>``: timm architectures (``timm.list_models``);
- a family name (``mobile_cnn``, ``transformer``, ...): every timm architecture
  and catalogue entry of that family;
- a catalogue set (``seed13``, ``aihub``) or any catalogue alias;
- any timm architecture name, with or without a pretrained tag;
- a path to an ``.onnx`` file (traced from its graph, see :mod:`onnx_graph`);
- a comma-separated list of any of these.

Every PyTorch model is built with ``pretrained=False`` and traced on the meta
device (:mod:`collectors.features.meta`); when that fails it is built for real
(random weights, BatchNorm randomised) and traced on CPU. A model whose blocks fuse for
inference (RepVGG, MobileOne, FastViT, LeViT, ...) is traced in its fused form, the network
that is measured (:func:`collectors.modelprep.reparameterize`): built on CPU, fused, then
traced on ``meta``. ``traced_on`` says which (``meta``, ``meta-reparam``, ``cpu``,
``cpu-reparam``).
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import logging
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from collectors.features.table import FEATURE_COLUMNS

__all__ = ["FAILURE_COLUMNS", "TRACE_COLUMNS", "TraceTarget", "resolve_targets", "stored_sizes",
           "trace_models", "trace_stored", "trace_target"]

log = logging.getLogger(__name__)

FEATURES = "features"
FAILURES = "failures"
#: Columns of a traced row: the feature table's, then how it was obtained.
TRACE_COLUMNS: tuple[str, ...] = (*FEATURE_COLUMNS, "traced_on", "seconds")
FAILURE_COLUMNS: tuple[str, ...] = ("model", "input_size", "kind", "reason")
#: Store failure kind of a build/trace failure (the collect campaign uses "failure"/"skip").
TRACE_KIND = "trace"


@dataclass(frozen=True)
class TraceTarget:
    """One model to trace: ``model`` is its key in the features table (a catalogue id,
    a timm architecture name without tag, or ``<stem>.onnx-<sha8>``); ``ref`` says how to
    build it (``registry:<id>``, ``timm:<name>``, ``onnx:<path>``)."""

    model: str
    ref: str
    family: str = "unknown"

    @property
    def kind(self) -> str:
        return self.ref.partition(":")[0]

    @property
    def name(self) -> str:
        return self.ref.partition(":")[2]


@cache
def _timm_names() -> tuple[str, ...]:
    import timm

    return tuple(timm.list_models())


def onnx_model_id(path: str | Path) -> str:
    """``<stem>.onnx-<first 8 hex of the file's SHA-1>``: a changed file is a new model."""
    path = Path(path)
    digest = hashlib.sha1(path.read_bytes()).hexdigest()[:8]
    return f"{path.stem}.onnx-{digest}"


def _timm_target(name: str) -> TraceTarget:
    from models_registry import canonical_id, family_from_rules

    return TraceTarget(canonical_id(name), f"timm:{name}", family_from_rules(name))


def _entry_target(entry: Any) -> TraceTarget:
    return TraceTarget(entry.id, f"registry:{entry.id}", entry.family)


def _unknown_reason(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), _timm_names(), n=3, cutoff=0.75)
    hint = f"; close timm names: {', '.join(close)}" if close else ""
    return f"unknown model {name!r}: not a catalogue alias, timm architecture or .onnx file{hint}"


def _resolve_one(item: str) -> tuple[list[TraceTarget], list[dict[str, Any]]]:
    import models_registry
    from models_registry import FAMILIES, family_from_rules

    text = item.strip()
    low = text.lower()
    if low.startswith("timm:"):
        pattern = low[5:] or "all"
        names = list(_timm_names()) if pattern == "all" else [n for n in _timm_names()
                                                               if fnmatch.fnmatchcase(n, pattern)]
        if not names:
            return [], [_failure(text, None, "unknown", f"no timm architecture matches {pattern!r}")]
        return [_timm_target(n) for n in names], []
    if low.endswith(".onnx") or Path(text).suffix.lower() == ".onnx":
        path = Path(text)
        if not path.is_file():
            return [], [_failure(text, None, "unknown", f"{text}: no such ONNX file")]
        return [TraceTarget(onnx_model_id(path), f"onnx:{path}", "unknown")], []
    if low in FAMILIES and low != "unknown":
        entries = [e for e in models_registry.model_set("all") if e.family == low and e.builder]
        targets = {t.model: t for t in map(_entry_target, entries)}
        for n in _timm_names():
            if family_from_rules(n) == low:
                targets.setdefault(_timm_target(n).model, _timm_target(n))
        return list(targets.values()), []
    if low in models_registry.set_names():
        return [_entry_target(e) for e in models_registry.model_set(low)], []
    try:
        return [_entry_target(models_registry.resolve(text))], []
    except models_registry.UnknownModelError:
        pass
    import timm

    if timm.is_model(text) or timm.is_model(low.split(".", 1)[0]):
        return [_timm_target(text if timm.is_model(text) else low.split(".", 1)[0])], []
    return [], [_failure(text, None, "unknown", _unknown_reason(text))]


def resolve_targets(models: str | Iterable[str]) -> tuple[list[TraceTarget], pd.DataFrame]:
    """Targets for a specification (see module docstring) and a failures frame for the
    names that are no model; duplicates dropped, order kept."""
    items = [models] if isinstance(models, str) else list(models)
    parts = [p for item in items for p in str(item).split(",") if p.strip()]
    targets: dict[str, TraceTarget] = {}
    failures: list[dict[str, Any]] = []
    for part in parts:
        found, failed = _resolve_one(part)
        failures += failed
        for t in found:
            targets.setdefault(t.model, t)
    return list(targets.values()), _failures_frame(failures)


# --- building and tracing one model ---------------------------------------------------------

def _build_fn(target: TraceTarget, size: int):
    """A zero-argument builder. A timm model asked for at another size than its default is
    built with ``img_size=size`` where its constructor takes one (ViTs fix their position
    embedding at construction), else as is (convnets take any size)."""
    import timm

    name, kwargs = target.name, {}
    if target.kind == "registry":
        import models_registry

        entry = models_registry.resolve(target.name)
        library, _, name = (entry.builder or "").partition(":")
        if library != "timm" or size == int(entry.input_size):
            return lambda: entry.build(pretrained=False)
        kwargs = dict(entry.builder_kwargs)
    elif size == default_input_size(target):
        return lambda: timm.create_model(name, pretrained=False)

    def build():
        try:
            return timm.create_model(name, pretrained=False, img_size=size, **kwargs)
        except TypeError:  # no img_size argument: a size-agnostic network
            return timm.create_model(name, pretrained=False, **kwargs)

    return build


def default_input_size(target: TraceTarget) -> int:
    """The catalogue entry's size, else the timm default config's, else 224."""
    if target.kind == "registry":
        import models_registry

        return int(models_registry.resolve(target.name).input_size)
    if target.kind == "timm":
        import timm

        cfg = timm.get_pretrained_cfg(target.name.split(".", 1)[0]) if "." not in target.name else \
            timm.get_pretrained_cfg(target.name)
        size = getattr(cfg, "input_size", None) if cfg is not None else None
        if size:
            return int(size[-1])
    return 224


def trace_target(target: TraceTarget, input_size: int | None = None,
                 max_cpu_cost: float = 150e6) -> dict[str, Any]:
    """The features row of one target (TRACE_COLUMNS). Raises ``FeatureError`` (a
    ValueError) with a one-line reason when it cannot be built or traced.

    A model the meta device cannot trace is traced on CPU only while parameters ×
    (size / 224)² stays under ``max_cpu_cost`` (a ViT-H at 1024 px would take an hour
    on two cores)."""
    from collectors.features.compute import FeatureError, compute_features
    from collectors.modelprep import fuses_for_inference, randomize_batchnorm, reparameterize

    start = time.perf_counter()
    if target.kind == "onnx":
        from collectors.features.onnx_graph import onnx_file_features

        row = onnx_file_features(target.name, input_size, model_id=target.model)
        row["traced_on"] = "onnx"
        row["seconds"] = round(time.perf_counter() - start, 3)
        return row
    size = int(input_size) if input_size is not None else default_input_size(target)
    build = _build_fn(target, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta_params = None
        try:
            from collectors.features.meta import build_on_meta

            meta_model = build_on_meta(build)
            meta_params = sum(p.numel() for p in meta_model.parameters())
            traced_on = "meta"
            if fuses_for_inference(meta_model):
                # fusing needs real weights: built on CPU, fused, then traced on shapes alone
                meta_model = reparameterize(randomize_batchnorm(build().eval())).to("meta")
                traced_on = "meta-reparam"
            row = compute_features(meta_model, size, model_id=target.model).to_row()
            row["traced_on"] = traced_on
        except Exception as meta_exc:  # noqa: BLE001 - any meta failure: try for real
            log.info("%s: meta trace failed (%s); tracing on CPU", target.model, meta_exc)
            cost = (meta_params or 0) * (size / 224) ** 2
            if cost > max_cpu_cost:
                detail = (str(meta_exc).strip().splitlines() or [type(meta_exc).__name__])[0]
                raise FeatureError(f"{target.model}: meta trace failed ({detail}) and a CPU trace of "
                                   f"{meta_params / 1e6:.0f} M params at {size}px would take too long") from meta_exc

            try:
                model = build().eval()
            except Exception as exc:  # noqa: BLE001 - builders raise anything
                detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise FeatureError(f"{target.model}: build failed: {type(exc).__name__}: {detail}") from exc
            randomize_batchnorm(model)
            fused = fuses_for_inference(model)
            row = compute_features(reparameterize(model), size, model_id=target.model).to_row()
            row["traced_on"] = "cpu-reparam" if fused else "cpu"
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


# --- many models, resumably -----------------------------------------------------------------

def _failure(model: str, size: int | None, kind: str, reason: str) -> dict[str, Any]:
    return {"model": model, "input_size": size, "kind": kind, "reason": reason.strip().splitlines()[0][:500]}


def _failures_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(FAILURE_COLUMNS))
    frame["input_size"] = pd.array(frame["input_size"], dtype="Int64")
    return frame


def _store_failure_row(model: str, size: int, reason: str) -> dict[str, Any]:
    """A row of the store's ``failures`` table in the collect campaign's columns."""
    when = datetime.now(timezone.utc)
    settings = json.dumps({"input_size": size}, sort_keys=True)
    ident = f"{model}|features|trace|{settings}|{when.isoformat()}"
    return {"failure_id": hashlib.sha1(ident.encode()).hexdigest()[:20], "kind": TRACE_KIND,
            "model": model, "runtime": "features", "device": "trace", "settings": settings,
            "reason": reason[:500], "stderr_tail": "", "when": when.replace(tzinfo=None)}


def _key(model: Any, size: Any) -> tuple[str, int]:
    return str(model), int(size)


def _stored(store: Any, table: str) -> pd.DataFrame:
    if store is None:
        return pd.DataFrame()
    try:
        return store.read(table)
    except Exception:  # noqa: BLE001 - an absent table is an empty one
        return pd.DataFrame()


def _sizes_for(target: TraceTarget, given: str,
               input_size: int | Sequence[int] | Mapping[str, Any] | None) -> list[int | None]:
    """The sizes asked for ``target``: [None] means its default."""
    value: Any = input_size
    if isinstance(input_size, Mapping):
        value = next((input_size[k] for k in (given, target.model, target.name) if k in input_size), None)
    if value is None or (not isinstance(value, (list, tuple, set)) and pd.isna(value)):
        return [None]
    values = value if isinstance(value, (list, tuple, set)) else [value]
    return list(dict.fromkeys(int(v) for v in values if v is not None and not pd.isna(v))) or [None]


def _trace_one(target: TraceTarget, size: int | None) -> tuple[dict[str, Any] | None, str | None]:
    """(row, None) or (None, one-line reason): what a worker sends back for one pair."""
    try:
        return trace_target(target, size), None
    except Exception as exc:  # noqa: BLE001 - model code raises anything; one model never stops the rest
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not reason.startswith(target.model):
            reason = f"{target.model}: {type(exc).__name__}: {reason}"
        return None, reason


def _trace_chunk(work: list[tuple[TraceTarget, int | None]]) -> list[tuple[dict[str, Any] | None, str | None]]:
    """A worker process's share: one native thread (two workers on two cores must not fight
    over them), every pair traced in turn."""
    import torch

    torch.set_num_threads(1)
    return [_trace_one(target, size) for target, size in work]


#: Fewer pairs than this per worker are traced in this process: a spawned worker spends ~4 s
#: importing torch and timm, about what it takes to trace 15 models on ``meta``.
MIN_PAIRS_PER_WORKER = 16


def _traced(work: list[tuple[TraceTarget, int | None]], jobs: int, chunk: int = 8):
    """Yield (position in ``work``, row or None, reason or None) as pairs finish: in this
    process for ``jobs`` = 1 or too few pairs (``MIN_PAIRS_PER_WORKER``), else in up to
    ``jobs`` worker processes (spawned: a forked copy of a process that already ran torch can
    deadlock), at most ``chunk`` pairs per task (a task per ``chunk`` pairs keeps the store's
    flushes and the progress bar moving; each worker imports torch and timm once)."""
    jobs = min(jobs, len(work) // MIN_PAIRS_PER_WORKER)
    if jobs <= 1:
        for i, (target, size) in enumerate(work):
            yield (i, *_trace_one(target, size))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    chunk = max(1, min(chunk, -(-len(work) // jobs)))
    starts = list(range(0, len(work), chunk))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_trace_chunk, work[s:s + chunk]): s for s in starts}
        for future in as_completed(futures):
            for offset, (row, reason) in enumerate(future.result()):
                yield (futures[future] + offset, row, reason)


def trace_models(models: str | Sequence[str],
                 input_size: int | Sequence[int] | Mapping[str, int | Sequence[int]] | None = None,
                 store: Any = None, progress: bool = True, retry_failures: bool = False,
                 flush_every: int = 25, jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features of every model of ``models`` at ``input_size`` (an int or list of ints for
    all, a mapping name → size(s), or None for each model's default), as
    ``(features, failures)``.

    With a ``store``, (model, input_size) pairs already in its ``features`` table are read
    back instead of traced, new rows are appended every ``flush_every`` models (an
    interrupted run loses at most that many), and build/trace failures are recorded in its
    ``failures`` table and not retried unless ``retry_failures``. ``features`` has one row
    per answered (model, input_size) in request order, columns TRACE_COLUMNS (cached rows
    keep the columns they were stored with) plus ``cached``; ``failures`` has
    FAILURE_COLUMNS with ``kind`` ``unknown`` (not a model), ``trace`` (failed now) or
    ``trace-recorded`` (failed in an earlier run). ``jobs`` > 1 traces in that many worker
    processes (the rows are the same; only this process writes to the store).
    """

    targets, failures_frame = resolve_targets(models)
    failures = failures_frame.to_dict("records")
    given = {t.model: t.name for t in targets}
    stored = _stored(store, FEATURES)
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if len(stored):
        for row in stored.drop_duplicates(["model", "input_size"], keep="last").to_dict("records"):
            done[_key(row["model"], row["input_size"])] = row
    failed_before: dict[tuple[str, int], str] = {}
    if not retry_failures:
        old = _stored(store, FAILURES)
        if len(old) and "kind" in old:
            for row in old[old["kind"] == TRACE_KIND].to_dict("records"):
                size = json.loads(row["settings"]).get("input_size")
                if size is not None:
                    failed_before[_key(row["model"], size)] = str(row["reason"])

    # what each requested pair is: cached, failed before, or to be traced (in request order)
    slots: list[tuple[str, Any]] = []
    work: list[tuple[TraceTarget, int | None]] = []
    for target in targets:
        for size in _sizes_for(target, given[target.model], input_size):
            try:
                if size is None and target.kind != "onnx":
                    size = default_input_size(target)
            except Exception as exc:  # noqa: BLE001 - a timm name whose config cannot be read
                slots.append(("failed", _failure(target.model, size, TRACE_KIND, f"{target.model}: {exc}")))
                continue
            cached = done.get(_key(target.model, size)) if size is not None else None
            if cached is not None:
                slots.append(("row", {**cached, "cached": True}))
            elif size is not None and _key(target.model, size) in failed_before:
                slots.append(("failed", _failure(target.model, size, "trace-recorded",
                                                 failed_before[_key(target.model, size)])))
            else:
                slots.append(("work", len(work)))
                work.append((target, size))

    results: dict[int, tuple[str, Any]] = {}
    pending_rows: list[dict[str, Any]] = []
    pending_failures: list[dict[str, Any]] = []

    def flush() -> None:
        if store is not None and pending_rows:
            store.append(pd.DataFrame(pending_rows), FEATURES)
        if store is not None and pending_failures:
            store.append(pd.DataFrame(pending_failures), FAILURES)
        pending_rows.clear()
        pending_failures.clear()

    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = (TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, disable=not progress or not work, transient=False) as bar:
        task = bar.add_task(f"tracing ({len(slots) - len(work)} stored)", total=len(work))
        for position, row, reason in _traced(work, jobs):
            target, size = work[position]
            bar.update(task, description=target.model[:40])
            if row is None:
                results[position] = ("failed", _failure(target.model, size, TRACE_KIND, reason))
                if size is not None:
                    pending_failures.append(_store_failure_row(target.model, size, reason))
                    failed_before[_key(target.model, size)] = reason
            else:
                key = _key(row["model"], row["input_size"])
                if key in done:  # an ONNX file whose size was only known after reading it
                    results[position] = ("row", {**done[key], "cached": True})
                else:
                    done[key] = row
                    pending_rows.append(row)
                    results[position] = ("row", {**row, "cached": False})
            if len(pending_rows) + len(pending_failures) >= flush_every:
                flush()
            bar.advance(task)
    flush()
    answered: list[dict[str, Any]] = []
    for kind, value in slots:
        if kind == "work":
            kind, value = results[value]
        (answered if kind == "row" else failures).append(value)
    columns_out = [*TRACE_COLUMNS, "cached"]
    frame = pd.DataFrame(answered)
    if frame.empty:
        frame = pd.DataFrame(columns=columns_out)
    else:
        extra = [c for c in frame.columns if c not in columns_out]
        frame = frame[[c for c in columns_out if c in frame.columns] + extra]
    frame = frame.reset_index(drop=True)
    return frame, _failures_frame(failures)


def stored_sizes(store: Any) -> dict[str, list[int]]:
    """Every model the store has a measurement of, with the input sizes it was measured at
    (timm's ``test_*`` dummies left out, as the latency matrix leaves them out): what a
    cold-start predictor trains on, so what ``effbench features --models stored`` traces."""
    rows = _stored(store, "measurements")
    if rows.empty or "model" not in rows:
        return {}
    model = rows["model"].astype(str)
    rows = rows[~model.str.startswith("test_")]
    size = pd.to_numeric(rows["input_size"] if "input_size" in rows else pd.Series(float("nan"), index=rows.index),
                         errors="coerce")
    return {str(m): sorted({int(v) for v in s.dropna()})
            for m, s in size.groupby(rows["model"].astype(str), sort=True)}


def trace_stored(store: Any, jobs: int = 2, progress: bool = True, retry_failures: bool = False,
                 models: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`trace_models` over :func:`stored_sizes` (only ``models`` of them, when given): the
    features of every stored model at every size it was measured at, resumably (about 5 min
    for the public data's ~1,750 pairs with two worker processes on two cores, seconds once
    cached)."""
    sizes = stored_sizes(store)
    if models is not None:
        wanted = set(map(str, models))
        sizes = {m: s for m, s in sizes.items() if m in wanted}
    if not sizes:
        return trace_models([], store=store, progress=False)
    return trace_models(list(sizes), input_size={m: s or None for m, s in sizes.items()}, store=store,
                        progress=progress, retry_failures=retry_failures, jobs=jobs)
