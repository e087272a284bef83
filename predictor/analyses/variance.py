"""How much of log latency is the model, the device configuration, and their interaction?

Two-way ANOVA of ``log latency ~ model + config`` on *every* measured cell (the matrix is far from
complete: AI Hub measures ~50 models, timm ~1,000, few configurations share all of them).
Sums of squares are sequential (type I, model entered first), from an exact least-squares fit of
the additive model by alternating row/column means — the same numbers ``statsmodels``' OLS with
dummies gives (a test checks that), in milliseconds instead of minutes. With one measurement
per cell the residual is interaction *plus* measurement noise; the AI Hub re-profiles estimate the
noise variance per cell (median within-configuration variance of log latency), which is
subtracted to leave the interaction. The interaction share is what no "model speed × device
speed" predictor can capture: it is the part that makes rankings change across devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.analyses._base import AnalysisResult, Finding, point
from predictor.analyses._data import StudyData, model_column
from predictor.analyses._registry import register_analysis


def additive_fit(log_values: pd.DataFrame, tol: float = 1e-10, max_iter: int = 500) -> np.ndarray:
    """Least-squares fit of ``row effect + column effect`` to the observed cells (NaN elsewhere)."""
    y = log_values.to_numpy(float)
    seen = ~np.isnan(y)
    y0 = np.where(seen, y, 0.0)
    n_row, n_col = seen.sum(axis=1), seen.sum(axis=0)
    row = np.zeros(y.shape[0])
    col = np.zeros(y.shape[1])
    for _ in range(max_iter):
        new_row = np.divide((y0 - col[None, :] * seen).sum(axis=1), n_row,
                            out=np.zeros_like(row), where=n_row > 0)
        new_col = np.divide((y0 - new_row[:, None] * seen).sum(axis=0), n_col,
                            out=np.zeros_like(col), where=n_col > 0)
        shift = max(np.abs(new_row - row).max(initial=0), np.abs(new_col - col).max(initial=0))
        row, col = new_row, new_col
        if shift < tol:
            break
    return np.where(seen, row[:, None] + col[None, :], np.nan)


def anova_shares(log_values: pd.DataFrame) -> dict[str, float]:
    """Type-I sum-of-squares shares (model first, then config, then residual) over observed cells."""
    y = log_values.to_numpy(float)
    seen = ~np.isnan(y)
    grand = y[seen].mean()
    total = float(((y[seen] - grand) ** 2).sum())
    row_means = np.nanmean(np.where(seen, y, np.nan), axis=1)
    ss_model = float((((row_means[:, None] - grand) ** 2) * seen).sum())
    fitted = additive_fit(log_values)
    ss_residual = float(((y - fitted)[seen] ** 2).sum())
    if total <= 0:
        return {"model": np.nan, "config": np.nan, "residual": np.nan, "total_ss": total,
                "n_cells": int(seen.sum())}
    return {"model": ss_model / total, "config": (total - ss_model - ss_residual) / total,
            "residual": ss_residual / total, "total_ss": total, "n_cells": int(seen.sum())}


def noise_variance(measurements: pd.DataFrame) -> float:
    """Median within-configuration variance of log latency over re-profiled configurations."""
    from collectors.schema import CONFIG_KEY

    rows = measurements[measurements["latency_ms"] > 0]
    key = [c for c in CONFIG_KEY if c in rows]
    if rows.empty:
        return float("nan")
    var = np.log(rows["latency_ms"]).groupby([rows[k] for k in key], dropna=False).var(ddof=1)
    var = var.dropna()
    return float(var.median()) if len(var) else float("nan")


@dataclass
class VarianceResult(AnalysisResult):
    name = "variance"
    components: pd.DataFrame = field(default_factory=pd.DataFrame)  # scope × component shares

    def _findings(self) -> dict[str, Finding]:
        if self.components.empty:
            return {}
        row = self.components[self.components["scope"] == "overall"]
        if row.empty:
            return {}
        r = row.iloc[0]
        n = int(r["n_cells"])
        return {f"overall.{c}_share": Finding(point(r[c], n), "none (a decomposition of all cells)")
                for c in ("model", "config", "interaction", "noise", "residual") if pd.notna(r[c])}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"variance_components": self.components}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"variance_decomposition": plots.variance_figure(self.components)} \
            if not self.components.empty else {}


def _informative(values: pd.DataFrame) -> pd.DataFrame:
    """Rows measured on ≥ 2 configurations and columns with ≥ 2 such rows: a model seen once
    (or a configuration with one model) is fitted exactly and only dilutes the shares."""
    v = values
    for _ in range(3):
        v = v.loc[v.notna().sum(axis=1) >= 2]
        v = v.loc[:, v.notna().sum() >= 2]
    return v


@register_analysis("variance", result=VarianceResult)
def variance_decomposition(data: StudyData, min_family_models: int = 3) -> VarianceResult:
    """Model / config / interaction / noise shares of log latency: overall, per source, per family."""
    values = data.latency.values.astype(float)
    logv = _informative(np.log(values.where(values > 0)))
    params = {"min_family_models": min_family_models}
    if logv.shape[0] < 3 or logv.shape[1] < 2:
        return VarianceResult(parameters=params)
    noise = noise_variance(data.measurements)
    family = model_column(data.latency, "family").reindex(logv.index).astype(object).fillna("unknown")
    source = data.latency.configs["source"].reindex(logv.columns) \
        if "source" in data.latency.configs else pd.Series(dtype=object)
    scopes = [("overall", logv)]
    scopes += [(f"source {s}", _informative(logv.loc[:, source == s]))
               for s in sorted(source.dropna().unique())]
    scopes += [(f"family {f}", _informative(logv.loc[family == f])) for f in sorted(family.unique())]
    rows = []
    for scope, frame in scopes:
        if len(frame) < (3 if not scope.startswith("family") else min_family_models) \
                or frame.shape[1] < 2:
            continue
        shares = anova_shares(frame)
        noise_share = (min(noise * shares["n_cells"] / shares["total_ss"], shares["residual"])
                       if np.isfinite(noise) and shares["total_ss"] > 0 else np.nan)
        rows.append({"scope": scope, "n_models": frame.shape[0], "n_configs": frame.shape[1],
                     "n_cells": shares["n_cells"], "model": shares["model"],
                     "config": shares["config"], "residual": shares["residual"],
                     "noise": noise_share,
                     "interaction": shares["residual"] - noise_share if np.isfinite(noise_share)
                     else np.nan})
    return VarianceResult(components=pd.DataFrame(rows), parameters=params)


__all__ = ["VarianceResult", "additive_fit", "anova_shares", "noise_variance",
           "variance_decomposition"]
