"""Local measurement: latency distributions and peak memory on this machine, per runtime.

``collect`` runs the resumable campaign (one fresh worker process per configuration, results
appended as they land, failures recorded in the ``failures`` table); ``measure`` is the one
timing protocol every runtime goes through; ``parse_runtimes`` maps short names to stored ones.

Names are imported lazily: the worker process (``python -m collectors.local.worker``) imports
this package first, and must not pay for pandas/pyarrow/rich that only the campaign needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CollectSummary": "campaign", "collect": "campaign",
    "RUNTIMES": "runtimes", "UnknownRuntimeError": "runtimes", "parse_runtimes": "runtimes",
    "TimingConfig": "timing", "TimingResult": "timing", "measure": "timing",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'collectors.local' has no attribute {name!r}")
    return getattr(importlib.import_module(f"collectors.local.{_EXPORTS[name]}"), name)


__all__ = sorted(_EXPORTS)
