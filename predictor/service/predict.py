"""The prediction service: the one function behind ``effbench predict`` *and* ``evaluate``.

A query is split in two so that evaluation can call exactly what a user's query calls:

* :func:`prepare_target` — everything that does not depend on the known values: the target
  (checked), the sources (every stored configuration except the target's own and, for a
  held-out device, its other configurations), their design matrix and the row index;
* :func:`answer` — given a known table (``read_known``'s columns) and an estimator: match the
  known models to rows (skipping, with a warning, models the store lacks), check their unit,
  fit, predict every row with an interval, echo the known models, answer ``--models``.

``predictor.service.query.predict_from_known`` composes them for one query (choosing the method
with ``auto`` and reusing saved pre-trained predictors); ``predictor.evaluation.evaluate``
prepares each held-out target once and calls :func:`answer` for every draw of known models.
This module imports neither (evaluation and ``auto`` build on it, not the other way round).

Decisions, stated once:

* ``known.csv`` is the only information about the target: a stored configuration with the
  target's device, runtime and precision is removed from the sources (blanked, for a
  pre-trained predictor whose inputs are fixed).
* Known models are echoed: their row carries the measured value as prediction, low and high,
  ``basis = measured``; ``rank_pred`` (1 = fastest) ranks all output rows on these values.
* Rows are (model, input size); the output carries both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from predictor.design import make_design, source_columns
from predictor.service.known import VALUE_COLUMN, KnownFileError, RowIndex, match_known
from predictor.service.target import Target, check_units


class QueryError(ValueError):
    """A prediction request that cannot be answered (too few usable known models)."""


@dataclass
class PreparedTarget:
    """A target and its sources, ready for any number of known tables."""

    target: Target
    X: pd.DataFrame
    rows: RowIndex
    models: pd.DataFrame
    metric: str = "latency"
    notes: list[str] = field(default_factory=list)


def prepare_target(matrix: Any, target: Target, blank_stored: bool = False,
                   notes: Sequence[str] = ()) -> PreparedTarget:
    """The target's design over its sources (see module docstring); a held-out device's
    other configurations are removed by the caller (``LatencyMatrix.without``)."""
    drop = target.stored_configs(matrix.configs)
    sources = matrix.blanked(drop) if blank_stored and drop else matrix.without(drop)
    X = make_design(sources, None)
    return PreparedTarget(target, X, RowIndex.of(matrix.models), matrix.models,
                          getattr(matrix, "metric", "latency"), list(notes))


@dataclass
class Prediction:
    """One answered query: per-row predictions (``frame``, indexed by matrix row) and what was
    left out. ``table()`` is the user's output; ``summary()`` the terminal's."""

    frame: pd.DataFrame
    method: str
    target: Target
    metric: str = "latency"
    warnings: list[str] = field(default_factory=list)
    #: the known values matched to matrix rows (label → value), whatever ``--models`` shows
    known: pd.Series | None = None

    def table(self) -> pd.DataFrame:
        value = VALUE_COLUMN[self.metric]
        f = self.frame
        out = pd.DataFrame({
            "model": f["model"].to_numpy(), "input_size": f["input_size"].astype("Int64").to_numpy(),
            f"{value}_pred": f["pred"].to_numpy(), f"{value}_low": f["low"].to_numpy(),
            f"{value}_high": f["high"].to_numpy()})
        out["rank_pred"] = out[f"{value}_pred"].rank(method="min").astype("Int64")
        out["method"] = self.method
        out["known"] = f["known"].to_numpy()
        basis = np.where(f["known"], "measured", np.where(np.isfinite(f["pred"]), "transfer", ""))
        if "basis" in f:  # set by a step that knows better (cold start: "features")
            basis = np.where(f["basis"].notna() & (f["basis"].astype(str) != ""),
                             f["basis"].astype(str), basis)
        out["basis"] = basis
        out["reason"] = f["reason"].to_numpy() if "reason" in f else ""
        out["device"], out["runtime"], out["precision"] = (self.target.device, self.target.runtime,
                                                          self.target.precision)
        return out.sort_values(["rank_pred", "model"], kind="stable", na_position="last"
                               ).reset_index(drop=True)

    def headline(self) -> str:
        """One line: how many of the rows got a prediction, where, with what."""
        f = self.frame
        # the known models matched, whether or not ``--models`` shows their rows
        known = len(self.known) if self.known is not None else int(f["known"].sum())
        return (f"{int(np.isfinite(f['pred']).sum())} of {len(f)} models predicted on "
                f"{self.target.config_id} with {self.method} ({known} known)")

    def summary(self) -> str:
        return "\n".join([self.headline()] + [f"warning: {w}" for w in self.warnings])


def _interval(est: Any, X: pd.DataFrame, coverage: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) from the estimator's ``predict_interval``; NaN where it has none (fitted
    without intervals, or a method that gives none)."""
    from sklearn.exceptions import NotFittedError

    nan = np.full(n, np.nan)
    if not hasattr(est, "predict_interval"):
        return nan, nan
    try:
        out = est.predict_interval(X, coverage)
    except NotFittedError:
        return nan, nan
    if isinstance(out, pd.DataFrame):
        out = (out.iloc[:, 0], out.iloc[:, 1])
    low, high = out
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def answer(prepared: PreparedTarget, known: pd.DataFrame, estimator: Any, method: str,
           coverage: float = 0.9, models: Sequence[str] | None = None,
           check: bool = True) -> Prediction:
    """Fit ``estimator`` on the known table and predict every row (see module docstring).

    ``estimator`` is fitted in place (its pre-training, if any, is reused). ``check=False``
    skips the unit check (an evaluation's known values come from the store itself).
    """
    X = prepared.X
    matched = match_known(known, prepared.rows)
    y_all, skipped, errors = matched.values, matched.skipped, matched.errors
    if errors:
        raise KnownFileError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    warnings = list(prepared.notes)
    if matched.assumed:
        warnings.append("input_size not given, took the primary size: "
                        + "; ".join(matched.assumed))
    if skipped:
        warnings.append(f"skipped {len(skipped)} known model(s) the store has never measured: "
                        f"{', '.join(skipped)}")
    y = y_all[y_all.index.isin(X.index)]
    need = int(estimator.required_known()) if hasattr(estimator, "required_known") else 0
    if len(y) < need:
        left = f" after skipping {', '.join(skipped)}" if skipped else ""
        raise QueryError(f"method {method!r} needs at least {need} known model(s) measured on "
                         f"another configuration, got {len(y)}{left}")
    if check and len(y):
        check_units(y, X[source_columns(X)], prepared.target)
    estimator.fit(X, y, target=prepared.target.config_id)  # the target, explicitly
    pred = np.asarray(estimator.predict(X), dtype=float)
    low, high = _interval(estimator, X, coverage, len(X))
    frame = pd.DataFrame({"pred": pred, "low": low, "high": high}, index=X.index)
    extra = y_all.index.difference(frame.index)  # known, but no source measured them
    if len(extra):
        frame = pd.concat([frame, pd.DataFrame(np.nan, index=extra, columns=frame.columns)])
    frame["known"] = frame.index.isin(y_all.index)
    for column in ("pred", "low", "high"):
        frame.loc[frame["known"], column] = y_all.reindex(frame.index[frame["known"]]).to_numpy()
    frame["reason"] = ""
    info = prepared.models.reindex(frame.index)
    frame["model"] = info["model"].fillna(pd.Series(frame.index, index=frame.index)).astype(str) \
        if "model" in info else frame.index.astype(str)
    frame["input_size"] = pd.to_numeric(info.get("input_size"), errors="coerce")
    given = pd.Series(matched.names, dtype=object)
    frame.loc[given.index, "model"] = given.to_numpy()  # known models as the caller named them
    frame = pd.concat([frame, _unmatched(known, skipped)]) if skipped else frame
    if models:
        frame, more = _requested(frame, models, prepared.rows)
        warnings += more
    return Prediction(frame, method, prepared.target, prepared.metric, warnings, known=y_all)


def _unmatched(known: pd.DataFrame, skipped: list[str]) -> pd.DataFrame:
    """Known models the store lacks, echoed as measured (the user's own measurement is still
    the best estimate of them), labelled as ``--models`` names them."""
    rows = []
    for rec in known.itertuples():
        label = rec.model if pd.isna(rec.input_size) else f"{rec.model}@{int(rec.input_size)}"
        if label in skipped:
            rows.append({"label": label, "pred": rec.value, "low": rec.value, "high": rec.value,
                         "known": True, "reason": "not in the store: echoed, not used",
                         "model": rec.model, "input_size": rec.input_size})
    return pd.DataFrame(rows).set_index("label")


def _requested(frame: pd.DataFrame, requested: Sequence[str], rows: RowIndex
               ) -> tuple[pd.DataFrame, list[str]]:
    """The rows ``--models`` asks for; a name with no prediction gets an empty row and a
    reason, the rest are answered."""
    from predictor.service.known import _canonical

    picked, missing, names_of = [], [], {}
    for name in requested:
        base, _, size = str(name).partition("@")
        if name in frame.index and frame.at[name, "known"]:  # echoed known model
            label, why = name, ""
        else:
            label, why = rows.lookup(_canonical(base), int(size) if size.isdigit() else None)
        if label is None or label not in frame.index:
            why = why or "no source configuration measured it"
            missing.append(pd.DataFrame({"pred": [np.nan], "low": [np.nan], "high": [np.nan],
                                         "known": [False], "reason": [f"{name}: {why}"],
                                         "model": [base], "input_size": [float(size) if
                                                                         size.isdigit() else np.nan]},
                                        index=[f"?{name}"]))
            continue
        if label not in picked:
            picked.append(label)
            names_of[label] = base
    out = frame.loc[picked].copy()
    out["model"] = [names_of[label] for label in picked]  # as the caller named them
    out = pd.concat([out, *missing]) if missing else out
    notes = ([f"{len(missing)} of {len(requested)} requested model(s) could not be predicted: "
              + "; ".join(m["reason"].iloc[0] for m in missing)] if missing else [])
    return out, notes


__all__ = ["KnownFileError", "Prediction", "PreparedTarget", "QueryError", "answer",
           "prepare_target"]
