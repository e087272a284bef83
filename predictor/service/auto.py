"""``method="auto"``: the method a small leave-one-chipset-out run on the sources found best.

Nested validation on the sources only: up to six comparable source configurations are held out
in turn, each with every device on its silicon (a held-out board whose twin stays among the
sources rewards recognising twins, which a genuinely new device has none of: grouped by device,
this choice preferred multi-source averaging that loses to plain KRT on new hardware) (the first of: same tier, runtime and precision; same runtime and precision; same tier;
with at least three configurations, else all), two draws, at the k of the standard grid nearest
to the number of known models, every registered ``auto`` candidate that can fit that k. The
choice is cached as JSON (``auto_method.json`` beside the store), keyed by the store's content,
so it is computed once per store state (≈ 30 s on the public data, 2 cores).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from predictor.service.target import Target

AUTO_CACHE = "auto_method.json"
AUTO_KS = (0, 1, 3, 5, 10)
AUTO_TARGETS = 6


def nearest_k(k: int) -> int:
    return min(AUTO_KS, key=lambda c: (abs(c - k), -c))


def candidates(k: int) -> list[str]:
    """``auto``'s candidates that can fit ``k`` known models (from the method registry)."""
    from predictor.methods import SPECS, method_names

    return [m for m in method_names(auto_only=True) if SPECS[m].make().required_known() <= k]


def choose_method(sources: Any, n_known: int, target: Target, cache: Path | None = None,
                  snapshot: str = "") -> str:
    """The best candidate on comparable source configurations (see module docstring)."""
    from predictor.evaluation import evaluate

    k = min(nearest_k(n_known), n_known)
    configs = sources.configs
    tier = None if target.tier == "unknown" else target.tier
    same_tier = (configs["device_tier"].astype(str) == str(tier)) if tier else pd.Series(
        True, index=configs.index)
    same_setup = ((configs["runtime"].astype(str).str.lower() == target.runtime.lower())
                  & (configs["precision"].astype(str).str.lower() == target.precision.lower()))
    pool = configs.index
    for mask in (same_tier & same_setup, same_setup, same_tier):
        if mask.sum() >= 3:
            pool = configs.index[mask]
            break
    key = f"{snapshot}|{sources.metric}|{tier}|{target.runtime}|{target.precision}|k{k}"
    try:
        stored = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    except (OSError, ValueError):  # an unreadable cache is recomputed, not an error
        stored = {}
    if key in stored:
        return stored[key]
    targets = list(pd.Series(pool).sample(min(AUTO_TARGETS, len(pool)), random_state=0))
    result = evaluate(sources, candidates(k), "lodo", ks=(k,), n_draws=2, targets=targets,
                      intervals=False, group="chipset", references=False)
    best = result.best_method(k) or ("krt" if n_known >= 1 else "lowrank")
    if cache is not None:
        stored[key] = best
        try:
            cache.write_text(json.dumps(stored, indent=1, sort_keys=True))
        except OSError:  # a read-only store still answers, it just does not cache
            pass
    return best


__all__ = ["AUTO_CACHE", "AUTO_KS", "candidates", "choose_method", "nearest_k"]
