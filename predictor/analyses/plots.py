"""The report's figures, one function per analysis (matplotlib, Agg backend, no display).

Why separate from the analyses: results hold numbers; how they look is a presentation choice
that the report, MLflow and the notebooks share through these functions.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from predictor.metrics import pareto_front  # noqa: E402


def flops_rank_figure(cells: pd.DataFrame, measure: str = "latency", max_panels: int = 2):
    """FLOPs rank vs measured rank on the largest configuration of each tier; cases in red."""
    cells = cells[cells["measure"] == measure]
    picks = []
    if len(cells):
        sizes = cells.groupby(["config", "label"])["n_models"].first().reset_index()
        picks = list(sizes.sort_values("n_models").drop_duplicates("label")["config"])[-max_panels:]
        # prefer a small (edge-sized) and a large configuration when both exist
        small = sizes.sort_values("n_models")["config"].iloc[len(sizes) // 2]
        picks = list(dict.fromkeys([small, picks[-1]]))
    fig, axes = plt.subplots(1, max(len(picks), 1), figsize=(5.5 * max(len(picks), 1), 4.8),
                             squeeze=False)
    for ax, config in zip(axes[0], picks):
        c = cells[cells["config"] == config]
        ok = ~c["case"]
        ax.scatter(c.loc[ok, "flops_rank"], c.loc[ok, "measured_rank"], s=14, c="tab:blue",
                   label="|Δrank| < 2")
        ax.scatter(c.loc[~ok, "flops_rank"], c.loc[~ok, "measured_rank"], s=14, c="tab:red",
                   label="disagreement (|Δrank| ≥ 2)")
        n = int(c["n_models"].iloc[0])
        ax.plot([1, n], [1, n], "k--", lw=0.8)
        ax.set(title=f"{c['label'].iloc[0]} (n={n})", xlabel="FLOPs rank",
               ylabel=f"measured {measure} rank")
        ax.legend(fontsize=8)
    if not picks:
        axes[0][0].text(0.5, 0.5, "no configuration with FLOPs", ha="center")
    fig.tight_layout()
    return fig


def transfer_heatmap(pairs: pd.DataFrame):
    """Mean Spearman ρ per (source tier, target tier) for latency, FRM and FRM without FLOPs."""
    measures = [m for m in ("latency", "frm", "frm_no_invariant") if m in pairs]
    tiers = ["gpu", "cpu", "edge"]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.8), squeeze=False)
    for ax, m in zip(axes[0], measures):
        grid = np.full((3, 3), np.nan)
        for i, s in enumerate(tiers):
            for j, t in enumerate(tiers):
                # ρ is symmetric: a pair counts for both directions
                sel = pairs[((pairs["source_tier"] == s) & (pairs["target_tier"] == t))
                            | ((pairs["source_tier"] == t) & (pairs["target_tier"] == s))][m]
                if len(sel.dropna()):
                    grid[i, j] = sel.mean()
        im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
        for i in range(3):
            for j in range(3):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", color="w")
        ax.set(xticks=range(3), yticks=range(3), xticklabels=tiers, yticklabels=tiers,
               xlabel="target tier", ylabel="source tier", title=f"ρ {m}")
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def family_figure(per_family: pd.DataFrame, method: str):
    fam = per_family.sort_values("mape")
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(fam) + 1.5))
    y = np.arange(len(fam))
    err = np.vstack([fam["mape"] - fam["mape_low"], fam["mape_high"] - fam["mape"]])
    ax.barh(y, fam["mape"], xerr=np.nan_to_num(err), color="tab:orange", capsize=3)
    ax.set(yticks=y, yticklabels=[f"{f} ({n} devices)" for f, n in zip(fam["family"],
                                                                      fam["n_devices"])],
           xlabel="MAPE % on held-out devices (95 % CI over devices)",
           title=f"Prediction error by family ({method})")
    fig.tight_layout()
    return fig


def pareto_figure(example: dict):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    acc = np.asarray(example["top1"])
    src_front = pareto_front(example["source"], acc)
    for ax, key, name in ((axes[0], "source", "source_name"), (axes[1], "target", "target_name")):
        lat = np.asarray(example[key])
        front = pareto_front(lat, acc)
        ax.scatter(lat, acc, s=12, c="lightgray", label="models")
        order = np.argsort(lat[front])
        ax.plot(lat[front][order], acc[front][order], "o-", c="tab:green", label=f"{key} frontier")
        ax.scatter(lat[src_front], acc[src_front], s=50, facecolors="none", edgecolors="tab:red",
                   label="source frontier models")
        ax.set(xscale="log", xlabel="latency (ms)", ylabel="top-1 (%)", title=str(example[name]))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def variance_figure(components: pd.DataFrame):
    cols = [c for c in ("model", "config", "interaction", "noise") if c in components]
    comp = components.set_index("scope")[cols].fillna(0)
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(comp) + 1.5))
    comp.plot.barh(stacked=True, ax=ax)
    ax.set(xlabel="share of log-latency sum of squares", xlim=(0, 1),
           title="Variance decomposition of log latency")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def noise_figure(pairs: pd.DataFrame):
    pct = 100 * (np.exp(pairs["abs_log_ratio"].to_numpy()) - 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(np.clip(pct, 0, 50), bins=50, color="tab:purple")
    for x in (5, 10):
        ax.axvline(x, c="k", ls="--", lw=0.8)
    ax.set(xlabel="|change| between consecutive re-profiles (%, clipped at 50)",
           ylabel="re-profile pairs", title="Measurement-noise ceiling (AI Hub re-profiles)")
    fig.tight_layout()
    return fig
