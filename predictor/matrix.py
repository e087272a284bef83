"""The latency matrix: models × device configurations.

Cross-device transfer is matrix completion: a row is a model *at one input size*, a column is
one device configuration, an entry is the measured ms per sample (or peak MB for
``metric="memory"``). Every transfer method and every analysis reads this one object, so what
counts as "the same model" and "the same configuration" is decided here once:

* A row is (model, input size): timm measures one architecture at several resolutions (a 384 px
  fine-tune is ~3x the work of the 224 px one), and a median across them is no measurement at
  all. The row label is the model name at its *primary* size (the size most often measured,
  ties to the smaller) and ``model@size`` at any other; ``models`` carries ``model`` and
  ``input_size`` for every row, so callers never parse labels. (Ties: nearest 224 px.)
* A column is (device, runtime, precision, layout, runtime version, batch size, threads), with
  two source-specific rules. AI Hub's runtime versions change with every re-profile of the same
  board: those are the *history* of one configuration (see :meth:`LatencyMatrix.aligned_to`),
  not new columns. timm's files each benchmark one torch/CUDA build, so the version is part of
  the configuration (a column never mixes torch 1.13 with 2.4); their batch size is "the largest
  that fits", chosen per model, so it is not (one file is one configuration).
* timm's ``test_*`` networks are dummies for its unit tests: left out unless asked for.

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

CONFIG_BY = ("device", "runtime", "precision", "layout", "runtime_version", "batch_size", "threads")
#: Sources whose runtime version changes between re-profiles of one configuration.
VERSION_IS_HISTORY = ("aihub",)
#: Sources whose batch size is chosen per model ("largest that fits") within one configuration.
BATCH_IS_PER_MODEL = ("timm",)
METRICS = {"latency": "ms_per_sample", "memory": "peak_memory_mb"}
CONFIG_COLUMNS = ("device", "device_tier", "chipset", "runtime", "precision", "layout",
                  "runtime_version", "batch_size", "source", "first_seen", "n_models")
MODEL_COLUMNS = ("model", "family", "input_size", "flops", "macs", "params", "top1")


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

    def without(self, configs: Iterable[str]) -> LatencyMatrix:
        """This matrix less some configurations (every row kept): how a target or a held-out
        device is removed from the sources."""
        drop = set(configs)
        return self.subset(configs=[c for c in self.values.columns if c not in drop])

    def blanked(self, configs: Iterable[str]) -> LatencyMatrix:
        """This matrix with the values of ``configs`` removed but the columns kept: a
        pre-trained predictor's inputs are fixed, so its target's own column is emptied rather
        than dropped."""
        values = self.values.copy()
        values.loc[:, list(configs)] = np.nan
        return replace(self, values=values)

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

    def as_of(self, date: str | pd.Timestamp, inclusive: bool = True) -> LatencyMatrix:
        """The matrix as the store stood at ``date``: each cell the newest measurement on or
        before it (strictly before with ``inclusive=False``), NaN where there was none yet.

        Why: a forward evaluation (``predictor.evaluation.protocols``, ``forward``) must not let
        a source read a re-profile taken after the day its targets are predicted from. Every
        row and column is kept (a column with nothing before ``date`` is all NaN), so callers
        can still index by the latest view's labels; ``history`` keeps only what was known then.
        Without history (hand-built matrices) a column counts as known from its ``first_seen``.
        """
        when = pd.Timestamp(date)
        if self.history is None:
            seen = pd.to_datetime(self.configs.get("first_seen"), errors="coerce")
            known = (seen <= when) if inclusive else (seen < when)
            values = self.values.copy()
            values.loc[:, ~known.reindex(values.columns).fillna(False).to_numpy()] = np.nan
            return replace(self, values=values)
        h = self.history
        at = pd.to_datetime(h["measured_at"])
        h = h[(at <= when) if inclusive else (at < when)]
        latest = h.sort_values("measured_at", kind="stable").drop_duplicates(
            ["model", "config"], keep="last")
        block = latest.pivot(index="model", columns="config", values="value")
        values = block.reindex(index=self.values.index, columns=self.values.columns)
        values = values.astype(float).rename_axis(index=self.values.index.name,
                                                  columns=self.values.columns.name)
        return replace(self, values=values, history=h.reset_index(drop=True))

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


def _part(column: str, value: object) -> str | None:
    """One field of a config id as text, or None when it does not name the configuration."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if column == "batch_size":
        return None if int(value) == 1 else f"bs{int(value)}"
    if column == "threads":
        return f"t{int(value)}"
    return str(value)


def config_id(row: pd.Series | dict, config_by: tuple[str, ...] = CONFIG_BY) -> str:
    """Readable, stable id: the non-empty parts joined by '|' (device first, then runtime and
    precision); batch size only when not 1; the source-specific rules of the module docstring."""
    source = row.get("source")
    parts = []
    for column in config_by:
        if column == "runtime_version" and source in VERSION_IS_HISTORY:
            continue
        if column == "batch_size" and source in BATCH_IS_PER_MODEL:
            continue
        text = _part(column, row.get(column))
        if text is not None:
            parts.append(text)
    return "|".join(parts)


def config_ids(df: pd.DataFrame, config_by: tuple[str, ...] = CONFIG_BY) -> pd.Series:
    """:func:`config_id` for every row, vectorised (the timm tables have tens of thousands)."""
    source = df["source"].astype("string") if "source" in df else pd.Series(pd.NA, index=df.index,
                                                                           dtype="string")
    parts = []
    for column in config_by:
        if column not in df:
            continue
        values = df[column]
        if column in ("batch_size", "threads"):
            n = pd.to_numeric(values, errors="coerce")
            prefix, keep = ("bs", n.notna() & (n != 1)) if column == "batch_size" else ("t", n.notna())
            text = (prefix + n.astype("Int64").astype(str)).where(keep)
        else:
            text = values.astype("string").where(values.notna() & (values.astype("string") != ""))
        if column == "runtime_version":
            text = text.where(~source.isin(VERSION_IS_HISTORY).fillna(False))
        if column == "batch_size":
            text = text.where(~source.isin(BATCH_IS_PER_MODEL).fillna(False))
        parts.append(text.astype(object).tolist())
    joined = ["|".join(v for v in row if isinstance(v, str)) for row in zip(*parts)]
    return pd.Series(joined, index=df.index, dtype=str)


def row_labels(df: pd.DataFrame) -> pd.Series:
    """The matrix row of every measurement: the model at its primary input size (the size most
    often measured; ties to the one nearest 224 px, then the smaller) is labelled by its name,
    any other size ``model@size``."""
    size = pd.to_numeric(df["input_size"], errors="coerce") if "input_size" in df else None
    model = df["model"].astype(str)
    if size is None or size.isna().all():
        return model
    counts = (pd.DataFrame({"model": model, "size": size}).dropna()
              .groupby(["model", "size"]).size().rename("n").reset_index())
    counts["off_224"] = (counts["size"] - 224).abs()  # ties: ImageNet's standard size, then smaller
    counts = counts.sort_values(["model", "n", "off_224", "size"],
                                ascending=[True, False, True, True], kind="stable")
    primary = counts.drop_duplicates("model").set_index("model")["size"]
    other = size.notna() & (size != model.map(primary))
    label = model.copy()
    label[other] = model[other] + "@" + size[other].astype("Int64").astype(str)
    return label


def row_label(model: str, input_size: int | None, models: pd.DataFrame) -> str | None:
    """The row of (model, input size) in a matrix's ``models`` table, or None if it has none."""
    if "model" not in models:
        return model if model in models.index else None
    same = models.index[models["model"].astype(str) == str(model)]
    if input_size is None:
        return same[0] if len(same) == 1 else None
    sizes = pd.to_numeric(models.loc[same, "input_size"], errors="coerce")
    hit = same[(sizes == int(input_size)).to_numpy()]
    return hit[0] if len(hit) else None


def _model_table(df: pd.DataFrame, index: pd.Index, features: pd.DataFrame | None,
                 accuracy: pd.DataFrame | None, macs: pd.DataFrame | None) -> pd.DataFrame:
    """One row per matrix row: its model name, input size and family, then FLOPs/params/top-1
    from the auxiliary tables at that input size (traced features before timm's reported MACs)."""
    first = df.drop_duplicates("row").set_index("row")
    models = pd.DataFrame(index=index)
    models.index.name = "row"
    models["model"] = first["model"].astype(str).reindex(index)
    models["family"] = _mode(df, "family").reindex(index) if "family" in df else None
    models["input_size"] = (pd.to_numeric(first["input_size"], errors="coerce").reindex(index)
                            .astype("Float64") if "input_size" in df else np.nan)
    for column in ("flops", "macs", "params", "top1"):
        models[column] = np.nan
    if macs is not None and len(macs):
        m = _at_size(macs, models)
        models["macs"] = m["gmacs"] * 1e9
        models["flops"] = 2 * models["macs"]
        if "params_m" in m:
            models["params"] = m["params_m"] * 1e6
    if features is not None and len(features):
        f = _at_size(features, models)
        for column in f.columns:
            if column in ("model", "input_size", "row"):
                continue
            values = pd.to_numeric(f[column], errors="coerce")
            models[column] = values.fillna(models[column]) if column in models else values
    if accuracy is not None and len(accuracy) and "top1" in accuracy:
        acc = accuracy.dropna(subset=["top1"])
        if "img_size" in acc:
            acc = acc.rename(columns={"img_size": "input_size"})
        best = acc.sort_values("top1", ascending=False, kind="stable")
        a = _at_size(best, models)
        models["top1"] = pd.to_numeric(a["top1"], errors="coerce")
        if "param_count" in a:
            models["params"] = models["params"].fillna(pd.to_numeric(a["param_count"], errors="coerce") * 1e6)
    models["family"] = models["family"].astype("string")
    return models


def _mode(df: pd.DataFrame, column: str) -> pd.Series:
    """Most frequent non-null value of ``column`` per row (vectorised; ties: first seen)."""
    counts = df.dropna(subset=[column]).groupby(["row", column], sort=False).size()
    best = counts.sort_values(ascending=False, kind="stable").reset_index().drop_duplicates("row")
    return best.set_index("row")[column]


def _at_size(table: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """``table``'s row for each matrix row: same model at the same input size when there is one,
    else (a table without sizes, or no match) the model's first row. Indexed like ``models``."""
    t = table.copy()
    t["model"] = t["model"].astype(str)
    key = pd.DataFrame({"row": models.index, "model": models["model"].astype(str).to_numpy(),
                        "input_size": pd.to_numeric(models["input_size"], errors="coerce")
                        .astype(float).to_numpy()})
    fallback = key.merge(t.drop(columns=["input_size"], errors="ignore").drop_duplicates("model"),
                         on="model", how="left").set_index("row")
    if "input_size" not in t:
        return fallback.reindex(models.index)
    t["input_size"] = pd.to_numeric(t["input_size"], errors="coerce").astype(float)
    exact = key.merge(t.drop_duplicates(["model", "input_size"]), on=["model", "input_size"],
                      how="left").set_index("row")
    found = exact.drop(columns=["model", "input_size"]).notna().any(axis=1)
    out = exact.where(found, fallback.reindex(exact.index)[exact.columns])
    return out.reindex(models.index)


def build_matrix(measurements: pd.DataFrame, metric: str = "latency",
                 features: pd.DataFrame | None = None, accuracy: pd.DataFrame | None = None,
                 macs: pd.DataFrame | None = None, config_by: tuple[str, ...] = CONFIG_BY,
                 min_models: int = 5, since: str | pd.Timestamp | None = None,
                 include_test_models: bool = False) -> LatencyMatrix:
    """Pivot tidy measurements into a :class:`LatencyMatrix` (rows and columns as in the module
    docstring; each cell the newest measurement).

    A configuration with fewer than ``min_models`` measured rows is dropped: no transfer
    method can calibrate on it and it would only add empty columns.

    ``since`` keeps only measurements taken on or after that date. Why: AI Hub re-profiles with
    new tool versions, and a latest view that mixes a 2024 runtime for one model with a 2025
    runtime for another adds per-model noise no transfer method can explain.
    """
    if metric not in METRICS:
        raise MatrixError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    value_col = METRICS[metric]
    missing = [c for c in ("model", value_col, "device", "runtime", "precision") if c not in measurements]
    if missing:
        raise MatrixError(f"measurements lack column(s) {missing}")
    df = measurements
    if not include_test_models:
        df = df[~df["model"].astype(str).str.startswith("test_")]
    if since is not None and "measured_at" in df:
        df = df[pd.to_datetime(df["measured_at"]) >= pd.Timestamp(since)]
    df = df[pd.to_numeric(df[value_col], errors="coerce") > 0]
    # once, for the history and the latest view
    df = df.assign(config=config_ids(df, config_by), row=row_labels(df))
    df[value_col] = df[value_col].astype(float)
    history = _history(df, value_col)
    if "measured_at" in df:
        # the newest measurement of each cell; frames built by hand may lack the tie-breakers
        order = [c for c in ("measured_at", "imported_at", "record_id") if c in df]
        df = df.sort_values(order, kind="stable").drop_duplicates(["row", "config"], keep="last")
    counts = df.groupby("config")["row"].nunique()
    keep = counts.index[counts >= min_models]
    df = df[df["config"].isin(keep)]
    if df.empty:
        raise MatrixError(f"no configuration has >= {min_models} measured models for metric {metric!r}")
    values = df.pivot_table(index="row", columns="config", values=value_col, aggfunc="median")
    values = values.sort_index().sort_index(axis=1)
    values.columns = values.columns.astype(str)
    values.columns.name = "config"
    values.index = pd.Index(values.index.astype(str), name="row")
    g = df.groupby("config")
    configs = pd.DataFrame(index=values.columns)
    for column in CONFIG_COLUMNS[:-2]:
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
    """Every positive measurement of ``df`` (which carries ``config`` and ``row``) as (model,
    config, measured_at, value) with ``model`` the matrix row; repeats of one cell on one date
    (two components of one network) combined by their median like the matrix's cells."""
    if "measured_at" not in df:
        return None
    if df.empty:
        return None
    out = pd.DataFrame({"model": df["row"].astype(str).to_numpy(dtype=object),
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


__all__ = ["CONFIG_BY", "LatencyMatrix", "MatrixError", "build_matrix", "config_id", "config_ids",
           "matrix_from_store", "row_label", "row_labels"]
