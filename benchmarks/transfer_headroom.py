"""Where single-source transfer loses accuracy on new hardware: source choice or the k-model fit.

For each forward target (AI Hub, T = 2024-10-01, the grid's split) and each draw of k = 5 known
models, ``krt_power`` is fitted as ``effbench predict`` fits it, and its chosen source is kept.
Then, on the unknown models that source measured, within ±10 % of four single-source power laws
(log target = a + b · log source, ``power_fit``):

- ``chosen, k fit``: the method's own source and fit (what users get, up to fallback sources);
- ``chosen, all fit``: the same source, a and b fitted on *every* target model (hindsight);
- ``best, k fit``: the source that scores best with the k-model fit (hindsight choice);
- ``best, all fit``: the best source with the all-model fit (the in-sample oracle, power law).

The gap between the first two is what a better estimate of (a, b) from k models could win; the
gap between the first and third what a better choice of source could. These are references
measured in hindsight, not bounds. Then the same decomposition for the timm GPUs held out by
chipset (sources: the other GPU's configurations of the same runtime|precision), beside the
in-sample fit of a ratio corrected by timm's metadata (log GMACs, log activations, log params):
what model features could add if their coefficients were known.

    python benchmarks/transfer_headroom.py [--store DIR] [--draws 5]
"""

from __future__ import annotations

import argparse
import warnings
import zlib

import numpy as np
import pandas as pd

K = 5
CUTOFF = "2024-10-01"


def within(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.exp(pred - true) - 1) <= 0.10))


def decompose(X: pd.DataFrame, y: pd.Series, target: str, known: np.ndarray) -> dict | None:
    """The four within-±10 % figures for one target and one draw of known models."""
    from predictor.design import SRC, config_of, source_columns
    from predictor.methods import make_method
    from predictor.methods.base import setup_of
    from predictor.methods.krt import power_fit

    est = make_method("krt_power").set_params(intervals=False)
    est.fit(X, y.iloc[known], target=target)
    unknown = np.setdiff1d(np.arange(len(y)), known)
    logy = np.log(y.to_numpy(dtype=float))
    # the sources the method's choice was among: those of the target's runtime|precision
    same = [c for c in source_columns(X) if setup_of(config_of(c)) == setup_of(target)] \
        or source_columns(X)
    scores = {}
    for col in same:
        x = np.log(X.loc[y.index, col].to_numpy(dtype=float))
        kk, uu = known[np.isfinite(x[known])], unknown[np.isfinite(x[unknown])]
        if len(kk) < 3 or len(uu) < 0.5 * len(unknown):
            continue
        fits = {}
        for name, rows in (("k", kk), ("all", np.concatenate([kk, uu]))):
            b, a = power_fit(x[rows][:, None], logy[rows], float(est.exponent_shrink),
                             np.array([np.median(logy[rows] - x[rows])]))
            fits[name] = within(a[0] + b[0] * x[uu], logy[uu])
        scores[col] = fits
    chosen = est.source_columns_[0]
    if chosen not in scores:
        return None
    best_all = max(scores, key=lambda c: scores[c]["all"])
    best_k = max(scores, key=lambda c: scores[c]["k"])
    return {"chosen, k fit": scores[chosen]["k"], "chosen, all fit": scores[chosen]["all"],
            "best, k fit": scores[best_k]["k"], "best, all fit": scores[best_all]["all"],
            "sources": len(scores), "chosen source": chosen[len(SRC):]}


def drawn(X: pd.DataFrame, y: pd.Series, target: str, draws: int) -> list[dict]:
    """``decompose`` over ``draws`` draws of K known models (seeded by the target), leaving out
    draws no source of the target's runtime|precision covers."""
    rng = np.random.default_rng(zlib.crc32(target.encode()))
    out = []
    for _ in range(draws):
        known = np.sort(rng.choice(len(y), K, replace=False))
        try:
            r = decompose(X, y, target, known)
        except ValueError:
            continue
        if r is not None:
            out.append(r)
    return out


def forward_rows(matrix, draws: int) -> pd.DataFrame:
    from predictor.design import make_design
    from predictor.evaluation import make_splits
    from predictor.evaluation.protocols import forward_view

    rows = []
    for split in make_splits(matrix.configs, "forward", cutoff=CUTOFF, history=matrix.history,
                             models=matrix.models, values=matrix.values):
        view = forward_view(matrix.subset(configs=list(split.sources) + [split.target]), split)
        X = make_design(view, split.target)
        y = view.values[split.target].reindex(X.index).dropna()
        y = y[y > 0]
        if len(y) < K + 5:
            continue
        rows += [{"device": split.target.split("|")[0], "target": split.target, **r}
                 for r in drawn(X, y, split.target, draws)]
    return pd.DataFrame(rows)


def timm_gpu_rows(matrix, draws: int) -> pd.DataFrame:
    from predictor.design import make_design

    gpu = matrix.configs[matrix.configs["device_tier"] == "gpu"]
    meta = np.log(matrix.models[["macs", "params"]].astype(float))
    rows = []
    for target in gpu.index:
        device = gpu.at[target, "device"]
        X = make_design(matrix, target, exclude_devices=[device])
        X = X[[c for c in X.columns if not c.startswith("src:") or
               matrix.configs.at[c[4:], "device_tier"] == "gpu"]]
        y = matrix.values[target].reindex(X.index).dropna()
        y = y[y > 0]
        logy = np.log(y.to_numpy(dtype=float))
        F = meta.reindex(y.index).to_numpy()
        corrected: dict[str, float] = {}  # per chosen source: it does not depend on the draw
        for r in drawn(X, y, target, draws):
            source = r["chosen source"]
            if source not in corrected:
                # the chosen source's ratio corrected by timm's metadata, fitted on every model
                x = np.log(X.loc[y.index, "src:" + source].to_numpy(dtype=float))
                ok = np.isfinite(x) & np.isfinite(F).all(axis=1)
                A = np.column_stack([np.ones(ok.sum()), x[ok], F[ok], x[ok] * F[ok, 0]])
                coef = np.linalg.lstsq(A, logy[ok], rcond=None)[0]
                corrected[source] = within(A @ coef, logy[ok])
            rows.append({"device": device, "target": target, **r,
                         "chosen, all fit + metadata": corrected[source]})
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame, label: str) -> None:
    cols = [c for c in frame.columns if "fit" in c]
    per_device = frame.groupby(["device", "target"])[cols].mean().groupby(level=0).mean()
    print(f"\n[{label}] within ±10 % at k = {K}, mean over held-out devices "
          f"({frame.target.nunique()} target configurations, {len(frame)} draws)")
    print(per_device.round(3).to_string())
    print("  mean: " + ", ".join(f"{c} {per_device[c].mean():.3f}" for c in cols))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 200)
    from collectors.importers import public_store
    from predictor.matrix import matrix_from_store

    store = public_store(args.store)
    summary(forward_rows(matrix_from_store(store, sources=["aihub"]), args.draws),
            f"AI Hub forward T={CUTOFF}")
    summary(timm_gpu_rows(matrix_from_store(store, sources=["timm"]), args.draws),
            "timm GPUs, the other GPU as source")


if __name__ == "__main__":
    main()
