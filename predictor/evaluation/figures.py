"""Figures of an evaluation: predicted vs measured latency, and error by model family.

Why separate: matplotlib is imported only when a figure is asked for (tracking, reports), never
by ``evaluate`` itself. Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot:
headless, no global figure registry to leak into, and a faster import).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def predicted_vs_true(predictions: pd.DataFrame, title: str):
    """Log-log scatter of predicted vs measured latency of the unknown models, by target tier."""
    fig, ax = _figure(5.5, 5)
    for tier, grp in predictions.groupby("target_tier", observed=True):
        ax.scatter(grp["true_ms"], grp["pred_ms"], s=6, alpha=0.4, label=str(tier))
    finite = predictions[["true_ms", "pred_ms"]].to_numpy(float)
    finite = finite[np.isfinite(finite).all(axis=1) & (finite > 0).all(axis=1)]
    if len(finite):
        lo, hi = finite.min(), finite.max()
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.fill_between([lo, hi], [lo * 0.9, hi * 0.9], [lo * 1.1, hi * 1.1], color="grey",
                        alpha=0.2, label="±10 %")
    ax.set(xscale="log", yscale="log", xlabel="measured ms", ylabel="predicted ms", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def error_by_family(predictions: pd.DataFrame, k: int):
    """Median absolute percentage error per family (unknown models) for each method at ``k``."""
    p = predictions[(predictions.k == k) & ~predictions["known"].astype(bool)]
    ape = 100 * (p["pred_ms"] - p["true_ms"]).abs() / p["true_ms"]
    table = (p.assign(ape=ape).groupby(["family", "method"], observed=True)["ape"].median()
             .unstack("method"))
    fig, ax = _figure(max(6, 0.35 * len(table)), 4)
    if len(table):
        table.plot.bar(ax=ax, width=0.8)
    ax.set(ylabel="median |error| %", xlabel="family", title=f"error by family, k={k}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
