"""What the machine looked like while it was measured.

A latency is only as good as the conditions it was taken under: another process on the same
cores, a ``powersave`` governor or an OMP setting that disagrees with the runtime's own thread
count all move it. These functions collect that context cheaply (no library is imported that
the worker has not already imported) so that it can be stored in the record's ``conditions``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

#: Environment variables that decide how many threads native libraries use and how glibc allocates.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
              "KMP_AFFINITY", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX",
              "LD_PRELOAD")
#: Distributions whose versions matter to a latency.
LIBRARIES = ("torch", "torchvision", "timm", "onnx", "onnxruntime", "onnxruntime-gpu", "openvino",
             "numpy", "ai-edge-litert", "litert-torch")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` ``model name``), else what ``platform`` knows."""
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown-cpu"


def core_counts() -> tuple[int | None, int]:
    """(physical cores, logical CPUs); physical from distinct (package, core id) pairs."""
    logical = os.cpu_count() or 1
    text = _read("/proc/cpuinfo") or ""
    pairs: set[tuple[str, str]] = set()
    phys = core = None
    for line in text.splitlines() + [""]:
        if line.startswith("physical id"):
            phys = line.split(":", 1)[1].strip()
        elif line.startswith("core id"):
            core = line.split(":", 1)[1].strip()
        elif not line.strip():
            if core is not None:
                pairs.add((phys or "0", core))
            phys = core = None
    return (len(pairs) or None), logical


def governor() -> str | None:
    return _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """Installed versions of the libraries that matter, read from metadata (nothing imported)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def thread_env() -> dict[str, str]:
    return {k: os.environ[k] for k in THREAD_ENV if k in os.environ}


def machine_conditions() -> dict[str, object]:
    """Static facts about the host, taken once per worker."""
    physical, logical = core_counts()
    return {
        "cpu_model": cpu_model(), "physical_cores": physical, "logical_cpus": logical,
        "governor": governor(), "hostname": socket.gethostname(), "platform": platform.platform(),
        "python": sys.version.split()[0], "libraries": library_versions(), "env": thread_env(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


__all__ = ["LIBRARIES", "THREAD_ENV", "core_counts", "cpu_model", "governor", "library_versions",
           "load_average", "machine_conditions", "thread_env"]
