"""References printed beside every score: what the data themselves say about a target.

Two numbers per target configuration, both *references*, neither a bound:

* ``oracle_within_10`` / ``oracle_spearman`` — the in-sample single-source oracle
  (:func:`predictor.evaluation.ceiling.transfer_ceiling`): among the sources the split allows,
  the one whose ratio, fitted on **every** target model, explains the target best. It chooses its
  source with the target's own scores, so it is optimistic for single-source ratios — yet it
  uses neither model features, nor several sources, nor a non-linear map, and a k-shot method
  that has those can beat it (``tests/predictor/test_references.py`` shows one that does on
  real data).
* ``retest_within_10`` — the test–retest rate of the target's own re-profiles: how often two
  successive measurements of the same (model, configuration) cell, taken at most
  ``max_gap_days`` apart, agree within ±10 %. A prediction is compared with *one* measurement,
  so this is how often the measurement agrees with itself; NaN where the target was never
  re-profiled (timm's files are one run each). ``retest_spearman``: the rank correlation of the
  first re-profile pair of each model (NaN below ``MIN_RETEST_MODELS`` models), the same
  reference for a ranking: on the forward targets re-profiles rank 0.99 alike while the best
  single source in hindsight ranks 0.94 alike, so a Spearman goal of 0.98 asks for more than
  any one source's order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from predictor.metrics import spearman, within

#: Two measurements of one cell are a re-profile pair when at most this many days apart.
RETEST_GAP_DAYS = 42
#: fewer re-profiled models than this: no retest Spearman (a rank correlation of three is noise)
MIN_RETEST_MODELS = 8
REFERENCE_COLUMNS = ("target", "oracle_within_10", "oracle_spearman", "oracle_source",
                     "retest_within_10", "retest_spearman", "retest_pairs")


def retest_pairs(history: pd.DataFrame | None, max_gap_days: int = RETEST_GAP_DAYS
                 ) -> pd.DataFrame:
    """Successive re-profiles of one cell: (model, config, first, second, days, log_ratio)."""
    columns = ["model", "config", "first", "second", "days", "log_ratio"]
    if history is None or history.empty:
        return pd.DataFrame(columns=columns)
    h = history.sort_values(["config", "model", "measured_at"], kind="stable")
    same = (h["config"].shift() == h["config"]) & (h["model"].shift() == h["model"])
    days = (pd.to_datetime(h["measured_at"]) - pd.to_datetime(h["measured_at"].shift())).dt.days
    ok = same & (days > 0) & (days <= max_gap_days)
    prev = h["value"].shift()
    out = pd.DataFrame({"model": h["model"], "config": h["config"], "first": prev,
                        "second": h["value"], "days": days})[ok]
    out["log_ratio"] = np.log(out["second"] / out["first"])
    return out.reset_index(drop=True)[columns]


def retest_rate(history: pd.DataFrame | None, max_gap_days: int = RETEST_GAP_DAYS,
                tolerance: float = 0.10) -> pd.DataFrame:
    """Per configuration: the share of re-profile pairs within ±``tolerance``, the Spearman of
    each model's first pair (``retest_spearman``) and the number of pairs.

    "Within ±10 %" is read as a prediction is: the second measurement within 10 % of the first
    (``|second / first − 1| ≤ 0.10``), the same test ``predictor.metrics.within`` applies.
    """
    pairs = retest_pairs(history, max_gap_days)
    if pairs.empty:
        return pd.DataFrame(columns=["config", "retest_within_10", "retest_spearman",
                                     "retest_pairs"])
    agree = (np.abs(pairs["second"] / pairs["first"] - 1) <= tolerance + 1e-12).astype(float)
    g = agree.groupby(pairs["config"])
    firsts = pairs.drop_duplicates(["config", "model"])  # one pair per model: no model counts twice
    rho = {config: (spearman(p["first"].to_numpy(), p["second"].to_numpy())
                    if len(p) >= MIN_RETEST_MODELS else np.nan)
           for config, p in firsts.groupby("config")}
    return pd.DataFrame({"retest_within_10": g.mean(), "retest_spearman": pd.Series(rho),
                         "retest_pairs": g.size()}).rename_axis("config").reset_index()


def _oracle(y: pd.Series, sources: pd.DataFrame, min_models: int, min_overlap: float
            ) -> tuple[float, float, str | None]:
    """Best single source by in-sample within-10 % with its median log ratio on all models."""
    best = (np.nan, np.nan, None)
    ly = np.log(y)
    for source in sources.columns:
        x = np.log(sources[source])
        ok = x.notna().to_numpy()
        if ok.sum() < max(min_models, min_overlap * len(y)):
            continue
        yy, xx = ly.to_numpy()[ok], x.to_numpy()[ok]
        pred = xx + np.median(yy - xx)
        w10 = within(np.exp(yy), np.exp(pred), 0.10)
        if best[2] is None or w10 > best[0]:
            best = (w10, spearman(yy, pred), source)
    return best


def split_references(matrix, splits: Sequence, align: bool = True, min_models: int = 5,
                     min_overlap: float = 0.9, max_gap_days: int = RETEST_GAP_DAYS
                     ) -> pd.DataFrame:
    """One row per target of ``splits``: the oracle over *that split's* sources (read as the
    split's method reads them: as of T for ``forward``, aligned when ``align``) and the
    target's test–retest rate (see the module docstring)."""
    from predictor.evaluation.protocols import forward_view

    retest = retest_rate(getattr(matrix, "history", None), max_gap_days).set_index("config")
    rows, seen = [], set()
    for split in splits:
        if split.target in seen:
            continue
        seen.add(split.target)
        sub = matrix.subset(configs=list(split.sources) + [split.target])
        if getattr(split, "as_of", None) is not None:
            sub = forward_view(sub, split)
        elif align and hasattr(sub, "aligned_to"):
            sub = sub.aligned_to(split.target)
        y = sub.values[split.target].dropna()
        # the models a method is scored on: measured on the target and on some allowed source
        y = y[sub.values.loc[y.index, list(split.sources)].notna().any(axis=1)]
        w10 = rho = np.nan
        source = None
        if len(y) >= min_models:
            w10, rho, source = _oracle(y, sub.values.loc[y.index, list(split.sources)],
                                       min_models, min_overlap)
        r = retest.reindex([split.target]).iloc[0] if len(retest) else None
        rows.append(dict(target=split.target, oracle_within_10=w10, oracle_spearman=rho,
                         oracle_source=source,
                         retest_within_10=float(r["retest_within_10"]) if r is not None else np.nan,
                         retest_spearman=float(r["retest_spearman"]) if r is not None else np.nan,
                         retest_pairs=float(r["retest_pairs"]) if r is not None else 0.0))
    out = pd.DataFrame(rows, columns=list(REFERENCE_COLUMNS))
    out["retest_pairs"] = out["retest_pairs"].fillna(0).astype(int)
    return out


__all__ = ["MIN_RETEST_MODELS", "REFERENCE_COLUMNS", "RETEST_GAP_DAYS", "retest_pairs", "retest_rate",
           "split_references"]
