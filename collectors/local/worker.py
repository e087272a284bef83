"""One measurement in a fresh process: ``python -m collectors.local.worker '<json spec>'``.

Why a subprocess per configuration: a runtime that segfaults, leaks, hangs or leaves thread
pools behind takes only its own process down, every configuration starts from the same cold
state (allocator, caches, thread pools sized by its own ``OMP_NUM_THREADS``) and the RSS
high-water mark belongs to that one configuration. The worker prints exactly one line starting
with :data:`RESULT_PREFIX` followed by JSON: ``{"status": "ok", "record": {...}}`` or
``{"status": "failed"|"skipped", "reason": "..."}``; anything else it prints is ignored.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import fields
from datetime import datetime, timezone
from typing import Any

RESULT_PREFIX = "EFFBENCH_RESULT "


class StageError(RuntimeError):
    """A failure annotated with the stage it happened in (build, load/export, memory, timing)."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}".rstrip(": ")


def _stage(name: str, fn: Any, *args: Any) -> Any:
    from collectors.local.onnx_export import ExportError
    from collectors.local.runtimes import UnsupportedConfigError

    try:
        return fn(*args)
    except (UnsupportedConfigError, StageError):
        raise
    except ExportError as exc:
        raise StageError(f"export failed: {exc}") from exc
    except Exception as exc:
        raise StageError(f"{name} failed: {_one_line(exc)}") from exc


def _builder(ref: str, input_size: int) -> Any:
    """``build()`` for the runtime adapters: builds the module once, on first call only, and
    reports a failure as the build stage's."""
    from functools import cache

    from collectors.local.models import build_model

    return cache(lambda: _stage("build", build_model, ref, input_size)[0])


def measure_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration in this process and return the schema record (raises on failure).

    torch is imported only by what needs it (a PyTorch runtime, an ONNX export, a CUDA device
    name), so a worker timing a cached ONNX file starts in about a second.
    """
    from collectors.local import conditions as cond
    from collectors.local.models import input_size_of
    from collectors.local.runtimes import REGISTRY, Settings, UnsupportedConfigError
    from collectors.local.timing import TimingConfig, measure

    threads = int(spec["threads"])
    runtime = REGISTRY[spec["runtime"]]
    device = spec.get("device", "cpu")
    reason = runtime.check(device, spec["precision"])
    if reason:
        raise UnsupportedConfigError(reason)
    context = cond.machine_conditions()
    input_size = _stage("build", input_size_of, spec["ref"], spec.get("input_size"))
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in spec.items() if k in known}
                        | {"model_id": spec["model_id"], "input_size": input_size})
    session = _stage("load", runtime.load, _builder(spec["ref"], input_size), settings)
    try:
        mem = session.memory()
    except Exception as exc:  # a broken probe must not cost the latency
        from collectors.local.memory import MemoryResult

        mem = MemoryResult(None, None, None)
        context["memory_error"] = _one_line(exc)
    load_before = cond.load_average()
    timing = _stage("timing", measure, session.run_once, session.sync, TimingConfig(**spec.get("timing", {})))
    load_after = cond.load_average()
    measured_at = datetime.now(timezone.utc)
    if device == "cuda":
        import torch

        device_name, tier, unit = torch.cuda.get_device_name(0), "gpu", "gpu"
    else:
        device_name, tier, unit = context["cpu_model"], "cpu", "cpu"
    context.update(timing.conditions())
    context.update({
        "load_before": load_before, "load_after": load_after,
        **_torch_threads_used(), "requested_threads": threads, "precision_used": session.precision_used,
        "memory_detail": mem.detail, "timing_config": spec.get("timing", {}), **session.info,
    })
    record: dict[str, Any] = {
        "model": spec["model_id"], "source_model": spec["model_id"],
        "family": spec.get("family"), "device": device_name, "device_tier": tier, "compute_unit": unit,
        "runtime": runtime.name, "runtime_version": runtime.version(), "precision": spec["precision"],
        "layout": "nchw", "input_size": input_size, "batch_size": settings.batch_size, "threads": threads,
        **timing.record_fields(), **mem.record_fields(),
        "source": "local", "measured_at": measured_at.isoformat(),
        "conditions": json.dumps(context, sort_keys=True, default=str),
    }
    record["ms_per_sample"] = record["latency_ms"] / settings.batch_size
    host = context["hostname"]
    record["source_ref"] = f"local://{host}/{measured_at.strftime('%Y%m%dT%H%M%S.%fZ')}"
    record["record_key"] = "|".join(str(record[k]) for k in (
        "model", "device", "runtime", "precision", "input_size", "batch_size", "threads", "measured_at"))
    return record


def _torch_threads_used() -> dict[str, int]:
    """torch's thread pools, when this worker imported torch at all."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    return {"torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads()}


def main(argv: list[str] | None = None) -> int:
    from collectors.local.runtimes import UnsupportedConfigError

    argv = sys.argv[1:] if argv is None else argv
    try:
        spec = json.loads(argv[0])
        out: dict[str, Any] = {"status": "ok", "record": measure_spec(spec)}
        code = 0
    except UnsupportedConfigError as exc:
        out, code = {"status": "skipped", "reason": str(exc)}, 0
    except StageError as exc:
        traceback.print_exc(file=sys.stderr)
        out, code = {"status": "failed", "reason": str(exc)}, 1
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        out, code = {"status": "failed", "reason": f"worker failed: {_one_line(exc)}"}, 1
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(out, default=str), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
