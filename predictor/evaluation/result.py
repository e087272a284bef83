"""The result of a cross-device validation: tidy predictions, per-target metrics, CIs on demand.

Why aggregate over devices: the configurations of one device (runtimes, precisions) are not
independent evidence, so every mean is first taken over draws and over the configurations of a
held-out device, and the bootstrap CI (``predictor.metrics.mean_ci``) resamples *devices*. The
object follows the result protocol of ``predictor.tracking.log_result``
(``params/metrics/tables/figures``) and prints itself with ``summary()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from predictor.metrics import Estimate, mean_ci

#: Metrics reported in summaries, in display order; higher is better except mape and width.
SUMMARY_METRICS = ("within_10", "within_5", "spearman", "kendall", "mape", "top5_overlap",
                   "pareto_precision", "pareto_recall", "pareto_f1", "coverage",
                   "interval_width")
HEADLINE = ("within_10", "spearman", "mape", "pareto_f1", "coverage")
LOWER_IS_BETTER = {"mape", "interval_width"}
#: the baseline every method is compared with: plain single-source KRT (issue #10's one path)
BASELINE_METHOD = "plain_krt"
#: Per-target references (``predictor.evaluation.references``) shown beside the scores.
REFERENCE_METRICS = ("oracle_within_10", "retest_within_10", "oracle_spearman", "retest_spearman")
REFERENCE_LABELS = {"oracle_within_10": "ref: oracle w10", "retest_within_10": "ref: retest w10",
                    "oracle_spearman": "ref: oracle ρ", "retest_spearman": "ref: retest ρ"}


@dataclass
class EvaluationResult:
    """Predictions and metrics of one ``evaluate`` call.

    ``predictions``: one row per (protocol, method, k, draw, target, model) with ``known`` saying
    whether the model was given to the method; ``per_target``: one metrics row per (protocol,
    method, k, draw, target), computed on the unknown models only; ``skipped``: (method, k,
    target, reason) for combinations not run (``min_known > k``, too few models).
    """
    predictions: pd.DataFrame
    per_target: pd.DataFrame
    skipped: pd.DataFrame
    protocol: str
    methods: list[str]
    ks: tuple[int, ...]
    n_draws: int
    seed: int
    coverage: float
    protocol_kw: dict[str, str] = field(default_factory=dict)
    matrix_info: dict[str, Any] = field(default_factory=dict)
    #: per target: the in-sample single-source oracle and the test–retest rate of its own
    #: re-profiles (``predictor.evaluation.references``) — references beside the scores, which
    #: a method may well beat, never bounds
    references: pd.DataFrame = field(default_factory=pd.DataFrame)

    # ------------------------------------------------------------------ aggregation
    def per_device(self) -> pd.DataFrame:
        """Metrics averaged over draws and over the configurations of each held-out device."""
        if self.per_target.empty:
            return self.per_target
        keys = ["protocol", "method", "k", "target_device", "holdout_family"]
        cols = [m for m in SUMMARY_METRICS if m in self.per_target]
        by_target = self.per_target.groupby(keys + ["target"], observed=True)[cols].mean()
        return by_target.groupby(level=keys, observed=True).mean().reset_index()

    @cached_property
    def _summary_frame(self) -> pd.DataFrame:
        devices = self.per_device()
        rows = []
        if devices.empty:
            return pd.DataFrame(columns=["protocol", "method", "k", "metric", "value", "low",
                                         "high", "n"])
        for (protocol, method, k), group in devices.groupby(["protocol", "method", "k"],
                                                            observed=True):
            for metric in (m for m in SUMMARY_METRICS if m in group):
                e = mean_ci(group[metric].to_numpy(float), seed=self.seed)
                rows.append(dict(protocol=protocol, method=method, k=k, metric=metric,
                                 value=e.value, low=e.low, high=e.high, n=e.n))
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """Tidy summary: (protocol, method, k, metric, value, low, high, n) with n = devices."""
        return self._summary_frame.copy()

    def estimate(self, method: str, k: int, metric: str = "within_10",
                 protocol: str | None = None) -> Estimate:
        frame = self._summary_frame
        sel = frame[(frame.method == method) & (frame.k == k) & (frame.metric == metric)]
        if protocol is not None:
            sel = sel[sel.protocol == protocol]
        if sel.empty:
            return Estimate(float("nan"), float("nan"), float("nan"), 0)
        r = sel.iloc[0]
        return Estimate(float(r.value), float(r.low), float(r.high), int(r.n))

    def best_method(self, k: int, metric: str = "within_10", exclude: tuple[str, ...] = ()) -> str | None:
        """The method with the best mean ``metric`` over held-out devices at ``k``."""
        frame = self._summary_frame
        sel = frame[(frame.k == k) & (frame.metric == metric) & ~frame.method.isin(exclude)]
        sel = sel.dropna(subset=["value"])
        if sel.empty:
            return None
        means = sel.groupby("method", observed=True)["value"].mean()
        return str(means.idxmin() if metric in LOWER_IS_BETTER else means.idxmax())

    def beats_reference(self, k: int, method: str | None = None,
                        reference: str = BASELINE_METHOD) -> tuple[str | None, Estimate]:
        """Share of held-out devices where ``method`` (default: the best non-reference method at
        ``k``) has a strictly higher mean within-10 % than ``reference`` (the plain single-source
        KRT baseline), with a CI; NaN when either was not evaluated."""
        method = method or self.best_method(k, exclude=(reference,))
        devices = self.per_device()
        nan = Estimate(float("nan"), float("nan"), float("nan"), 0)
        if method is None or devices.empty:
            return method, nan
        sel = devices[devices.k == k].pivot_table(index=["protocol", "target_device"],
                                                  columns="method", values="within_10",
                                                  observed=True)
        if method not in sel or reference not in sel:
            return method, nan
        both = sel[[method, reference]].dropna()
        wins = (both[method] > both[reference]).to_numpy(float)
        return method, mean_ci(wins, seed=self.seed)

    def per_family(self, k: int | None = None) -> pd.DataFrame:
        """Per (protocol, method, k, family): within-10 %, MAPE and Spearman over unknown models,
        averaged per held-out device, with bootstrap CIs over devices."""
        p = self.predictions
        p = p[~p["known"].astype(bool)]
        if k is not None:
            p = p[p.k == k]
        if p.empty:
            return pd.DataFrame()
        err = (p["pred_ms"] - p["true_ms"]).abs() / p["true_ms"]
        p = p.assign(w10=(err <= 0.10 + 1e-12).astype(float), ape=100 * err)
        group = ["protocol", "method", "k", "draw", "target", "family"]
        g = p.groupby(group, observed=True)
        p = p.assign(rt=g["true_ms"].rank(), rp=g["pred_ms"].rank())
        g = p.groupby(group, observed=True)
        cell = g.agg(w10=("w10", "mean"), ape=("ape", "mean"), n=("w10", "size"))
        cell["spearman"] = g[["rt", "rp"]].corr().xs("rt", level=-1)["rp"]
        cell.loc[cell.n < 3, "spearman"] = np.nan
        cell = cell.reset_index().merge(
            self.per_target[["target", "target_device"]].drop_duplicates(), on="target")
        dev = cell.groupby(["protocol", "method", "k", "family", "target_device"],
                           observed=True)[["w10", "ape", "spearman"]].mean().reset_index()
        rows = []
        for (protocol, method, kk, fam), grp in dev.groupby(["protocol", "method", "k", "family"],
                                                            observed=True):
            row = dict(protocol=protocol, method=method, k=kk, family=fam, n_devices=len(grp))
            for col, name in (("w10", "within_10"), ("ape", "mape"), ("spearman", "spearman")):
                e = mean_ci(grp[col].to_numpy(float), seed=self.seed)
                row.update({name: e.value, f"{name}_low": e.low, f"{name}_high": e.high})
            rows.append(row)
        return pd.DataFrame(rows)

    def reference_means(self) -> pd.DataFrame:
        """Per (protocol, method, k): the references averaged as the scores are — over the
        targets that row scored, per held-out device, then over devices (NaN where none)."""
        cols = [c for c in REFERENCE_METRICS if c in self.references]
        if self.per_target.empty or not cols:
            return pd.DataFrame(columns=["protocol", "method", "k", *REFERENCE_METRICS])
        scored = (self.per_target[["protocol", "method", "k", "target", "target_device"]]
                  .drop_duplicates().merge(self.references[["target", *cols]], on="target"))
        by_device = scored.groupby(["protocol", "method", "k", "target_device"],
                                   observed=True)[cols].mean()
        return by_device.groupby(level=["protocol", "method", "k"], observed=True).mean() \
            .reset_index()

    def beats(self, method: str, reference: str, k: int, by: str = "target",
              metric: str = "within_10") -> Estimate:
        """Share of targets (``by="target"``: configurations; ``"target_device"``: devices)
        where ``method``'s mean ``metric`` over draws is strictly better than ``reference``'s."""
        sel = self.per_target[self.per_target.k == k]
        nan = Estimate(float("nan"), float("nan"), float("nan"), 0)
        if sel.empty or by not in sel:
            return nan
        wide = sel.pivot_table(index=["protocol", by], columns="method", values=metric,
                               observed=True)
        if method not in wide or reference not in wide:
            return nan
        both = wide[[method, reference]].dropna()
        better = (both[method] < both[reference]) if metric in LOWER_IS_BETTER else \
            (both[method] > both[reference])
        return mean_ci(better.to_numpy(float), seed=self.seed)

    def scoreboard(self, metrics: tuple[str, ...] = ("within_10", "spearman", "coverage"),
                   baseline: str = BASELINE_METHOD) -> pd.DataFrame:
        """One row per (method, k): each metric's mean over held-out devices with its 95 % CI
        (``<metric>_low/_high``), the references averaged the same way (``ref_<name>``), and
        ``beats_baseline`` (share of target configurations above ``baseline`` in within-±10 %;
        NaN for the baseline itself) — the table every transfer benchmark prints."""
        refs = self.reference_means().set_index(["method", "k"])
        rows = []
        for method in self.methods:
            for k in self.ks:
                if self.estimate(method, k, metrics[0]).n == 0:
                    continue  # not scored at this k
                row: dict[str, Any] = {"method": method, "k": k}
                for metric in metrics:
                    e = self.estimate(method, k, metric)
                    row.update({metric: e.value, f"{metric}_low": e.low, f"{metric}_high": e.high})
                for ref in REFERENCE_METRICS:
                    row[f"ref_{ref}"] = (float(refs.at[(method, k), ref])
                                         if (method, k) in refs.index and ref in refs
                                         else float("nan"))
                row["beats_baseline"] = (self.beats(method, baseline, k).value
                                         if method != baseline else float("nan"))
                rows.append(row)
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ display
    def headline_k(self) -> int:
        return 5 if 5 in self.ks else max(self.ks)

    def summary(self, metrics: tuple[str, ...] = ("within_10", "spearman", "mape", "pareto_f1",
                                                   "coverage")):
        """A rich table: one row per (protocol, method, k), mean [95 % CI] over held-out devices."""
        from rich.table import Table

        frame = self._summary_frame
        table = Table(title=f"{self.protocol}: mean over held-out devices [95 % bootstrap CI]; "
                            f"coverage of the {self.coverage:.0%} intervals; references (ref:) "
                            "beside, not bounds")
        refs = self.reference_means().set_index(["protocol", "method", "k"])
        ref_cols = [c for c in REFERENCE_METRICS if c in refs]
        for col in ("protocol", "method", "k", "devices", *metrics,
                    *(REFERENCE_LABELS[c] for c in ref_cols)):
            table.add_column(col, justify="left" if col in ("protocol", "method") else "right")
        if frame.empty:
            return table
        wide = frame.set_index(["protocol", "method", "k", "metric"])
        for (protocol, method, k), grp in frame.groupby(["protocol", "method", "k"], observed=True):
            cells = []
            for metric in metrics:
                if (protocol, method, k, metric) in wide.index:
                    r = wide.loc[(protocol, method, k, metric)]
                    cells.append("—" if not np.isfinite(r.value) else
                                 f"{r.value:.3g} [{r.low:.3g}, {r.high:.3g}]"
                                 if np.isfinite(r.low) else f"{r.value:.3g}")
                else:
                    cells.append("—")
            for c in ref_cols:
                v = refs[c].get((protocol, method, k), np.nan) if len(refs) else np.nan
                cells.append("—" if not np.isfinite(v) else f"{v:.3g}")
            table.add_row(str(protocol), str(method), str(k), str(int(grp.n.max())), *cells)
        if len(self.skipped):
            table.caption = (f"{len(self.skipped)} (method, k, target) combinations skipped; "
                             "see result.skipped")
        return table

    # ------------------------------------------------------------------ tracking protocol
    def params(self) -> dict[str, Any]:
        targets = sorted(self.per_target["target"].unique()) if len(self.per_target) else []
        return {"protocol": self.protocol, "methods": ",".join(self.methods),
                "ks": ",".join(map(str, self.ks)), "n_draws": self.n_draws, "seed": self.seed,
                "coverage": self.coverage, "n_targets": len(targets),
                "targets": ",".join(targets) if len(targets) <= 40 else f"{len(targets)} configs",
                **{f"protocol.{k}": v for k, v in self.protocol_kw.items()},
                **{f"data.{k}": v for k, v in self.matrix_info.items()}}

    def metrics(self) -> dict[str, float]:
        frame = self._summary_frame
        out: dict[str, float] = {}
        labels = frame["protocol"].unique() if len(frame) else []
        for r in frame.itertuples():
            prefix = f"{r.protocol}." if len(labels) > 1 else ""
            out[f"{prefix}{r.method}.k{r.k}.{r.metric}"] = r.value
            if r.metric in HEADLINE:
                out[f"{prefix}{r.method}.k{r.k}.{r.metric}_ci_low"] = r.low
                out[f"{prefix}{r.method}.k{r.k}.{r.metric}_ci_high"] = r.high
        k = self.headline_k()
        best = self.best_method(k)
        if best is not None:  # headline numbers: the best method at k=5 (or the largest k)
            for metric in HEADLINE:
                out[metric] = self.estimate(best, k, metric).value
            _, beats = self.beats_reference(k)
            out[f"beats_{BASELINE_METHOD}_share"] = beats.value
        out["n_skipped"] = float(len(self.skipped))
        for c in REFERENCE_METRICS:  # references beside the scores (means over targets)
            if c in self.references and len(self.references):
                out[f"reference.{c}"] = float(np.nanmean(self.references[c].to_numpy(float))) \
                    if self.references[c].notna().any() else float("nan")
        return out

    def nested_metrics(self, by: str = "target") -> dict[str, dict[str, float]]:
        """Per-``by`` (target config or device) means over draws, for MLflow child runs."""
        if self.per_target.empty or by not in self.per_target:
            return {}
        cols = [m for m in HEADLINE if m in self.per_target]
        means = self.per_target.groupby([by, "method", "k"], observed=True)[cols].mean()
        out: dict[str, dict[str, float]] = {}
        for (key, method, k), row in means.iterrows():
            for metric in cols:
                out.setdefault(str(key), {})[f"{method}.k{k}.{metric}"] = row[metric]
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {"summary": self.to_frame(), "per_target": self.per_target,
                  "predictions": self.predictions, "skipped": self.skipped}
        family = self.per_family(self.headline_k())
        if len(family):
            tables["per_family"] = family
        if len(self.references):
            tables["references"] = self.references
        return tables

    def figures(self) -> dict[str, Any]:
        from predictor.evaluation.figures import error_by_family, predicted_vs_true

        k = self.headline_k()
        best = self.best_method(k)
        if best is None:
            return {}
        sel = self.predictions
        sel = sel[(sel.method == best) & (sel.k == k) & ~sel["known"].astype(bool)]
        return {"predicted_vs_true": predicted_vs_true(sel, f"{best}, k={k}"),
                "error_by_family": error_by_family(self.predictions, k)}


__all__ = ["EvaluationResult", "HEADLINE", "REFERENCE_METRICS", "SUMMARY_METRICS"]
