"""``method="auto"``: the power-law KRT unless a candidate beats it in a small nested run on the
sources; plain KRT where there is too little to validate on.

Nested validation on the sources only: up to six comparable source configurations (the first of:
same tier, runtime and precision; same runtime and precision; same tier; with at least three
configurations, else all) are held out in turn, each with every device on its silicon (a board
whose twin stays among the sources rewards recognising twins, which a new device has none of),
two draws, at the k of the standard grid nearest to the number of known models. Every
registered ``auto`` candidate that can fit that k runs beside the prior, ``krt_power`` (KRT with a
power law: on the forward and chipset-grouped AI Hub benchmarks at k = 5 it is within 0.01 of the
best method in within ±10 %, with Spearman within 0.003 of plain KRT); a candidate replaces the
prior only if it leads it by ``MARGIN`` in within-±10 % and is at or above it in Spearman (see
``_beyond_prior``). With fewer than three comparable devices nothing can be validated and the
plain single-source KRT baseline is kept without a run (the timm GPUs: one other GPU; there
the exponent fitted on five models costs 0.05 within ±10 % against the plain ratio). The choice is cached as JSON (``auto_method.json``
beside the store), keyed by the store's content, so it is computed once per store state
(≈ 30–60 s on the public data, 2 cores).
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
#: fewer comparable devices than this among the nested targets: the baseline is kept
MIN_DEVICES = 3


def nearest_k(k: int) -> int:
    return min(AUTO_KS, key=lambda c: (abs(c - k), -c))


def candidates(k: int) -> list[str]:
    """``auto``'s candidates that can fit ``k`` known models (from the method registry)."""
    from predictor.methods import SPECS, method_names

    return [m for m in method_names(auto_only=True) if SPECS[m].make().required_known() <= k]


#: the plain single-source KRT: kept where nothing can be validated (too few comparable devices)
BASELINE = "plain_krt"
#: what ``auto`` answers with unless a candidate beats it in the nested run
PRIOR = "krt_power"
#: by this much within ±10 % at least: six nested targets × two draws score ~100 models, and
#: the sources' devices are older than the target. Measured (k = 5, forward AI Hub / chipset
#: lodo): no margin 0.391 / 0.620, 0.05 0.418 / —, 0.10 0.440 / 0.633 — the nested run kept
#: swapping the prior for methods that then scored lower on the held-out devices
MARGIN = 0.10


def _beyond_prior(per_target: pd.DataFrame, prior: str = PRIOR) -> str | None:
    """The candidate with the best within-±10 % among those above the prior in within-±10 % and
    at or above it in Spearman, on the targets every method could score; the prior itself
    when none is; None when the prior could not be scored (k = 0).

    Why: a nested run on six targets is noisy, and a choice by the best mean alone picked methods
    that lost to the baseline on the real held-out devices; the prior is the method the
    benchmarks support, and a candidate has to beat it on both criteria to replace it."""
    if per_target.empty or prior not in set(per_target["method"]):
        return None
    scored = per_target.groupby("method")["target"].agg(set)
    common = set.intersection(*scored)
    table = (per_target[per_target["target"].isin(common)]
             .groupby("method")[["within_10", "spearman"]].mean())
    if prior not in table.index:
        return None
    base = table.loc[prior]
    better = table[(table["within_10"] >= base["within_10"] + MARGIN)
                   & (table["spearman"] >= base["spearman"])]
    return str(better["within_10"].idxmax()) if len(better) else prior


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
    names = candidates(k) + ([BASELINE] if k >= 1 else [])  # the prior is a candidate
    if k >= 1 and configs.loc[targets, "device"].nunique() < MIN_DEVICES:
        # too few comparable devices for the nested run to say anything about a new one (timm:
        # one other GPU, whose held-out run has only CPUs as sources): keep the baseline
        return _remember(cache, stored, key, BASELINE)
    result = evaluate(sources, names, "lodo", ks=(k,), n_draws=2, targets=targets,
                      intervals=False, group="chipset", references=False)
    best = _beyond_prior(result.per_target) or result.best_method(k) or (
        "krt" if n_known >= 1 else "lowrank")
    return _remember(cache, stored, key, best)


def _remember(cache: Path | None, stored: dict, key: str, best: str) -> str:
    if cache is not None:
        stored[key] = best
        try:
            cache.write_text(json.dumps(stored, indent=1, sort_keys=True))
        except OSError:  # a read-only store still answers, it just does not cache
            pass
    return best


__all__ = ["AUTO_CACHE", "AUTO_KS", "candidates", "choose_method", "nearest_k"]
