"""Cold-start evaluation: hold models out of *every* configuration, predict them back.

Protocols (folds over models, all input sizes of one model kept together):

- ``leave-family-out``: each architecture family in turn (the hard one: a transformer
  predicted from convnets only);
- ``leave-models-out``: ``n_folds`` random folds.

Each is run twice: on stored configurations (the held-out models' target configuration
keeps its other models), and with a *new device* (the target's device is dropped from the
anchors, and the target is known only through ``k`` random training models: a cold model
on a cold device). Estimators are any :class:`ColdStartPredictor` configurations: the
operator-feature predictor and the FLOPs-only and timm-metadata baselines by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from predictor.coldstart.design import join_features, row_keys
from predictor.coldstart.model import ColdStartPredictor

__all__ = ["ColdStartResult", "PROTOCOLS", "default_estimators", "evaluate_coldstart", "score_predictions"]

PROTOCOLS = ("leave-family-out", "leave-models-out")


@dataclass
class _View:
    """The three frames of a LatencyMatrix that the predictor reads (rows subset)."""

    values: pd.DataFrame
    models: pd.DataFrame
    configs: pd.DataFrame


def default_estimators(**config: Any) -> dict[str, tuple[ColdStartPredictor, str]]:
    """name → (estimator, which features table it reads: ``features`` or ``metadata``)."""
    return {"operators": (ColdStartPredictor(**config), "features"),
            "metadata": (ColdStartPredictor(feature_set="metadata", learner="xgboost",
                                            **{k: v for k, v in config.items() if k != "learner"}), "metadata"),
            "flops": (ColdStartPredictor(feature_set="flops", learner="loglinear",
                                         **{k: v for k, v in config.items() if k != "learner"}), "features")}


def _folds(keys: pd.DataFrame, family: pd.Series, protocol: str, n_folds: int, seed: int):
    models = keys["model"].astype(str)
    if protocol == "leave-family-out":
        fam = family.reindex(keys.index).astype("string").fillna("unknown")
        for name in sorted(set(fam) - {"unknown"}):
            yield name, (fam == name).to_numpy()
    elif protocol == "leave-models-out":
        unique = np.array(sorted(models.unique()))
        rng = np.random.default_rng(seed)
        fold_of = dict(zip(unique, rng.permutation(len(unique)) % n_folds))
        assigned = models.map(fold_of).to_numpy()
        for i in range(n_folds):
            yield f"fold{i}", assigned == i
    else:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")


def evaluate_coldstart(matrix, features: pd.DataFrame, metadata: pd.DataFrame | None = None,
                       configs: Sequence[str] | None = None, protocols: Sequence[str] = PROTOCOLS,
                       new_device: bool = True, k: int = 10, n_folds: int = 5,
                       estimators: Mapping[str, tuple[ColdStartPredictor, str]] | None = None,
                       random_state: int = 0) -> ColdStartResult:
    """Predictions of every held-out (row, configuration) for every protocol and estimator.

    ``features``: the features table; ``metadata``: the ``timm_macs`` table (the metadata
    baseline is skipped without it). ``configs``: the target configurations scored (default:
    all). Rows with neither features nor metadata are left out of every estimator alike, so
    they are compared on the same models.
    """
    estimators = dict(estimators or default_estimators())
    if metadata is None:
        estimators = {n: e for n, e in estimators.items() if e[1] != "metadata"}
    keys = row_keys(matrix)
    common = join_features(keys, features).index
    if metadata is not None and any(e[1] == "metadata" for e in estimators.values()):
        common = common.intersection(join_features(keys, metadata).index)
    keys = keys.loc[keys.index.isin(common)]
    values = matrix.values.loc[keys.index]
    models = matrix.models.loc[keys.index]
    family = models["family"] if "family" in models else pd.Series("unknown", index=keys.index)
    targets = list(configs) if configs is not None else list(values.columns)
    device = matrix.configs["device"].astype(str) if "device" in matrix.configs else pd.Series(
        values.columns, index=values.columns)
    tables = {"features": features, "metadata": metadata}
    rng = np.random.default_rng(random_state)
    records = []
    for protocol in protocols:
        for fold, test in _folds(keys, family, protocol, n_folds, random_state):
            if not test.any() or test.all():
                continue
            train = _View(values[~test], models[~test], matrix.configs)
            test_keys = keys[test]
            for name, (estimator, table) in estimators.items():
                est = ColdStartPredictor(**estimator.get_params()).fit(train, tables[table])
                rows = join_features(test_keys, tables[table])
                for target in targets:
                    y = values.loc[rows.index, target].dropna() if target in values else pd.Series(dtype=float)
                    if y.empty or target not in est.configs_:
                        continue
                    these = rows.loc[y.index]
                    kinds = [("stored", None)]
                    if new_device:
                        kinds.append(("new-device", target))
                    for kind, cold in kinds:
                        if cold is None:
                            pred = est.predict(these, target)
                        else:
                            known = values.loc[~test, target].dropna()
                            if len(known) < k:
                                continue
                            known = known.iloc[rng.choice(len(known), size=k, replace=False)]
                            exclude = set(device.index[device == device.get(target, target)])
                            pred = est.predict(these, known, exclude_configs=exclude)
                        records.append(pd.DataFrame({
                            "protocol": protocol, "target": kind, "fold": fold, "estimator": name,
                            "config": target, "row": list(y.index), "model": pred["model"].to_numpy(),
                            "family": family.reindex(y.index).astype(str).to_numpy(),
                            "y_ms": y.to_numpy(), "pred_ms": pred["pred_ms"].to_numpy(),
                            "low_ms": pred["low_ms"].to_numpy(), "high_ms": pred["high_ms"].to_numpy()}))
    predictions = pd.concat(records, ignore_index=True) if records else pd.DataFrame()
    params = {"protocols": list(protocols), "new_device": new_device, "k": k, "n_folds": n_folds,
              "estimators": {n: e.get_params() for n, (e, _) in estimators.items()},
              "n_rows": int(len(keys)), "n_configs": len(targets), "random_state": random_state}
    sources = (matrix.configs["source"].astype(str).to_dict() if "source" in matrix.configs else {})
    return ColdStartResult(predictions=predictions, params_=params, sources={c: sources.get(c, "") for c in targets})


def _within(ratio: np.ndarray, tol: float = 0.10) -> float:
    return float(np.mean(np.abs(ratio - 1) <= tol))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic) if len(a) > 2 else float("nan")


def score_predictions(predictions: pd.DataFrame, n_boot: int = 0, seed: int = 0) -> pd.DataFrame:
    """One row per (protocol, target, estimator, config): n, within ±10 %, Spearman, median
    APE, interval coverage and median width ratio (high/low); with ``n_boot`` > 0 also 95 %
    bootstrap intervals over models of within ±10 % and Spearman."""
    rows = []
    rng = np.random.default_rng(seed)
    keys = ["protocol", "target", "estimator", "config"]
    for key, g in predictions.groupby(keys, sort=False):
        y, p = g["y_ms"].to_numpy(), g["pred_ms"].to_numpy()
        ratio = p / y
        rec = dict(zip(keys, key), n=len(g), within_10=_within(ratio), spearman=_spearman(p, y),
                   median_ape=float(np.median(np.abs(ratio - 1))),
                   coverage=float(np.mean((g["low_ms"] <= g["y_ms"]) & (g["y_ms"] <= g["high_ms"]))),
                   width_ratio=float(np.median(g["high_ms"] / g["low_ms"])))
        if n_boot:
            models = g["model"].to_numpy()
            unique = np.unique(models)
            groups = [np.flatnonzero(models == m) for m in unique]
            w, s = [], []
            for _ in range(n_boot):
                pick = np.concatenate([groups[i] for i in rng.integers(0, len(unique), len(unique))])
                w.append(_within(ratio[pick]))
                s.append(_spearman(p[pick], y[pick]))
            rec.update(within_10_lo=float(np.nanpercentile(w, 2.5)), within_10_hi=float(np.nanpercentile(w, 97.5)),
                       spearman_lo=float(np.nanpercentile(s, 2.5)), spearman_hi=float(np.nanpercentile(s, 97.5)))
        rows.append(rec)
    return pd.DataFrame(rows)


@dataclass
class ColdStartResult:
    """Every held-out prediction (tidy) and its scores; loggable with
    ``predictor.tracking.log_result``."""

    predictions: pd.DataFrame
    params_: dict[str, Any] = field(default_factory=dict)
    #: configuration → its source (timm, aihub, local): metrics are averaged per source
    sources: dict[str, str] = field(default_factory=dict)
    n_boot: int = 0

    def scores(self) -> pd.DataFrame:
        return score_predictions(self.predictions, n_boot=self.n_boot) if len(self.predictions) else pd.DataFrame()

    def params(self) -> dict[str, Any]:
        return self.params_

    def metrics(self) -> dict[str, float]:
        """Means over the configurations of each source: ``<protocol>/<target>/<estimator>/
        <source>/<metric>`` (per configuration: :meth:`nested_metrics`)."""
        s = self.scores()
        if s.empty:
            return {}
        s = s.assign(source=s["config"].map(self.sources).fillna(""))
        means = s.groupby(["protocol", "target", "estimator", "source"])[["within_10", "spearman", "coverage"]].mean()
        return {f"{p}/{t}/{e}/{src}/{m}": float(v) for (p, t, e, src), row in means.iterrows()
                for m, v in row.items()}

    def nested_metrics(self, nested_by: str = "config") -> dict[str, dict[str, float]]:
        """Per configuration (MLflow child runs via ``log_result(..., nested_by="config")``)."""
        out: dict[str, dict[str, float]] = {}
        for r in self.scores().itertuples(index=False):
            for m in ("within_10", "spearman", "coverage"):
                out.setdefault(str(getattr(r, nested_by)), {})[f"{r.protocol}/{r.target}/{r.estimator}/{m}"] = \
                    float(getattr(r, m))
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"coldstart_predictions": self.predictions, "coldstart_scores": self.scores()}

    def figures(self) -> dict[str, Any]:
        """Predicted vs measured, leave-family-out on the configuration with most predictions."""
        p = self.predictions
        if p.empty:
            return {}
        p = p[(p["protocol"] == p["protocol"].iloc[0]) & (p["target"] == "stored")]
        config = p["config"].value_counts().idxmax()
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(4.5 * p["estimator"].nunique(), 4.5))
        for i, (name, g) in enumerate(p[p["config"] == config].groupby("estimator")):
            ax = fig.add_subplot(1, p["estimator"].nunique(), i + 1)
            for fam, gf in g.groupby("family"):
                ax.scatter(gf["y_ms"], gf["pred_ms"], s=6, label=fam)
            lo, hi = g[["y_ms", "pred_ms"]].min().min(), g[["y_ms", "pred_ms"]].max().max()
            ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
            ax.plot([lo, hi], [1.1 * lo, 1.1 * hi], "k:", lw=0.6)
            ax.plot([lo, hi], [lo / 1.1, hi / 1.1], "k:", lw=0.6)
            ax.set(xscale="log", yscale="log", xlabel="measured ms", ylabel="predicted ms", title=name)
            ax.legend(fontsize=6)
        fig.suptitle(f"{p['protocol'].iloc[0]}: {config}", fontsize=8)
        return {"coldstart_scatter": fig}

    def summary(self, configs: Sequence[str] | None = None) -> str:
        s = self.scores()
        if s.empty:
            return "ColdStartResult: no predictions"
        if configs is not None:
            s = s[s["config"].isin(configs)]
        wide = s.pivot_table(index=["protocol", "target", "config"], columns="estimator",
                             values=["within_10", "spearman", "coverage"])
        lines = [f"ColdStartResult: {len(self.predictions)} held-out predictions, "
                 f"{s['config'].nunique()} configurations"]
        with pd.option_context("display.width", 200, "display.max_colwidth", 48, "display.max_rows", 500):
            lines.append(wide.round(3).to_string())
        return "\n".join(lines)
