"""Peak memory of one inference, by the most precise method each runtime allows.

What is measured: the *working* memory of one inference after the model is loaded — weights
and the input tensor are excluded, activations, workspaces and arena growth are included. It is
taken on the first inference after loading (before warm-up), because runtimes with arenas
(ONNX Runtime, OpenVINO, the CUDA caching allocator) allocate once and reuse afterwards, so a
later inference would show a delta of zero. The method is stored in ``memory_method``:

``torch.profiler-live-tensors``
    PyTorch eager on CPU: ``torch.profiler`` with ``profile_memory=True``; the running sum of
    allocation (+) and free (-) events in time order, its maximum is the live-tensor peak.
``cuda-max-allocated``
    PyTorch on CUDA: ``torch.cuda.max_memory_allocated`` minus the allocation before the call.
``ort-profiling``
    ONNX Runtime: the session profiler's per-node ``mem_in_use_peak`` (bytes in use in ORT's
    arena, present in ORT >= 1.2x profiles; checked at run time), maximum over nodes.
``rss-hwm-delta``
    Everyone else (OpenVINO, LiteRT, torch.compile): the process's resident-set high-water mark
    (``VmHWM``) after the inference minus the RSS before it, with the mark reset first through
    ``/proc/self/clear_refs`` ("5"). For that one inference glibc's mmap threshold is lowered to
    64 KiB (``mallopt``), so large buffers are mmapped and returned and RSS follows the live
    allocation; afterwards it is set back to the timed setting the worker starts with
    (:data:`TIMED_ALLOCATOR_ENV`: buffers below 32 MiB from the heap, heap trimmed above 64 MiB
    free), so the timed inferences reuse the heap. Why not a low ``MALLOC_MMAP_THRESHOLD_`` for
    the whole process: an mmap + page faults per activation made torch.compile's measured latency
    1.6× slower (resnet18, 2 threads: 120 ms vs 75 ms eager).
``rss-hwm-delta-incl-arena``
    LiteRT: the same, across ``allocate_tensors()`` and the first ``invoke()``. LiteRT plans its
    whole tensor arena in ``allocate_tensors`` (a later inference allocates nothing), and the
    XNNPACK delegate packs its own copy of fp32 weights there, so this figure includes that copy:
    resnet18 86 MB (weights 45 MB), mobilenetv2_100 26 MB. Compare it with other runtimes'
    figures knowing that.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MB = float(1 << 20)


@dataclass(frozen=True)
class MemoryResult:
    peak_mb: float | None
    method: str | None
    detail: dict[str, float] | None = None

    def record_fields(self) -> dict[str, object]:
        return {"peak_memory_mb": self.peak_mb, "memory_method": self.method}


def _status_kb(field: str) -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+)\s+kB", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def reset_rss_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
PROBE_MMAP_THRESHOLD = 64 << 10
TIMED_MMAP_THRESHOLD, TIMED_TRIM_THRESHOLD = 32 << 20, 64 << 20  # 32 MiB: glibc's maximum
#: The worker's allocator setting for timing (see ``collectors.local.campaign.worker_env``).
TIMED_ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(TIMED_MMAP_THRESHOLD),
                       "MALLOC_TRIM_THRESHOLD_": str(TIMED_TRIM_THRESHOLD)}


def _libc() -> ctypes.CDLL | None:
    """glibc (with ``mallopt`` and ``malloc_trim``), or None: with another C library the probe
    reads RSS as it is."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # glibc only
        return libc
    except (OSError, AttributeError):
        return None


@contextmanager
def mmapped_large_buffers() -> Iterator[bool]:
    """Within the block, buffers ≥ 64 KiB are mmapped and the heap's free pages are returned
    first (``malloc_trim``: glibc would otherwise serve a buffer from heap pages that are already
    resident, invisible to RSS); after it, the timed setting of :data:`TIMED_ALLOCATOR_ENV` is
    restored. Yields whether glibc took the settings."""
    libc = _libc()
    if libc is None:
        yield False
        return
    ok = bool(libc.mallopt(M_MMAP_THRESHOLD, PROBE_MMAP_THRESHOLD))
    libc.malloc_trim(0)
    try:
        yield ok
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, TIMED_MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, TIMED_TRIM_THRESHOLD)


def rss_hwm_delta(run_once: Callable[[], object], sync: Callable[[], object] | None = None,
                  method: str = "rss-hwm-delta") -> MemoryResult:
    """RSS high-water growth across one call of ``run_once`` (see the module docstring);
    ``method`` names what that call includes when it is more than one inference."""
    if _status_kb("VmHWM") is None:
        return MemoryResult(None, None)
    with mmapped_large_buffers() as mmapped:
        reset = reset_rss_hwm()
        before = _status_kb("VmRSS") or 0.0
        if not reset:  # without a reset the mark may predate this call: report the absolute mark
            before = 0.0
        run_once()
        if sync:
            sync()
        hwm = _status_kb("VmHWM") or 0.0
    return MemoryResult(max(hwm - before, 0.0) / 1024.0, method if reset else "rss-hwm",
                        {"rss_before_mb": before / 1024.0, "rss_hwm_mb": hwm / 1024.0,
                         "large_buffers_mmapped": float(mmapped)})


def torch_profiler_peak(run_once: Callable[[], object]) -> MemoryResult:
    """Live-tensor peak of one call from ``torch.profiler`` memory events (CPU tensors)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run_once()
    # The raw Kineto events carry every allocation (+bytes) and free (-bytes); the aggregated
    # ``prof.events()`` folds allocations into their operator and keeps only stray frees.
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    live = peak = 0
    for event in events:
        live += int(event.nbytes())
        peak = max(peak, live)
    return MemoryResult(peak / MB, "torch.profiler-live-tensors", {"memory_events": float(len(events))})


def cuda_peak(run_once: Callable[[], object]) -> MemoryResult:
    """CUDA caching-allocator peak of one call, above what was allocated before it."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    run_once()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    return MemoryResult((peak - before) / MB, "cuda-max-allocated", {"allocated_before_mb": before / MB})


def ort_profile_peak(profile_json: str | Path) -> MemoryResult | None:
    """Largest ``mem_in_use_peak`` over the profile's node events; None if this ORT lacks it."""
    try:
        events = json.loads(Path(profile_json).read_text())
    except (OSError, ValueError):
        return None
    peaks = [int(e["args"]["mem_in_use_peak"]) for e in events
             if isinstance(e, dict) and "mem_in_use_peak" in e.get("args", {})]
    if not peaks:
        return None
    return MemoryResult(max(peaks) / MB, "ort-profiling", {"profiled_nodes": float(len(peaks))})


__all__ = ["MemoryResult", "TIMED_ALLOCATOR_ENV", "cuda_peak", "mmapped_large_buffers",
           "ort_profile_peak", "reset_rss_hwm", "rss_hwm_delta", "torch_profiler_peak"]
