"""The latency matrix: models × device configurations.

Cross-device transfer is matrix completion: a row is a model, a column is one device
configuration (device, runtime, precision, layout, batch size), an entry is the measured
ms per sample (or peak MB for ``metric="memory"``). Every transfer method and every analysis reads
this one object, so what counts as "the same configuration" is decided here once.

The latest view of the store is used (newest measurement per configuration); older re-profiles
are noise data, not extra columns. They are kept, though, as ``history``: :meth:`LatencyMatrix.aligned_to`
reads every source "as of" the date each target value was measured, which is what a user has when
they measure a new device today against sources profiled with today's toolchain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from collectors.store import latest_view

CONFIG_BY = ("device", "runtime", "precision", "layout", "batch_size")
METRICS = {"latency": "ms_per_sample", "memory": "peak_memory_mb"}
CONFIG_COLUMNS = ("device", "device_tier", "runtime", "precision", "layout", "batch_size", "source",
                  "first_seen", "n_models")
MODEL_COLUMNS = ("family", "input_size", "flops", "macs", "params", "top1")


class MatrixError(ValueError):
    """The measurements cannot form a matrix (unknown metric, missing column, nothing left)."""


@dataclass
class LatencyMatrix:
    """Measured values (NaN = not measured) with what is known about its rows and columns."""

    values: pd.DataFrame
    configs: pd.DataFrame
    models: pd.DataFrame
    metric: str = "latency"
    #: every measurement behind ``values`` (model, config, measured_at, value), or None
    history: pd.DataFrame | None = None

    def log(self) -> pd.DataFrame:
        """Natural log of the values: transfer is multiplicative, so every method works in logs."""
        return np.log(self.values)

    def subset(self, models: Iterable[str] | None = None,
               configs: Iterable[str] | None = None) -> LatencyMatrix:
        rows = list(models) if models is not None else list(self.values.index)
        cols = list(configs) if configs is not None else list(self.values.columns)
        return replace(self, values=self.values.loc[rows, cols], configs=self.configs.loc[cols],
                       models=self.models.loc[rows])

    def aligned_to(self, target: str) -> LatencyMatrix:
        """This matrix with every other column read as of the dates of ``target``'s values.

        Why: AI Hub re-profiles a model on all devices in one run (one perf.yaml commit), and tool
        chains change between runs. The latest view pairs a target value from a 2024 run with
        source values from a 2025 run, a mismatch that no user has: they measure the new device
        and read the sources at the same time. For each model measured on ``target``, a source
        cell takes the newest measurement on or before the target's date (the earliest after it
        when there is none before); models the target lacks, and matrices without history, keep
        the latest view.
        """
        if self.history is None or target not in self.values.columns or not len(self.history):
            return self
        h = self.history
        when = h[h["config"] == target].groupby("model")["measured_at"].max()
        when = when[when.index.isin(self.values.index)]
        others = [c for c in self.values.columns if c != target]
        h = h[h["config"].isin(others) & h["model"].isin(when.index)]
        if h.empty or not h.duplicated(["model", "config"]).any():
            return self  # nothing was re-profiled: as-of == latest
        query = pd.DataFrame({"model": np.repeat(when.index.to_numpy(dtype=object), len(others)),
                              "config": np.tile(np.array(others, dtype=object), len(when)),
                              "measured_at": np.repeat(when.to_numpy(), len(others))})
        query = query.sort_values("measured_at", kind="stable")
        h = h.sort_values("measured_at", kind="stable")
        got = {}
        for direction in ("backward", "forward"):
            merged = pd.merge_asof(query, h, on="measured_at", by=["model", "config"],
                                   direction=direction)
            got[direction] = merged.set_index(["model", "config"])["value"]
        value = got["backward"].fillna(got["forward"].reindex(got["backward"].index))
        aligned = value.unstack("config").reindex(columns=others)
        values = self.values.copy()
        rows = aligned.index.intersection(values.index)
        block = aligned.loc[rows]
        # keep a cell missing where the latest view has none (the matrix decides what exists)
        values.loc[rows, others] = block.where(values.loc[rows, others].notna())
        return replace(self, values=values)

    @property
    def devices(self) -> list[str]:
        return sorted(self.configs["device"].astype(str).unique())

    def configs_of(self, device: str) -> list[str]:
        return list(self.configs.index[self.configs["device"] == device])

    def density(self) -> float:
        return float(self.values.notna().to_numpy().mean()) if self.values.size else float("nan")

    def summary(self) -> str:
        n_m, n_c = self.values.shape
        lines = [f"LatencyMatrix[{self.metric}]: {n_m} models × {n_c} configs on "
                 f"{len(self.devices)} devices, {self.density():.0%} measured"]
        if n_c:
            by = self.configs.groupby("source", dropna=False)["n_models"].agg(["count", "median"])
            for source, row in by.iterrows():
                lines.append(f"  {source}: {int(row['count'])} configs, median {row['median']:.0f} models each")
        return "\n".join(lines)


def config_id(row: pd.Series, config_by: tuple[str, ...] = CONFIG_BY) -> str:
    """Readable, stable id: the non-empty parts joined by '|'; batch size only when not 1."""
    parts = []
    for column in config_by:
        value = row.get(column)
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or value == "":
            continue
        if column == "batch_size":
            if int(value) == 1:
                continue
            value = f"bs{int(value)}"
        parts.append(str(value))
    return "|".join(parts)


def config_ids(df: pd.DataFrame, config_by: tuple[str, ...] = CONFIG_BY) -> pd.Series:
    """:func:`config_id` for every row, vectorised (the timm tables have tens of thousands)."""
    parts = []
    for column in config_by:
        values = df[column]
        if column == "batch_size":
            n = pd.to_numeric(values, errors="coerce")
            text = ("bs" + n.astype("Int64").astype(str)).where(n.notna() & (n != 1))
        else:
            text = values.astype("string").where(values.notna() & (values.astype("string") != ""))
        parts.append(text.astype(object).tolist())
    joined = ["|".join(v for v in row if isinstance(v, str)) for row in zip(*parts)]
    return pd.Series(joined, index=df.index, dtype=str)


def _model_table(df: pd.DataFrame, index: pd.Index, features: pd.DataFrame | None,
                 accuracy: pd.DataFrame | None, macs: pd.DataFrame | None) -> pd.DataFrame:
    """One row per model: family and input size as measured (mode), then FLOPs/params/top-1 from
    the auxiliary tables, preferring the traced features over timm's reported MACs."""
    models = pd.DataFrame(index=index)
    models.index.name = "model"
    models["family"] = _mode(df, "family").reindex(index) if "family" in df else None
    models["input_size"] = (pd.to_numeric(_mode(df, "input_size"), errors="coerce").reindex(index)
                            .astype("Float64") if "input_size" in df else np.nan)
    for column in ("flops", "macs", "params", "top1"):
        models[column] = np.nan
    if macs is not None and len(macs):
        m = _one_per_model(macs, models["input_size"])
        models["macs"] = (m["gmacs"] * 1e9).reindex(index)
        models["flops"] = 2 * models["macs"]
        if "params_m" in m:
            models["params"] = (m["params_m"] * 1e6).reindex(index)
    if features is not None and len(features):
        f = _one_per_model(features, models["input_size"])
        for column in f.columns:
            if column in ("model", "input_size"):
                continue
            values = pd.to_numeric(f[column], errors="coerce").reindex(index)
            if column in models:
                models[column] = values.fillna(models[column])
            else:
                models[column] = values
    if accuracy is not None and len(accuracy) and "top1" in accuracy:
        acc = accuracy.dropna(subset=["top1"]).groupby("model")
        models["top1"] = acc["top1"].max().reindex(index)
        if "param_count" in accuracy:
            models["params"] = models["params"].fillna((acc["param_count"].max() * 1e6).reindex(index))
    models["family"] = models["family"].astype("string")
    return models


def _mode(df: pd.DataFrame, column: str) -> pd.Series:
    """Most frequent non-null value of ``column`` per model (vectorised; ties: first seen)."""
    counts = df.dropna(subset=[column]).groupby(["model", column], sort=False).size()
    best = counts.sort_values(ascending=False, kind="stable").reset_index().drop_duplicates("model")
    return best.set_index("model")[column]


def _one_per_model(table: pd.DataFrame, input_size: pd.Series) -> pd.DataFrame:
    """The row measured at the model's own input size when there is one, else its first row."""
    t = table.copy()
    if "input_size" in t:
        wanted = pd.to_numeric(t["model"].map(input_size), errors="coerce").astype(float)
        have = pd.to_numeric(t["input_size"], errors="coerce").astype(float)
        t["_match"] = (have == wanted).fillna(False).astype(int)
        t = t.sort_values("_match", ascending=False, kind="stable").drop(columns="_match")
    return t.drop_duplicates("model").set_index("model")


def build_matrix(measurements: pd.DataFrame, metric: str = "latency",
                 features: pd.DataFrame | None = None, accuracy: pd.DataFrame | None = None,
                 macs: pd.DataFrame | None = None, config_by: tuple[str, ...] = CONFIG_BY,
                 min_models: int = 5, since: str | pd.Timestamp | None = None) -> LatencyMatrix:
    """Pivot tidy measurements into a :class:`LatencyMatrix`.

    A configuration with fewer than ``min_models`` measured models is dropped: no transfer
    method can calibrate on it and it would only add empty columns. Repeated measurements of
    one cell that survive the latest view (e.g. two input sizes) are combined by their median.

    ``since`` keeps only measurements taken on or after that date. Why: AI Hub re-profiles with
    new tool versions, and a latest view that mixes a 2024 runtime for one model with a 2025
    runtime for another adds per-model noise no transfer method can explain.
    """
    if metric not in METRICS:
        raise MatrixError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    value_col = METRICS[metric]
    missing = [c for c in ("model", value_col, *config_by) if c not in measurements]
    if missing:
        raise MatrixError(f"measurements lack column(s) {missing}")
    df = measurements
    if since is not None and "measured_at" in df:
        df = df[pd.to_datetime(df["measured_at"]) >= pd.Timestamp(since)]
    df = df.assign(config=config_ids(df, config_by))  # once, for the history and the latest view
    history = _history(df, value_col)
    if "measured_at" in df:
        # frames built by hand may lack the store's tie-breakers; give them neutral ones
        df = df.assign(**{c: df[c] if c in df else pd.NaT if c == "imported_at" else ""
                          for c in ("imported_at", "record_id")})
        df = latest_view(df)
    df = df[pd.to_numeric(df[value_col], errors="coerce") > 0].copy()
    df[value_col] = df[value_col].astype(float)
    counts = df.groupby("config")["model"].nunique()
    keep = counts.index[counts >= min_models]
    df = df[df["config"].isin(keep)]
    if df.empty:
        raise MatrixError(f"no configuration has >= {min_models} measured models for metric {metric!r}")
    values = df.pivot_table(index="model", columns="config", values=value_col, aggfunc="median")
    values = values.sort_index().sort_index(axis=1)
    values.columns = values.columns.astype(str)
    values.columns.name = "config"
    g = df.groupby("config")
    configs = pd.DataFrame(index=values.columns)
    for column in ("device", "device_tier", "runtime", "precision", "layout", "batch_size", "source"):
        # GroupBy.first skips nulls: the first non-null value per configuration
        configs[column] = g[column].first().reindex(values.columns) if column in df else None
    configs["first_seen"] = (g["measured_at"].min().reindex(values.columns) if "measured_at" in df
                             else pd.NaT)
    configs["n_models"] = values.notna().sum().astype(int)
    models = _model_table(df, values.index, features, accuracy, macs)
    if history is not None:
        history = history[history["config"].isin(values.columns)
                          & history["model"].isin(values.index)].reset_index(drop=True)
    return LatencyMatrix(values=values, configs=configs, models=models, metric=metric,
                         history=history)


def _history(df: pd.DataFrame, value_col: str) -> pd.DataFrame | None:
    """Every positive measurement of ``df`` (which carries ``config``) as (model, config,
    measured_at, value); repeats of one cell on one date (two input sizes, two components)
    combined by their median like the matrix's cells."""
    if "measured_at" not in df:
        return None
    df = df[pd.to_numeric(df[value_col], errors="coerce") > 0]
    if df.empty:
        return None
    out = pd.DataFrame({"model": df["model"].astype(str).to_numpy(dtype=object),
                        "config": df["config"].to_numpy(dtype=object),
                        "measured_at": pd.to_datetime(df["measured_at"]).to_numpy(dtype="datetime64[ns]"),
                        "value": df[value_col].astype(float).to_numpy()})
    out = out.dropna(subset=["measured_at"])
    return out.groupby(["model", "config", "measured_at"], as_index=False, sort=False)["value"].median()


def matrix_from_store(store, metric: str = "latency", sources: Iterable[str] | None = None,
                      **kw) -> LatencyMatrix:
    """:func:`build_matrix` over a store's latest view and its auxiliary tables."""
    filters = {"source": list(sources)} if sources is not None else {}
    measurements = store.measurements(**filters)  # build_matrix takes the latest view

    def table(name: str) -> pd.DataFrame | None:
        try:
            t = store.read(name)
        except Exception:  # an absent auxiliary table only means fewer model columns
            return None
        return t if len(t) else None

    kw.setdefault("features", table("features"))
    kw.setdefault("accuracy", table("accuracy"))
    kw.setdefault("macs", table("timm_macs"))
    return build_matrix(measurements, metric=metric, **kw)


__all__ = ["CONFIG_BY", "LatencyMatrix", "MatrixError", "build_matrix", "config_id",
           "matrix_from_store"]
