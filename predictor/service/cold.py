"""Cold start: requested models that no stored configuration measured, predicted from their
operator features (``predictor.coldstart``), beside the transfer predictions.

Why in the store glue and not in ``answer``: a cold-start row needs the model traced (its
features cached in the store's ``features`` table) and a feature model fitted on the stored
models' features — both store-side work. ``answer`` gives such a row an empty prediction and a
reason; this module fills it where it can (``basis = features``) and otherwise says why not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictor.service.predict import Prediction

#: sub-folder of the store's cache folder holding the fitted cold-start predictor
COLD_CACHE = "coldstart"
#: fewer stored models with features than this: no feature model is fitted
MIN_TRAINING_MODELS = 30
#: a store whose models have features for a smaller share than this gets the rest traced by
#: the first cold-start request (an import never traced, a main job stopped while tracing)
STORED_COVERAGE = 0.9
#: part of the saved predictor's key: bumped when what the cold-start predictor learns from
#: changes (2: autocast bytes, fp32 anchors without them), so a store's saved predictor is
#: refitted by a newer effbench rather than reused
PREDICTOR_VERSION = 2


def _missing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.index.astype(str).str.startswith("?")]


def _fitted(store: Any, matrix: Any, features: pd.DataFrame, folder: Path | None) -> Any:
    """The feature model for this store's content: loaded when one was fitted on exactly these
    measurements and features, else fitted and saved: seconds on a small store, 34 s on 2 cores
    for the public data's five newest timm configurations as anchors (six fits: one per
    held-out family for the intervals, then the final one), longer with more anchors."""
    from collectors.store import store_snapshot
    from predictor.coldstart import ColdStartPredictor

    key = hashlib.sha1(f"{store_snapshot(store)}|{len(features)}|{matrix.metric}|v{PREDICTOR_VERSION}".encode()
                       ).hexdigest()[:16]
    path = folder / COLD_CACHE / key if folder is not None else None
    if path is not None and path.exists():
        try:
            return ColdStartPredictor.load(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged save costs a refit, never a wrong answer
    est = ColdStartPredictor().fit(matrix, features)  # a small store: its largest config anchors
    if path is not None:
        try:
            est.save(path)
        except OSError:
            pass
    return est


def _feature_key(name: str, keys: pd.Index) -> str | None:
    """The features-table key of a requested name: itself, or for an ONNX file the
    ``<stem>.onnx-<hash>`` key its trace is stored under."""
    if name in keys:
        return name
    if name.endswith(".onnx"):
        stem = Path(name).name + "-"
        hits = [k for k in keys if str(k).startswith(stem)]
        return hits[0] if hits else None
    return None


def _stored_with_features(store: Any, matrix: Any) -> tuple[pd.DataFrame, int, int]:
    """(the features table, how many of the matrix's models it covers, how many there are)."""
    features = store.read("features") if "features" in store.tables() else pd.DataFrame()
    have = set(features["model"].astype(str)) if len(features) else set()
    stored = set(matrix.models["model"].astype(str)) if "model" in matrix.models else set(map(str, matrix.models.index))
    return features, len(have & stored), len(stored)


def fill_cold_start(result: Prediction, store: Any, matrix: Any, folder: Path | None,
                    trace_store: bool = True, jobs: int = 2) -> Prediction:
    """``result`` with its unanswered requested rows predicted from operator features where the
    store has what that needs; each row that stays empty keeps a reason.

    A store whose models were not all traced (fewer than ``STORED_COVERAGE`` of them with
    features: right after ``effbench data import``, or a main job stopped while tracing) has
    the rest traced first when ``trace_store``: every stored model at its measured sizes, once
    (about 5 min on two cores for the public data, ``jobs`` worker processes; cached in the
    store's features table, models that cannot be traced recorded and not retried). Why not
    refuse and ask for ``effbench features``: a request that can be answered is answered, and
    the second query costs seconds; and a predictor fitted on a few traced models would be
    fitted, saved and reused on far less than the store knows."""
    frame = result.frame.copy()
    missing = _missing(frame)
    if missing.empty:
        return result
    from collectors.features import trace_models, trace_stored

    notes = []
    names = missing["model"].astype(str).tolist()
    sizes = {m: int(s) for m, s in zip(missing["model"], missing["input_size"]) if pd.notna(s)}
    traced, failures = trace_models(names, input_size=sizes or None, store=store, progress=False)
    why = {str(r.model): f"{r.model}: could not be traced ({r.reason})"
           for r in failures.itertuples()} if len(failures) else {}
    features, n_train, n_stored = _stored_with_features(store, matrix)
    if len(traced) and n_train < STORED_COVERAGE * n_stored and trace_store:
        import sys

        print(f"cold start: tracing the operator features of the stored models once ({n_train} of "
              f"{n_stored} have them; cached in the store)", file=sys.stderr)
        stored_rows, _ = trace_stored(store, jobs=jobs, progress=sys.stderr.isatty())
        fresh = int((~stored_rows["cached"].astype(bool)).sum()) if len(stored_rows) else 0
        if fresh:
            notes.append(f"traced the operator features of {fresh} stored models for the cold-start "
                         "predictor (once; cached in the store)")
        features, n_train, n_stored = _stored_with_features(store, matrix)
    have = set(features["model"].astype(str)) if len(features) else set()
    given = result.known if result.known is not None else pd.Series(dtype=float)
    names_of = (matrix.models["model"].astype(str) if "model" in matrix.models
                else pd.Series(matrix.models.index, index=matrix.models.index))
    known = pd.DataFrame({"model": names_of.reindex(given.index).to_numpy(), "pred": given.to_numpy()},
                         index=given.index).dropna()
    known = known[known["model"].astype(str).isin(have)]
    if len(traced) and n_train >= MIN_TRAINING_MODELS and len(known):
        est = _fitted(store, matrix, features, folder)
        rows = pd.concat([traced, features[features["model"].astype(str).isin(known["model"])]])
        pred = est.predict(rows, known["pred"].rename(index=dict(zip(known.index, known["model"]))))
        by_model = pred.drop_duplicates("model").set_index("model")
        for label, rec in missing.iterrows():
            name = _feature_key(str(rec["model"]), by_model.index)
            if name is not None:
                p = by_model.loc[name]
                frame.loc[label, ["pred", "low", "high"]] = [p["pred_ms"], p["low_ms"], p["high_ms"]]
                frame.loc[label, "input_size"] = p["input_size"]
                frame.loc[label, "basis"] = "features"
                frame.loc[label, "reason"] = ""
        notes.append(f"{int((frame.get('basis') == 'features').sum())} model(s) measured nowhere "
                     "predicted from their operator features (basis = features)")
    elif len(traced):
        reason = (f"measured nowhere; cold-start prediction needs the operator features of at "
                  f"least {MIN_TRAINING_MODELS} stored models and of a known model (the store "
                  f"has {n_train}): run `effbench features --models stored` once")
        for label, rec in missing.iterrows():
            if str(rec["model"]) not in why:
                frame.loc[label, "reason"] = f"{rec['model']}: {reason}"
    for label, rec in missing.iterrows():
        if str(rec["model"]) in why:
            frame.loc[label, "reason"] = why[str(rec["model"])]
    still = frame.loc[missing.index]
    still = still[~np.isfinite(still["pred"].astype(float))]
    warnings = [w for w in result.warnings if "requested model(s) could not be predicted" not in w]
    if len(still):
        warnings.append(f"{len(still)} requested model(s) could not be predicted: "
                        + "; ".join(still["reason"].astype(str)))
    return Prediction(frame, result.method, result.target, result.metric, warnings + notes,
                      known=result.known)


__all__ = ["COLD_CACHE", "MIN_TRAINING_MODELS", "STORED_COVERAGE", "fill_cold_start"]
