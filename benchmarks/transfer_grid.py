"""Transfer accuracy on new hardware: the forward and chipset-grouped LODO grid, with references.

Prints, for ``forward`` (AI Hub, T = 2024-10-01: sources as the store stood before T, targets the
devices first seen from T on) and for chipset-grouped ``lodo`` (AI Hub; timm), at
k ∈ {1, 3, 5, 10}: within ±10 %, Spearman and the empirical coverage of the 90 % conformal
intervals per method (``plain_krt`` is the baseline), with the two references beside every row
(the in-sample single-source oracle over the same sources, the test–retest rate of the
targets' own re-profiles). Then the default method of ``effbench predict`` (``auto``, chosen per
target by the nested validation of ``predictor.service.auto`` on that target's sources only) at
k = 5 on forward AI Hub and on timm GPUs, the goals and by how much each is missed, peak memory
through the same methods, and the wall time of the grid (goal ≤ 180 s on this 2-core machine).

    python benchmarks/transfer_grid.py [--store DIR] [--jobs 2] [--draws 3] [--methods ...]

Without ``--store`` the public data (``../shared/data`` or ``$EFFBENCH_DATA``) is imported into
a temporary store first (not timed). The public data have no tail latency (p99): AI Hub
publishes one inference time per cell and the timm files throughput; p99 exists only in local
collections (``latency_p99_ms``), so it is scored only when the store holds some.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

CUTOFF = "2024-10-01"
KS = (1, 3, 5, 10)
METHODS = "plain_krt,krt,krt_power,krt_family,blend,rank"
BASELINE = "plain_krt"
GOALS = {"forward_within_10": 0.70, "forward_spearman": 0.98, "forward_beats_share": 0.80,
         "timm_gpu_within_10": 0.85, "grid_seconds": 180.0}


def table(result, label: str) -> pd.DataFrame:
    """One row per (method, k): the scores (means over held-out devices) and the references."""
    board = result.scoreboard(baseline=BASELINE).set_index(["method", "k"])
    out = board[["within_10", "spearman", "coverage"]].copy()
    out.insert(0, "devices", [result.estimate(m, k).n for m, k in board.index])
    for c in ("oracle", "retest"):
        out[f"ref:{c}_w10"] = board[f"ref_{c}_within_10"]
        out[f"ref:{c}_rho"] = board[f"ref_{c}_spearman"]
    out["beats_" + BASELINE] = board["beats_baseline"]
    print(f"\n[{label}] mean over held-out devices; coverage of the 90 % intervals; references "
          f"(ref:) over the same targets; beats_{BASELINE} = share of target configurations "
          "with a higher within ±10 %")
    print(out.sort_index().round(3).to_string())
    return out


def auto_scores(matrix, protocol: str, k: int, draws: int, jobs: int, targets=None,
                **kw) -> pd.DataFrame:
    """``auto`` as ``effbench predict`` runs it: per target, the method its nested validation on
    that target's own sources picks (no cache), then that method through ``evaluate``."""
    from predictor.evaluation import evaluate, make_splits
    from predictor.evaluation.protocols import forward_view
    from predictor.evaluation.runner import _target_of
    from predictor.service.auto import choose_method

    splits = make_splits(matrix.configs, protocol, targets=targets, history=matrix.history, **kw)
    chosen: dict[tuple, str] = {}
    by_method: dict[str, list[str]] = {}
    for split in splits:
        target = _target_of(matrix.configs, split.target)
        sources = matrix.subset(configs=list(split.sources))
        if split.as_of is not None:
            sources = forward_view(matrix.subset(configs=list(split.sources) + [split.target]),
                                   split).without([split.target])
            seen = sources.values.notna().sum()
            sources = sources.subset(configs=list(seen.index[seen >= 5]))
        key = (split.sources, target.tier, target.runtime, target.precision)
        if key not in chosen:
            chosen[key] = choose_method(sources, k, target)
        by_method.setdefault(chosen[key], []).append(split.target)
    rows = []
    for method, chosen_targets in by_method.items():
        r = evaluate(matrix, {"auto": method}, protocol, ks=(k,), n_draws=draws,
                     targets=chosen_targets, n_jobs=jobs, references=False, **kw)
        rows.append(r.per_target.assign(chosen=method))
    print(f"  auto chose: { {m: len(t) for m, t in by_method.items()} } (targets per method)")
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def goal_line(name: str, value: float, goal: float, higher: bool = True) -> str:
    met = value >= goal if higher else value <= goal
    gap = "" if met else f" — missed by {abs(goal - value):.3g}"
    return f"  {name}: {value:.3f} (goal {'≥' if higher else '≤'} {goal:g}){gap}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--no-auto", action="store_true", help="skip the default (auto) rows")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 200)

    from predictor.evaluation import evaluate
    from predictor.matrix import matrix_from_store

    from collectors.importers import public_store

    store = public_store(args.store)
    aihub = matrix_from_store(store, sources=["aihub"])
    timm = matrix_from_store(store, sources=["timm"])
    grid_start = time.perf_counter()
    runs = {}
    for label, matrix, protocol, kw in (
            (f"AI Hub forward T={CUTOFF}", aihub, "forward", {"cutoff": CUTOFF}),
            ("AI Hub lodo:chipset", aihub, "lodo", {"group": "chipset"}),
            ("timm lodo:chipset", timm, "lodo", {"group": "chipset"})):
        t = time.perf_counter()
        runs[label] = evaluate(matrix, args.methods, protocol, ks=KS, n_draws=args.draws,
                               n_jobs=args.jobs, **kw)
        print(f"{label}: {len(runs[label].per_target)} fits scored in "
              f"{time.perf_counter() - t:.1f} s")
    grid = time.perf_counter() - grid_start
    tables = {label: table(result, label) for label, result in runs.items()}

    timm_gpu = [c for c in timm.configs.index if timm.configs.at[c, "device_tier"] == "gpu"]
    gpu = runs["timm lodo:chipset"].per_target
    gpu = gpu[gpu.target.isin(timm_gpu) & (gpu.k == 5)]
    print("\n[timm GPUs, k=5] within ±10 % per method:",
          gpu.groupby("method")["within_10"].mean().round(3).to_dict())

    print("\nGoals at k = 5:")
    forward = runs[f"AI Hub forward T={CUTOFF}"]
    auto_fwd = auto_gpu = None
    auto_seconds = 0.0
    if not args.no_auto:
        t = time.perf_counter()
        auto_fwd = auto_scores(aihub, "forward", 5, args.draws, args.jobs, cutoff=CUTOFF)
        auto_gpu = auto_scores(timm, "lodo", 5, args.draws, args.jobs, targets=timm_gpu,
                               group="chipset")
        auto_seconds = time.perf_counter() - t
    fwd = forward.per_target[forward.per_target.k == 5]
    refs = forward.reference_means()
    refs = refs[(refs.method == BASELINE) & (refs.k == 5)].iloc[0]
    print(f" forward AI Hub references (same targets): best single source in hindsight "
          f"{refs.oracle_within_10:.3f} / ρ {refs.oracle_spearman:.3f}; re-profiles of the "
          f"same cell {refs.retest_within_10:.3f} / ρ {refs.retest_spearman:.3f}")
    base = fwd[fwd.method == BASELINE].groupby("target")["within_10"].mean()
    for name, rows in (("auto (the default of effbench predict)", auto_fwd),
                       *((m, fwd[fwd.method == m]) for m in forward.methods if m != BASELINE)):
        if rows is None or not len(rows):
            continue
        per_device = rows.groupby(["target_device", "target"])[["within_10", "spearman"]].mean() \
            .groupby(level=0).mean()
        mine = rows.groupby("target")["within_10"].mean()
        both = pd.concat([mine, base], axis=1, keys=["m", "b"]).dropna()
        share = float((both.m > both.b).mean()) if len(both) else float("nan")
        print(f" forward AI Hub, {name}:")
        print(goal_line("within ±10 %", per_device["within_10"].mean(), GOALS["forward_within_10"]))
        print(goal_line("Spearman", per_device["spearman"].mean(), GOALS["forward_spearman"]))
        print(goal_line(f"share of target configurations beating {BASELINE}", share,
                        GOALS["forward_beats_share"]))
    for name, rows in (("auto", auto_gpu), *((m, gpu[gpu.method == m]) for m in runs[
            "timm lodo:chipset"].methods)):
        if rows is None or not len(rows):
            continue
        value = rows.groupby(["target_device", "target"])["within_10"].mean().groupby(level=0).mean()
        print(goal_line(f"timm GPUs lodo:chipset, {name}, within ±10 %", value.mean(),
                        GOALS["timm_gpu_within_10"]))
    print(goal_line("grid wall time (s)", grid, GOALS["grid_seconds"], higher=False)
          + f"  [{len(KS)} k × {args.draws} draws × methods {args.methods}, intervals on, "
            f"jobs={args.jobs}; load average {os.getloadavg()[1]:.1f} on {os.cpu_count()} cores]")
    if not args.no_auto:
        print(f"  auto rows (nested validation per target setup, not cached): {auto_seconds:.0f} s")

    if not args.no_memory:
        memory = matrix_from_store(store, metric="memory", sources=["aihub"])
        for label, protocol, kw in (("memory forward", "forward", {"cutoff": CUTOFF}),
                                    ("memory lodo:chipset", "lodo", {"group": "chipset"})):
            result = evaluate(memory, args.methods, protocol, ks=(5,), n_draws=args.draws,
                              n_jobs=args.jobs, **kw)
            table(result, f"AI Hub peak memory, {label}")
    store_rows = store.measurements()
    if "latency_p99_ms" in store_rows and store_rows["latency_p99_ms"].notna().sum() == 0:
        print("\np99 latency: none in this store (the public data publish no tail latency)")


if __name__ == "__main__":
    main()
