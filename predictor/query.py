"""Predict every model's latency on a (possibly new) device from a few measured ones.

This is the library function behind ``effbench predict``. The caller measures k models on the
target (device, runtime, precision) and writes them to ``known.csv`` (columns ``model,
latency_ms`` and optionally ``input_size``; ms per sample at batch 1; any registry alias). A
transfer method reads every *other* configuration in the store as sources and predicts the rest.

Decisions, stated once:

* ``known.csv`` is the only information about the target. If the store already holds the
  target configuration, its stored measurements are excluded from the sources (its column is
  dropped, or blanked for a pre-trained model whose inputs are fixed). Other configurations of the
  same device (another runtime or precision) remain legitimate sources.
* Known models are echoed: their row carries the measured value as ``*_pred`` (and as low and
  high), ``known = True``; the measurement is the best estimate there is. ``rank_pred`` (1 =
  fastest) ranks all output rows on these values.
* ``method="auto"`` picks, among all methods, the one with the best mean within-10 % in a
  small leave-one-device-out run (up to six
  target configurations, two draws) on comparable configurations — the first of (same tier,
  runtime and precision), (same runtime and precision), (same tier) with at least three
  configurations, else all — at the k of the
  standard grid nearest to the number of known models. The choice is cached as JSON in the store
  folder (``auto_method.json``), keyed by the store's content, so it is computed once per store
  state. A target device not in the store has no known tier, so only runtime and precision count.
  The first ``auto`` query on a store pays for that run (≈ 30 s on the public data, 2 cores).
* Methods that pre-train on the sources (the learned ones, low-rank) are saved once pre-trained
  under ``<store>/predictors/`` (JSON / xgboost JSON, never pickles), keyed by the content of the
  sources, together with their conformal calibration per k; later queries only fit the k known
  models. ``effbench train`` + ``--model-uri`` does the same through MLflow.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

VALUE_COLUMN = {"latency": "latency_ms", "memory": "peak_memory_mb"}
AUTO_CACHE = "auto_method.json"
#: The k values ``auto``'s small LODO runs at, and its candidates: every method.
AUTO_KS = (0, 1, 3, 5, 10)
AUTO_CANDIDATES = ("flops", "krt", "rank", "lowrank", "xgboost", "sklearn", "statsmodels")
#: Sub-folder of the store where pre-trained predictors are kept between queries.
PREDICTOR_CACHE = "predictors"
AUTO_TARGETS = 6


class KnownFileError(ValueError):
    """A bad ``known.csv``: the message names the file and the row."""


class QueryError(ValueError):
    """A prediction request that cannot be answered (no information on the target, too few
    known models for the method, a model with no measurement anywhere)."""


def _bad(origin: str, row: int | None, message: str) -> KnownFileError:
    where = f"{origin} row {row}" if row is not None else origin
    return KnownFileError(f"{where}: {message}")


def read_known(path: str | Path | pd.DataFrame, metric: str = "latency",
               origin: str | None = None) -> pd.DataFrame:
    """Validate a known-measurements table; return ``model, canonical, input_size, value``.

    Rows are numbered from 1 after the header (row 1 = first data row), as a user counts them.
    """
    from models_registry import UnknownModelError, canonical_id

    column = VALUE_COLUMN[metric]
    if isinstance(path, pd.DataFrame):
        df, origin = path.copy(), origin or "known"
    else:
        origin = origin or Path(path).name
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such file") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise _bad(origin, None, f"not a readable CSV ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("model", column) if c not in df.columns]
    if missing:
        raise _bad(origin, None, f"missing column(s) {missing}; expected 'model,{column}"
                                 "[,input_size]'")
    rows = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(df.to_dict("records"), start=1):
        name = str(rec["model"]).strip() if rec["model"] is not None else ""
        if not name or name.lower() == "nan":
            raise _bad(origin, i, "model is missing")
        try:
            canonical = canonical_id(name)
        except UnknownModelError as exc:
            raise _bad(origin, i, str(exc)) from None
        raw = rec[column]
        text = "" if raw is None else str(raw).strip()
        if not text:
            raise _bad(origin, i, f"{column} is missing")
        try:
            value = float(text)
        except ValueError:
            raise _bad(origin, i, f"{column} is not a number: {text!r}") from None
        if not math.isfinite(value):
            raise _bad(origin, i, f"{column} must be a finite number, got {text!r}")
        if value <= 0:
            raise _bad(origin, i, f"{column} must be > 0, got {text}")
        size = None
        if "input_size" in df.columns and str(rec["input_size"]).strip() not in ("", "nan", "None"):
            try:
                size = int(float(str(rec["input_size"]).strip()))
            except ValueError:
                raise _bad(origin, i, f"input_size is not an integer: {rec['input_size']!r}") from None
            if size <= 0:
                raise _bad(origin, i, f"input_size must be > 0, got {size}")
        if canonical in seen:
            raise _bad(origin, i, f"model {name!r} is already given in row {seen[canonical]}")
        seen[canonical] = i
        rows.append({"model": name, "canonical": canonical, "input_size": size, "value": value,
                     "row": i})
    out = pd.DataFrame(rows, columns=["model", "canonical", "input_size", "value", "row"])
    out.attrs["origin"] = origin
    return out


def _close(name: str, candidates) -> str:
    import difflib

    matches = difflib.get_close_matches(str(name).lower(), [str(c) for c in candidates], n=5,
                                        cutoff=0.6)
    return f"close matches: {', '.join(matches)}" if matches else "no close matches in the store"


def check_known_models(known: pd.DataFrame, matrix: Any) -> None:
    """Reject known models that neither the catalogue nor the store knows (a typo, most likely):
    they would only be echoed, never used."""
    from models_registry import UnknownModelError, resolve

    for rec in known.itertuples():
        if rec.canonical in matrix.values.index:
            continue
        try:
            resolve(rec.model)
        except UnknownModelError:
            raise _bad(known.attrs.get("origin", "known"), getattr(rec, "row", None),
                       f"unknown model {rec.model!r} (not in the catalogue, never measured in the "
                       f"store); {_close(rec.canonical, matrix.values.index)}") from None


# --------------------------------------------------------------------------- the target column

def _matches(configs: pd.DataFrame, device: str | None, runtime: str | None,
             precision: str | None) -> pd.Series:
    mask = pd.Series(True, index=configs.index)
    for column, value in (("device", device), ("runtime", runtime), ("precision", precision)):
        if value is None:
            return pd.Series(False, index=configs.index)
        mask &= configs[column].astype(str).str.lower() == str(value).lower()
    return mask


def target_id(device: str | None, runtime: str | None, precision: str | None) -> str:
    """The target's column id: ``device|runtime|precision|query`` (device first, as in
    ``predictor.matrix.config_id``, so that device-aware code reads it the same way)."""
    return f"{device or 'new-device'}|{runtime or '-'}|{precision or '-'}|query"


def with_target(matrix: Any, known: pd.DataFrame, device: str | None, runtime: str | None,
                precision: str | None, drop_stored: bool = True) -> tuple[Any, str]:
    """The matrix plus a target column holding only the known values.

    A stored configuration equal to the target is dropped (``drop_stored``) or blanked, so that
    the known file is the only information about the target.
    """
    from predictor.evaluation.runner import submatrix

    same = _matches(matrix.configs, device, runtime, precision)
    if drop_stored:
        matrix = submatrix(matrix, list(matrix.configs.index[~same]))
    elif same.any():
        values = matrix.values.copy()
        values.loc[:, same[same].index] = np.nan
        matrix = _replace(matrix, values=values)
    tid = target_id(device, runtime, precision)
    values = matrix.values.copy()
    extra = [m for m in known["canonical"] if m not in values.index]
    if extra:
        values = pd.concat([values, pd.DataFrame(index=pd.Index(extra, name=values.index.name),
                                                 columns=values.columns, dtype=float)])
    values[tid] = known.set_index("canonical")["value"].reindex(values.index)
    configs = matrix.configs.copy()
    stored_device = configs[configs["device"].astype(str).str.lower() == str(device).lower()]
    tier = str(stored_device["device_tier"].iloc[0]) if len(stored_device) else "unknown"
    row = {c: None for c in configs.columns}
    row.update(device=device or "new-device", runtime=runtime, precision=precision, device_tier=tier)
    if "source" in configs:
        row["source"] = "query"
    configs.loc[tid] = pd.Series(row)
    models = matrix.models
    if extra:
        models = models.reindex(models.index.append(pd.Index(
            [m for m in extra if m not in models.index])))
    return _replace(matrix, values=values, configs=configs, models=models), tid


def _replace(matrix: Any, **changes: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(matrix):
        return dataclasses.replace(matrix, **changes)
    kw = {"values": matrix.values, "configs": matrix.configs, "models": matrix.models,
          "metric": matrix.metric, **changes}
    return type(matrix)(kw["values"], kw["configs"], kw["models"], kw["metric"])


# --------------------------------------------------------------------------- method choice

def _nearest_k(k: int) -> int:
    return min(AUTO_KS, key=lambda c: (abs(c - k), -c))


def choose_method(matrix: Any, n_known: int, runtime: str | None, precision: str | None,
                  tier: str | None, cache: Path | None = None, snapshot: str = "") -> str:
    """The method a small LODO on comparable configurations found best (see module docstring)."""
    from predictor.evaluation import evaluate
    from predictor.methods import METHODS

    k = _nearest_k(n_known)
    configs = matrix.configs
    same_tier = (configs["device_tier"].astype(str) == str(tier)) if tier else pd.Series(
        True, index=configs.index)
    same_setup = ((configs["runtime"].astype(str).str.lower() == str(runtime).lower())
                  & (configs["precision"].astype(str).str.lower() == str(precision).lower()))
    pool = configs.index
    for mask in (same_tier & same_setup, same_setup, same_tier):
        if mask.sum() >= 3:
            pool = configs.index[mask]
            break
    key = f"{snapshot}|{matrix.metric}|{tier}|{runtime}|{precision}|k{k}"
    try:
        store = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    except (OSError, ValueError):  # an unreadable cache is recomputed, not an error
        store = {}
    if key in store:
        return store[key]
    targets = list(pd.Series(pool).sample(min(AUTO_TARGETS, len(pool)), random_state=0))
    names = [m for m in AUTO_CANDIDATES if m in METHODS and
             int(getattr(METHODS[m], "min_known", 0) or 0) <= min(k, n_known)]
    result = evaluate(matrix, names, "lodo", ks=(k,), n_draws=2, targets=targets,
                      intervals=False)
    best = result.best_method(k) or ("krt" if n_known >= 1 else "lowrank")
    if cache is not None:
        store[key] = best
        try:
            cache.write_text(json.dumps(store, indent=1, sort_keys=True))
        except OSError:  # a read-only store still answers, it just does not cache
            pass
    return best


# --------------------------------------------------------------------------- prediction

def predict_from_known(matrix: Any, known: pd.DataFrame, method: str = "auto",
                       estimator: Any = None, device: str | None = None,
                       runtime: str | None = None, precision: str | None = None,
                       models: Sequence[str] | None = None, coverage: float = 0.9,
                       metric: str = "latency", cache: Path | None = None,
                       snapshot: str = "", predictors: Path | None = None) -> pd.DataFrame:
    """Predict the target configuration for every model with data on another configuration.

    ``known``: the output of :func:`read_known` (or a frame with ``model, latency_ms``).
    ``estimator``: a source-fitted estimator (``effbench train``); only ``fit`` on the known
    models is run then. ``predictors``: a folder where methods that pre-train on the sources are
    kept once pre-trained (and with their interval calibrations), keyed by the sources' content.
    Returns the output table described in the module docstring.
    """
    from models_registry import canonical_id
    from predictor.design import make_design, target_vector
    from predictor.methods import make_method

    if "canonical" not in known:
        known = read_known(known, metric)
    if device is not None and not (matrix.configs["device"].astype(str).str.lower()
                                   == str(device).lower()).any() and known.empty:
        raise QueryError(f"device {device!r} is not in the store and no known models were given: "
                         "nothing is known about the target")
    check_known_models(known, matrix)
    full, tid = with_target(matrix, known, device, runtime, precision,
                            drop_stored=estimator is None)
    if method == "auto" and estimator is None:
        tier = str(full.configs.loc[tid, "device_tier"])
        method = choose_method(submatrix_without(full, tid), len(known), runtime, precision,
                               None if tier == "unknown" else tier, cache, snapshot)
    est = copy.deepcopy(estimator) if estimator is not None else make_method(method)
    need = int(getattr(est, "min_known", 0) or 0)
    if len(known) < need:
        raise QueryError(f"method {method!r} needs at least {need} known models, "
                         f"got {len(known)}")
    X = make_design(full, tid)
    y = target_vector(full, tid).reindex(X.index)
    saved = None
    if estimator is None and hasattr(est, "fit_source"):
        saved = _pretrained_path(predictors, est, X, method)
        if saved is not None and (saved / "method.json").exists():
            est = _load_pretrained(saved) or est
        if not getattr(est, "source_fitted_", False):
            est.fit_source(X)
    y_known = y.dropna()
    if len(y_known) < need:
        raise QueryError(f"method {method!r} needs at least {need} known models with a "
                         f"measurement on another configuration, got {len(y_known)}")
    calibrated = len(getattr(est, "_interval_cache_", None) or {})
    est.fit(X, y_known)
    if saved is not None and len(getattr(est, "_interval_cache_", None) or {}) != calibrated:
        _save_pretrained(est, saved)  # new pre-training or a new k's calibration: keep it
    pred = np.asarray(est.predict(X), dtype=float)
    from predictor.evaluation.runner import _interval

    low, high = _interval(est, X, coverage, pred)
    out = pd.DataFrame({"canonical": X.index.astype(str), "pred": pred, "low": low,
                        "high": high}).set_index("canonical")
    # make_design keeps exactly the models with a measurement on some source configuration;
    # known models without one are echoed (they cannot be calibrated on).
    extra = known[~known["canonical"].isin(out.index)]
    if len(extra):
        out = pd.concat([out, pd.DataFrame({"pred": np.nan, "low": np.nan, "high": np.nan},
                                           index=pd.Index(extra["canonical"], name="canonical"))])
    k_vals = known.set_index("canonical")["value"]
    kk = out.index.isin(k_vals.index)
    for col in ("pred", "low", "high"):
        out.loc[kk, col] = k_vals.reindex(out.index[kk]).to_numpy()
    out["known"] = kk
    names = dict(zip(known["canonical"], known["model"]))
    if models:
        wanted = {}
        for name in models:
            cid = canonical_id(name)
            if cid not in out.index:
                raise QueryError(f"--models: {name!r} has no measurement on any other "
                                 f"configuration and is not in the known file; "
                                 f"{_close(cid, out.index)}")
            wanted[cid] = name
        out = out.loc[list(wanted)]
        names.update(wanted)
    sizes = _input_sizes(full, known)
    value = VALUE_COLUMN[metric]
    result = pd.DataFrame({
        "model": [names.get(c, c) for c in out.index],
        "input_size": [sizes.get(c) for c in out.index],
        f"{value}_pred": out["pred"].to_numpy(), f"{value}_low": out["low"].to_numpy(),
        f"{value}_high": out["high"].to_numpy(),
    })
    result["rank_pred"] = result[f"{value}_pred"].rank(method="min").astype("Int64")
    result["method"] = method
    result["known"] = out["known"].to_numpy()
    result["input_size"] = result["input_size"].astype("Int64")
    return result.sort_values(["rank_pred", "model"], kind="stable").reset_index(drop=True)


def _pretrained_path(folder: Path | None, est: Any, X: pd.DataFrame, name: str) -> Path | None:
    """Where a method pre-trained on exactly these sources is kept: the key is the method, its
    parameters and the content of the source block, so a changed store never reuses a stale one."""
    if folder is None:
        return None
    import hashlib

    key = hashlib.sha1(repr(est.source_fingerprint(X)).encode()).hexdigest()[:16]
    return Path(folder) / f"{name}-{key}"


def _load_pretrained(path: Path) -> Any:
    """The saved predictor, warm-started; None (pre-train again) if it cannot be read."""
    from predictor.methods import UnknownMethod, load_method

    try:
        est = load_method(path)
    except (UnknownMethod, OSError, ValueError, KeyError):
        return None
    if "warm_start" in est.get_params():
        est.set_params(warm_start=True)
    return est if getattr(est, "source_fitted_", False) else None


def _save_pretrained(est: Any, path: Path) -> None:
    """Write into a temporary folder and rename it into place: a reader never sees half a
    predictor, and a failed write (read-only store) only costs the next query a pre-training."""
    import shutil
    import tempfile

    from predictor.methods import save_method

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
        save_method(est, tmp)
        old = path.with_name(path.name + ".old")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass


def submatrix_without(matrix: Any, config: str) -> Any:
    from predictor.evaluation.runner import submatrix

    return submatrix(matrix, [c for c in matrix.configs.index if c != config])


def _input_sizes(matrix: Any, known: pd.DataFrame) -> dict[str, int | None]:
    sizes: dict[str, int | None] = {}
    if "input_size" in matrix.models:
        for m, s in matrix.models["input_size"].items():
            sizes[str(m)] = None if pd.isna(s) else int(s)
    for m, s in zip(known["canonical"], known["input_size"]):
        if s is not None and not pd.isna(s):
            sizes[m] = int(s)
    return sizes


def predict_store(store: Any, known_path: str | Path, device: str | None, runtime: str | None,
                  precision: str | None, method: str = "auto", models: Sequence[str] | None = None,
                  metric: str = "latency", coverage: float = 0.9,
                  model_uri: str | None = None, tracking_uri: str | None = None) -> pd.DataFrame:
    """``effbench predict``: read the known file, build (or load) the matrix, predict."""
    known = read_known(known_path, metric)
    if model_uri is not None:
        from predictor.tracking import load_trained_model

        trained = load_trained_model(model_uri, tracking_uri)
        return predict_from_known(trained.matrix, known, trained.method, trained.estimator,
                                  device, runtime, precision, models, coverage, metric)
    from predictor.matrix import matrix_from_store
    from predictor.tracking import store_snapshot

    matrix = matrix_from_store(store, metric=metric)
    snapshot = store_snapshot(store.read("measurements", columns=["record_id"]))
    cache = Path(store.root) / AUTO_CACHE if hasattr(store, "root") else None
    predictors = Path(store.root) / PREDICTOR_CACHE if hasattr(store, "root") else None
    return predict_from_known(matrix, known, method, None, device, runtime, precision, models,
                              coverage, metric, cache=cache, snapshot=snapshot,
                              predictors=predictors)


__all__ = ["AUTO_CACHE", "PREDICTOR_CACHE", "KnownFileError", "QueryError", "VALUE_COLUMN",
           "choose_method", "predict_from_known", "predict_store", "read_known", "target_id",
           "with_target"]
