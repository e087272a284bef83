"""Leave-one-device-out on the public data: accuracy of every transfer method, and the grid's run time.

Prints (1) the AI Hub LODO grid (all methods × k ∈ {0, 1, 3, 5, 10}, 3 draws) with its wall time
(goal: ≤ 3 min on 2 cores), (2) at k = 5: mean within-10 % and Spearman per method with 95 %
bootstrap CIs over held-out devices, per family, and the share of held-out devices where the best
method beats KRT, (3) the same k = 5 protocol on timm's GPU/CPU configurations, (4) for both, the in-sample
single-source ceiling (the best other-device source with the ratio fitted on every target model)
and the two-source leave-one-model-out ceiling (k = n − 1),
and the AI Hub k = 5 result without as-of alignment of the sources.

    python benchmarks/lodo_grid.py [--store DIR] [--jobs 2] [--no-intervals] [--methods all]

Without ``--store`` the public data (``../shared/data`` or ``$EFFBENCH_DATA``) is imported into a
temporary store first (not timed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
console = Console(width=200)


def open_or_import(store_dir: str | None):
    from collectors.store import ParquetStore

    if store_dir:
        return ParquetStore(store_dir)
    from collectors.importers import import_public, public_data_root

    data = public_data_root()
    if data is None:
        raise SystemExit("public data not found: set EFFBENCH_DATA or place ../shared/data")
    store = ParquetStore(Path(tempfile.mkdtemp(prefix="lodo-store-")))
    t = time.perf_counter()
    import_public(data, store)
    console.print(f"imported {data} in {time.perf_counter() - t:.0f} s (not timed below)")
    return store


def k5_table(result, k: int = 5) -> Table:
    table = Table(title=f"LODO k={k}: mean over held-out devices [95 % CI]")
    for col in ("method", "devices", "within_10", "spearman", "mape", "pareto_f1", "coverage"):
        table.add_column(col)
    for method in result.methods:
        cells = []
        for metric in ("within_10", "spearman", "mape", "pareto_f1", "coverage"):
            cells.append(str(result.estimate(method, k, metric)))
        n = result.estimate(method, k, "within_10").n
        table.add_row(method, str(n), *cells)
    return table


def report(result, label: str, k: int = 5) -> None:
    console.print(k5_table(result, k))
    best, beats = result.beats_reference(k)
    console.print(f"\\[{label}] best method at k={k} by within-10 %: {best}; beats KRT on "
                  f"{beats.value:.0%} of {beats.n} held-out devices (95 % CI "
                  f"{beats.low:.0%}–{beats.high:.0%})", highlight=False)
    family = result.per_family(k)
    if len(family):
        wide = family.pivot_table(index="family", columns="method", values="within_10")
        console.print(f"\\[{label}] within-10 % per family at k={k} (mean over devices):")
        console.print(wide.round(3).to_string())
    if len(result.skipped):
        reasons = result.skipped.groupby(["method", "reason"]).size().sort_values(ascending=False)
        console.print(f"\\[{label}] skipped combinations (top reasons):")
        console.print(reasons.head(8).to_string())


def ceiling(matrix, label: str) -> None:
    """What transfer could reach if the target's models were all known: the best single source with
    its ratio fitted on every target model (an upper bound for ratio transfer at any k), and the best
    pair of sources by leave-one-model-out least squares (k = n − 1; predictor.evaluation.ceiling)."""
    from predictor.evaluation import pair_ceiling, transfer_ceiling

    for name, c in (("in-sample single-source", transfer_ceiling(matrix)),
                    ("leave-one-model-out two-source (k = n−1)", pair_ceiling(matrix))):
        per_device = c.groupby("device")[["within_10", "spearman"]].mean()
        console.print(f"\\[{label}] {name} ceiling over {len(c)} targets: within-10 % "
                      f"{c['within_10'].mean():.3f} (devices: mean {per_device['within_10'].mean():.3f}, "
                      f"median {per_device['within_10'].median():.2f}, min "
                      f"{per_device['within_10'].min():.2f}), Spearman {c['spearman'].mean():.3f}",
                      highlight=False)
        console.print(per_device.round(2).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--no-intervals", action="store_true")
    parser.add_argument("--skip-timm", action="store_true")
    parser.add_argument("--since", default="2025-08-01",
                        help="also run k=5 on AI Hub measurements taken on or after this date (one "
                             "toolchain generation; '' to skip)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from predictor.evaluation import evaluate
    from predictor.matrix import matrix_from_store

    store = open_or_import(args.store)
    t = time.perf_counter()
    aihub = matrix_from_store(store, sources=["aihub"])
    console.print(f"{aihub.summary()}  (built in {time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    grid = evaluate(aihub, args.methods, "lodo", ks=(0, 1, 3, 5, 10), n_draws=args.draws,
                    n_jobs=args.jobs, intervals=not args.no_intervals)
    wall = time.perf_counter() - t
    console.print(grid.summary())
    console.print(f"AI Hub LODO grid: {len(grid.methods)} methods × k∈{{0,1,3,5,10}} × "
                  f"{args.draws} draws, {len(grid.per_target)} fits scored, "
                  f"intervals={'off' if args.no_intervals else 'on'}, jobs={args.jobs}: "
                  f"[bold]{wall:.1f} s[/] (goal ≤ 180 s on 2 cores; load average during the run "
                  f"{os.getloadavg()[1]:.1f} on {os.cpu_count()} cores)")
    report(grid, "AI Hub")
    ceiling(aihub, "AI Hub")

    # The same k = 5 protocol on the plain latest view (sources not read as of the target's dates)
    plain = evaluate(aihub, args.methods, "lodo", ks=(5,), n_draws=args.draws, n_jobs=args.jobs,
                     intervals=False, align=False)
    console.print("AI Hub LODO k=5 on the latest view without as-of alignment (intervals off):")
    console.print(plain.per_target.groupby("method")[["within_10", "spearman"]].mean().round(3)
                  .to_string())

    if args.since:
        # The latest view mixes 2024 and 2025 toolchains across models; a recent window compares
        # like with like. The window is chosen by date only, never by the held-out device.
        recent = matrix_from_store(store, sources=["aihub"], since=args.since)
        console.print(f"{recent.summary()}  (measurements since {args.since})")
        result = evaluate(recent, args.methods, "lodo", ks=(5,), n_draws=args.draws,
                          n_jobs=args.jobs, intervals=not args.no_intervals)
        report(result, f"AI Hub since {args.since}")

    if not args.skip_timm:
        timm = matrix_from_store(store, sources=["timm"])
        console.print(timm.summary())
        t = time.perf_counter()
        result = evaluate(timm, args.methods, "lodo", ks=(5,), n_draws=args.draws,
                          n_jobs=args.jobs, intervals=not args.no_intervals)
        console.print(f"timm LODO k=5: {time.perf_counter() - t:.1f} s")
        report(result, "timm GPU/CPU")
        ceiling(timm, "timm GPU/CPU")


if __name__ == "__main__":
    main()
