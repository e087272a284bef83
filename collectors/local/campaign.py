"""The resumable measurement loop: models × runtimes × threads × batch sizes × precisions.

Each configuration runs in a fresh worker process (:mod:`collectors.local.worker`) and its row
is appended to the store the moment it is done, so an interrupted campaign loses at most the
configuration in flight, and running the same ``collect`` again measures only what is missing.
A worker that crashes, fails to export, times out or hangs becomes one row of the ``failures``
table and the loop moves on. Configurations that cannot run here (runtime not installed,
precision not supported on this device) are recorded there too, with ``kind = "skip"``; skips
are retried on the next call (the extra may have been installed since), failures are not unless
``retry_failures=True``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from collectors.local.conditions import cpu_model
from collectors.local.memory import TIMED_ALLOCATOR_ENV
from collectors.local.models import ModelSpec, resolve_models
from collectors.local.runtimes import REGISTRY, parse_runtimes
from collectors.local.timing import TimingConfig
from collectors.local.worker import RESULT_PREFIX
from collectors.schema import to_frame
from collectors.store import MeasurementStore, open_store

FAILURES = "failures"
_REPO_ROOT = Path(__file__).resolve().parents[2]
#: Columns a measurement must share with a planned configuration for the latter to be skipped.
RESUME_KEY = ("model", "device", "runtime", "threads", "batch_size", "precision", "input_size")


class DeviceUnavailableError(ValueError):
    """``device`` is not auto/cpu/cuda, or CUDA was asked for on a machine without it."""


@dataclass(frozen=True)
class Config:
    model: ModelSpec
    runtime: str
    threads: int
    batch_size: int
    precision: str
    input_size: int | None

    @property
    def label(self) -> str:
        size = f"@{self.input_size}" if self.input_size else ""
        return (f"{self.model.id}{size} {self.runtime} t{self.threads} b{self.batch_size} "
                f"{self.precision}")

    def settings(self) -> dict[str, object]:
        return {"threads": self.threads, "batch_size": self.batch_size, "precision": self.precision,
                "input_size": self.input_size}


@dataclass
class CollectSummary:
    """What one ``collect`` call did; ``rows`` are the new measurements."""

    device: str
    planned: int = 0
    already_stored: int = 0
    measured: int = 0
    remeasured: int = 0
    failed: int = 0
    skipped: int = 0
    wall_s: float = 0.0
    rows: list[dict[str, object]] = field(default_factory=list)
    failures: list[dict[str, object]] = field(default_factory=list)

    @property
    def ran(self) -> int:
        return self.measured + self.failed

    def summary(self) -> str:
        again = f" ({self.remeasured} measured again)" if self.remeasured else ""
        lines = [f"collect on {self.device}: {self.planned} planned, {self.already_stored} already "
                 f"stored, {self.measured} measured{again}, {self.failed} failed, {self.skipped} "
                 f"skipped in {self.wall_s:.1f} s"]
        for row in self.rows:
            noisy = ("  NOISY" if row["noisy"] else "") + ("  (again)" if row.get("remeasured") else "")
            lines.append(f"  {row['model']:<24} {row['runtime']:<15} t{row['threads']} b{row['batch_size']} "
                         f"{row['precision']:<5} p50 {row['latency_ms']:9.3f} ms ±{row['ci_pct']:.2f}% "
                         f"drift {row.get('drift_pct', float('nan')):.1f}% n={row['n_samples']} "
                         f"mem {row['peak_memory_mb'] or float('nan'):.1f} MB "
                         f"({row['memory_method']}){noisy}")
        for fail in self.failures:
            lines.append(f"  {fail['kind'].upper():<7} {fail['model']} {fail['runtime']} "
                         f"{fail['settings']}: {fail['reason']}")
        return "\n".join(lines)


def detect_device(device: str = "auto") -> tuple[str, str]:
    """``("cpu"|"cuda", device name as stored)``; ``auto`` picks CUDA when torch sees a GPU."""
    if device not in ("auto", "cpu", "cuda"):
        raise DeviceUnavailableError(f"device must be auto, cpu or cuda, got {device!r}")
    if device in ("auto", "cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return "cuda", torch.cuda.get_device_name(0)
        except ImportError:
            pass
        if device == "cuda":
            raise DeviceUnavailableError("device 'cuda' requested but torch sees no CUDA GPU")
    return "cpu", cpu_model()


def plan(models: Sequence[ModelSpec], runtimes: Sequence[str], threads: Sequence[int],
         batch_sizes: Sequence[int], precisions: Sequence[str], input_size: int | None) -> list[Config]:
    """The grid, model-major so every model's ONNX file is exported once and then reused."""
    return [Config(m, r, int(t), int(b), p, input_size or m.input_size)
            for m, r, t, b, p in itertools.product(models, runtimes, threads, batch_sizes, precisions)]


def _key(values: Sequence[object]) -> tuple[str, ...]:
    return tuple("" if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA else str(v)
                 for v in values)


def _done_keys(store: MeasurementStore, device: str) -> set[tuple[str, ...]]:
    df = store.measurements(source="local", device=device)
    return {_key(row) for row in df[list(RESUME_KEY)].itertuples(index=False)}


def _failed_keys(store: MeasurementStore, device: str) -> set[tuple[str, ...]]:
    df = store.read(FAILURES)
    if df.empty or "kind" not in df:
        return set()
    df = df[(df["kind"] == "failure") & (df["device"] == device)]
    out = set()
    for row in df.itertuples(index=False):
        s = json.loads(row.settings)
        out.add(_key([row.model, device, row.runtime, s.get("threads"), s.get("batch_size"),
                      s.get("precision"), s.get("input_size")]))
    return out


def _config_key(config: Config, device: str) -> tuple[str, ...]:
    return _key([config.model.id, device, config.runtime, config.threads, config.batch_size,
                 config.precision, config.input_size])


def worker_env(threads: int) -> dict[str, str]:
    """The worker's environment: thread counts pinned, repo importable, and glibc's allocator told
    to keep its heap (:data:`collectors.local.memory.TIMED_ALLOCATOR_ENV`).

    Why the allocator: glibc's defaults mmap large buffers and trim the heap as soon as its top is
    free, so an inference that allocates its activations (PyTorch eager; ONNX Runtime and OpenVINO
    reuse arenas) pays fresh page faults every time, and on a VM a page fault is a trip to the host.
    Measured here (2026-11-29, paired fresh processes, 5 s loops): mobilenetv3_large_100 at one
    thread median 19.7 ms with the heap kept against 32.1 ms with the defaults (faster in 8 of 8
    pairs), resnet50 at two threads faster in 4 of 5 pairs. Production CPU serving keeps its heap
    too (jemalloc/tcmalloc). The RSS memory probe lowers the threshold for its one inference only
    (``collectors.local.memory.mmapped_large_buffers``); the settings are recorded in each
    measurement's ``conditions.env``."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.update(TIMED_ALLOCATOR_ENV)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def _failure_row(config: Config, device: str, kind: str, reason: str, stderr: str) -> dict[str, object]:
    when = datetime.now(timezone.utc)
    settings = json.dumps(config.settings(), sort_keys=True)
    ident = f"{config.model.id}|{config.runtime}|{device}|{settings}|{when.isoformat()}"
    return {"failure_id": hashlib.sha1(ident.encode()).hexdigest()[:20], "kind": kind,
            "model": config.model.id, "runtime": config.runtime, "device": device,
            "settings": settings, "reason": reason.strip().splitlines()[0][:500] if reason.strip() else kind,
            "stderr_tail": stderr[-2000:], "when": when.replace(tzinfo=None)}


def run_worker(config: Config, device_kind: str, timing: TimingConfig, timeout_s: float,
               onnx_cache: str | None = None) -> tuple[str, dict[str, object] | str, str]:
    """Run one configuration in a fresh process: ``("ok", record, stderr)`` or ``(kind, reason, stderr)``."""
    spec = {"model_id": config.model.id, "ref": config.model.ref, "family": config.model.family,
            "runtime": config.runtime, "device": device_kind, "onnx_cache": onnx_cache,
            "timing": timing.to_dict(), **config.settings()}
    try:
        proc = subprocess.run([sys.executable, "-m", "collectors.local.worker", json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout_s, env=worker_env(config.threads),
                              cwd=os.getcwd())
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return "failure", f"timeout: no result within {timeout_s:.0f} s", err
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX):])
    if result is None:
        return "failure", f"worker crashed: exit code {proc.returncode} and no result line", proc.stderr
    if result["status"] == "ok":
        return "ok", result["record"], proc.stderr
    return ("skip" if result["status"] == "skipped" else "failure"), result["reason"], proc.stderr


def collect(models: str | list[str], runtimes: str | list[str], threads: Sequence[int] = (1,),
            batch_sizes: Sequence[int] = (1,), precisions: Sequence[str] = ("fp32",),
            input_size: int | None = None, store: MeasurementStore | str | os.PathLike[str] | None = None,
            max_seconds_per_model: float = 60, timeout_s: float | None = None, progress: bool = True,
            device: str = "auto", timing: TimingConfig | None = None, retry_failures: bool = False,
            onnx_cache: str | None = None, remeasure_above_ci: float | None = None) -> CollectSummary:
    """Measure every missing configuration of the grid and append each result as it lands.

    ``max_seconds_per_model`` caps the timed loop of one configuration (``timing`` overrides the
    whole protocol); ``timeout_s`` (default ``3 * max_seconds + 240``) bounds a worker including
    imports, model build and ONNX export. ``remeasure_above_ci``: after the pass, every
    configuration measured by this call whose p50 CI half-width exceeds this many percent is
    measured once more in a fresh worker. Why: on a shared machine a noisy episode can span one
    configuration's whole timing window; minutes later it is usually over. Both rows are kept
    (nothing measured is lost); the newer is the store's latest view, and ``summary.rows`` lists
    both (the second with ``remeasured=True``).
    """
    t0 = time.perf_counter()
    specs = resolve_models(models)
    names = parse_runtimes(runtimes)
    store = store if isinstance(store, MeasurementStore) else open_store(store)
    device_kind, device_name = detect_device(device)
    cfg = timing or TimingConfig(max_seconds=max_seconds_per_model)
    timeout = timeout_s if timeout_s is not None else 3 * cfg.max_seconds + 240
    configs = plan(specs, names, threads, batch_sizes, precisions, input_size)
    summary = CollectSummary(device=device_name, planned=len(configs))
    done = _done_keys(store, device_name)
    if not retry_failures:
        done |= _failed_keys(store, device_name)
    todo = [c for c in configs if _config_key(c, device_name) not in done]
    summary.already_stored = len(configs) - len(todo)

    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())

    def run(config: Config, remeasured: bool = False) -> float | None:
        """One configuration, stored as it lands; its CI half-width in %, None if it did not run."""
        # not installed / unsupported precision: known without starting a worker
        skip_reason = REGISTRY[config.runtime].check(device_kind, config.precision)
        if skip_reason:
            status, payload, stderr = "skip", skip_reason, ""
        else:
            status, payload, stderr = run_worker(config, device_kind, cfg, timeout, onnx_cache)
        if status != "ok":
            row = _failure_row(config, device_name, status, str(payload), stderr)
            store.append(pd.DataFrame([row]), FAILURES)
            summary.failures.append(row)
            if status == "skip":
                summary.skipped += 1
            else:
                summary.failed += 1
            return None
        assert isinstance(payload, dict)
        store.append(to_frame([payload], origin=f"local worker {config.label}"))
        if remeasured:
            summary.remeasured += 1
        else:
            summary.measured += 1
        conditions = json.loads(payload["conditions"])
        ci = float(conditions.get("ci_half_width_pct", float("nan")))
        summary.rows.append({**{k: payload.get(k) for k in (
            "model", "runtime", "threads", "batch_size", "precision", "input_size", "latency_ms",
            "n_samples", "noisy", "peak_memory_mb", "memory_method")},
            "ci_pct": ci, "drift_pct": conditions.get("drift_pct", float("nan")),
            "remeasured": remeasured})
        return ci

    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("measuring", total=len(todo))
        unsteady = []
        for config in todo:
            bar.update(task, description=config.label)
            ci = run(config)
            if remeasure_above_ci is not None and ci is not None and not ci <= remeasure_above_ci:
                unsteady.append(config)
            bar.advance(task)
        if unsteady:
            bar.update(task, total=len(todo) + len(unsteady))
        for config in unsteady:
            bar.update(task, description=f"{config.label} (again: CI > ±{remeasure_above_ci:g} %)")
            run(config, remeasured=True)
            bar.advance(task)
    summary.wall_s = time.perf_counter() - t0
    return summary


__all__ = ["CollectSummary", "Config", "DeviceUnavailableError", "FAILURES", "RESUME_KEY", "collect", "detect_device", "plan",
           "run_worker", "worker_env"]
