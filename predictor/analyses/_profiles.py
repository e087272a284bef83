"""Two profiles of the same configuration: run-to-run (weeks apart) or toolchain drift (months).

Why two kinds: AI Hub re-profiles every model at most releases, about every two weeks, and over
18 months its compilers, runtimes and drivers change. Comparing a platform's first and last
profile measures that *drift*; how reproducible one measurement is (what "within-platform
stability" means) is the comparison of profiles a few weeks apart. Both come from the stored
re-profiles, which only the tidy table keeps (the matrices hold the newest value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.analyses._resample import RankUnits

PLATFORM = ["device", "runtime", "precision"]
RUN_TO_RUN = "run_to_run"
DRIFT = "drift"


def join_columns(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """``a|b|c`` per row (missing values as ``<NA>``), whatever the columns' dtypes."""
    out = frame[columns[0]].astype(object).map(str)
    for c in columns[1:]:
        out = out + "|" + frame[c].astype(object).map(str)
    return out


def config_key(rows: pd.DataFrame) -> list[str]:
    from collectors.schema import CONFIG_KEY
    return [c for c in CONFIG_KEY if c in rows]


def profile_pairs(measurements: pd.DataFrame, kind: str, days: float,
                  source: str | None = "aihub") -> pd.DataFrame:
    """One row per (configuration, model) pair of profiles, with ``unit`` naming the ranking it
    belongs to.

    ``run_to_run``: consecutive profiles at most ``days`` apart; a unit is a configuration's
    models re-profiled on the same later date (one release). ``drift``: each model's first and
    last profile, at least ``days`` apart; a unit is a configuration.
    """
    rows = measurements
    if source is not None and "source" in rows:
        rows = rows[rows["source"] == source]
    rows = rows[rows["latency_ms"] > 0]
    if rows.empty:
        return pd.DataFrame()
    key = config_key(rows)
    rows = rows.sort_values("measured_at", kind="stable")
    g = rows.groupby(key, dropna=False, sort=False)
    cols = ["latency_ms", "peak_memory_mb", "measured_at"]
    if kind == RUN_TO_RUN:
        prev = g[cols].shift(1)
        pairs = rows.join(prev, rsuffix="_prev")
        pairs = pairs[pairs["measured_at_prev"].notna()]
    elif kind == DRIFT:
        first, last = g.head(1).set_index(key), g.tail(1).set_index(key)
        pairs = last[cols].join(first[cols], rsuffix="_prev").reset_index()
    else:
        raise ValueError(f"unknown profile pair kind '{kind}' (use {RUN_TO_RUN} or {DRIFT})")
    gap = (pd.to_datetime(pairs["measured_at"]) - pd.to_datetime(pairs["measured_at_prev"]))
    pairs = pairs.assign(gap_days=gap.dt.total_seconds() / 86400)
    pairs = pairs[pairs["gap_days"] <= days] if kind == RUN_TO_RUN else pairs[pairs["gap_days"] >= days]
    if pairs.empty:
        return pd.DataFrame()
    group = [k for k in key if k != "model"]
    label = join_columns(pairs, group)
    if kind == RUN_TO_RUN:
        label = label + "@" + pd.to_datetime(pairs["measured_at"]).dt.strftime("%Y-%m-%d")
    return pairs.assign(unit=label.to_numpy()).reset_index(drop=True)


def stability_units(pairs: pd.DataFrame, measure: str, flops: pd.Series, models: pd.Index,
                    devices: pd.Index, min_models: int) -> tuple[RankUnits | None, pd.DataFrame]:
    """RankUnits of (earlier, later) keys per unit for ``measure`` (latency, memory, frm), each
    platform weighted once however many releases re-profiled it; and a per-unit table."""
    if pairs.empty:
        return None, pd.DataFrame()
    p = pairs.copy()
    lat, lat0 = np.log(p["latency_ms"]), np.log(p["latency_ms_prev"])
    mem = np.log(p["peak_memory_mb"].where(p["peak_memory_mb"] > 0))
    mem0 = np.log(p["peak_memory_mb_prev"].where(p["peak_memory_mb_prev"] > 0))
    f = np.log(p["model"].map(flops).astype(float))
    if measure == "latency":
        x, y = lat0, lat
    elif measure == "memory":
        x, y = mem0, mem
    elif measure == "frm":
        x, y = f + lat0 + mem0, f + lat + mem
    else:
        raise ValueError(f"unknown measure '{measure}'")
    p = p.assign(x=x.to_numpy(), y=y.to_numpy())
    p = p[np.isfinite(p["x"]) & np.isfinite(p["y"]) & p["model"].isin(models)]
    sizes = p.groupby("unit")["model"].transform("size")
    p = p[sizes >= min_models]
    if p.empty:
        return None, pd.DataFrame()
    pos = pd.Series(np.arange(len(models)), index=models)
    dev = pd.Series(np.arange(len(devices)), index=devices)
    platform = join_columns(p, PLATFORM)
    p = p.assign(platform=platform.to_numpy())
    units = []
    for unit, grp in p.groupby("unit", sort=True):
        units.append((unit, grp["platform"].iloc[0], str(grp["device"].iloc[0]),
                      pos[grp["model"]].to_numpy(), grp["x"].to_numpy(), grp["y"].to_numpy(),
                      float(grp["gap_days"].median())))
    table = pd.DataFrame({"unit": [u[0] for u in units], "platform": [u[1] for u in units],
                          "device": [u[2] for u in units],
                          "n_models": [len(u[3]) for u in units],
                          "median_gap_days": [u[6] for u in units]})
    per_platform = table.groupby("platform")["unit"].transform("size").to_numpy()
    ru = RankUnits([u[3] for u in units], [[u[4] for u in units], [u[5] for u in units]],
                   devices=np.array([dev.get(u[2], -1) for u in units]),
                   unit_weight=1.0 / per_platform)
    table["rho"] = ru.spearman(np.ones((1, len(models))))[0]
    return ru, table


__all__ = ["DRIFT", "PLATFORM", "RUN_TO_RUN", "config_key", "join_columns", "profile_pairs",
           "stability_units"]
