"""Run transfer methods over protocol splits and score them on the models they were not told.

One path: every held-out prediction comes from ``predictor.service.answer`` — the function
``effbench predict`` calls — given the drawn known models as a known table, exactly as a user's
``known.csv``. What the runner adds is only what a user does not have: the truth to score on.

Why this shape: learned methods pre-train on the source configurations (``fit_source``), the
expensive step, and the source set is the same for every target of a held-out device. The runner
groups splits by their source set, pre-trains each method once per group (with intervals on, so a
learned method's conformal calibration includes its learned correction), and then only calls
``answer`` per (target, k, draw). Known models are drawn with a seed derived from (seed, target, k,
draw), so every method sees the same known set.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from predictor.evaluation.protocols import Split, canonical_protocol, forward_view, make_splits
from predictor.evaluation.result import EvaluationResult
from predictor.service.predict import answer, prepare_target
from predictor.service.target import Target
from predictor.metrics import POINT_METRICS, pareto_f1

DEFAULT_KS = (0, 1, 3, 5, 10)


def _method_factories(methods: Any) -> dict[str, Callable[[], Any]]:
    """Name -> zero-argument factory. Accepts "all", "a,b", names, estimators or a dict of them."""
    if isinstance(methods, Mapping):
        items = list(methods.items())
    else:
        if isinstance(methods, str):
            methods = _all_names() if methods == "all" else [
                m.strip() for m in methods.split(",") if m.strip()]
        items = [(m if isinstance(m, str) else getattr(m, "name", type(m).__name__.lower()), m)
                 for m in methods]
    factories = {}
    for name, spec in items:
        if isinstance(spec, str):
            from predictor.methods import make_method

            make_method(spec)  # fail early on an unknown name
            factories[name] = (lambda s=spec: make_method(s))
        elif isinstance(spec, type):
            factories[name] = spec
        else:
            from sklearn.base import clone

            factories[name] = (lambda e=spec: clone(e))
    if not factories:
        raise ValueError("no methods to evaluate")
    return factories


def _all_names() -> list[str]:
    from predictor.methods import method_names

    return method_names()


def _seed(seed: int, target: str, k: int, draw: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(target.encode()), k, draw])


def score(true: np.ndarray, pred: np.ndarray, low: np.ndarray, high: np.ndarray,
          top1: np.ndarray) -> dict[str, float]:
    """Every per-target metric on the scored (unknown) models."""
    row = {name: fn(true, pred) for name, fn in POINT_METRICS.items()}
    has_acc = np.isfinite(top1)
    if has_acc.sum() >= 2:
        agreement = pareto_f1(true[has_acc], pred[has_acc], top1[has_acc])
        row.update(pareto_precision=agreement.precision, pareto_recall=agreement.recall,
                   pareto_f1=agreement.f1)
    else:
        row.update(pareto_precision=np.nan, pareto_recall=np.nan, pareto_f1=np.nan)
    ok = np.isfinite(low) & np.isfinite(high)
    if ok.any():
        row["coverage"] = float(((true[ok] >= low[ok]) & (true[ok] <= high[ok])).mean())
        row["interval_width"] = float(np.median((high[ok] - low[ok]) / pred[ok]))
    else:
        row["coverage"] = row["interval_width"] = np.nan
    return row


def _target_of(configs: pd.DataFrame, config: str) -> Target:
    row = configs.loc[config]
    return Target(str(row["device"]), str(row["runtime"]), str(row["precision"]),
                  str(row.get("device_tier", "unknown")))


def _known_table(models: pd.DataFrame, rows: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """The drawn known models as a user's known table (``read_known``'s columns)."""
    info = models.reindex(rows)
    names = info["model"].astype(str).to_numpy() if "model" in info else rows
    size = pd.to_numeric(info["input_size"], errors="coerce") if "input_size" in info else np.nan
    known = pd.DataFrame({"model": names, "canonical": names,
                          "input_size": pd.array(size, dtype="Int64"), "value": values,
                          "row": np.arange(1, len(rows) + 1), "origin": "drawn known models"})
    return known


def _estimator(factory: Callable[[], Any], X: pd.DataFrame, intervals: bool) -> Any:
    """One method for one source set: intervals as asked, pre-trained once (``warm_start``)."""
    est = factory()
    params = est.get_params() if hasattr(est, "get_params") else {}
    if "intervals" in params:
        est.set_params(intervals=intervals)
    if hasattr(est, "fit_source"):
        if "warm_start" in params:
            est.set_params(warm_start=True)
        est.fit_source(X)
    return est


def _run_group(matrix: Any, splits: list[Split], factories: dict[str, Callable[[], Any]],
               ks: Sequence[int], n_draws: int, seed: int, coverage: float, intervals: bool,
               align: bool = False):
    """All splits sharing one source set: pre-train once per method, then answer per
    (target, k, draw) through the prediction service."""

    configs = matrix.configs
    family_all = matrix.models["family"] if "family" in matrix.models else None
    top1_all = matrix.models["top1"] if "top1" in matrix.models else None
    skipped: list[dict[str, Any]] = []
    estimators: dict[str, Any] = {}
    fitted_on: list[str] | None = None
    rows: list[dict[str, Any]] = []
    preds: list[tuple] = []
    for split in splits:
        sub = matrix.subset(configs=list(split.sources) + [split.target])
        if split.as_of is not None:  # forward: sources as of T, the target from T on
            sub = forward_view(sub, split)
        elif align:
            sub = sub.aligned_to(split.target)
        target = _target_of(configs, split.target)
        prepared = prepare_target(sub.without([split.target]), target)
        X = prepared.X
        y = sub.values[split.target].reindex(X.index).astype(float)
        if list(X.columns) != fitted_on:  # (re-)pre-train when the source columns change
            estimators, fitted_on = {}, list(X.columns)
            for name, factory in factories.items():
                try:
                    estimators[name] = _estimator(factory, X, intervals)
                except (ValueError, np.linalg.LinAlgError) as exc:
                    skipped.append(dict(method=name, k=-1, target=split.target,
                                        reason=f"fit_source: {_first_line(exc)}"))
        models = X.index.astype(str).to_numpy()
        info = prepared.models.reindex(X.index)
        names = (info["model"].astype(str).to_numpy() if "model" in info else models)
        sizes = (pd.to_numeric(info["input_size"], errors="coerce").to_numpy(float)
                 if "input_size" in info else np.full(len(X), np.nan))
        family = (family_all.reindex(X.index).astype("string").fillna("unknown").to_numpy()
                  if family_all is not None else np.full(len(X), "unknown", dtype=object))
        top1 = (pd.to_numeric(top1_all.reindex(X.index), errors="coerce").to_numpy(float)
                if top1_all is not None else np.full(len(X), np.nan))
        true = y.to_numpy(dtype=float)
        measured = np.isfinite(true)
        in_family = family == split.holdout_family if split.holdout_family else np.ones(len(X), bool)
        pool = np.flatnonzero(measured & ~in_family) if split.holdout_family else np.flatnonzero(measured)
        device = target.device
        tier = target.tier
        for k in ks:
            for draw in range(1 if k == 0 else n_draws):
                if len(pool) < k:
                    skipped.append(dict(method="*", k=k, target=split.target,
                                        reason=f"only {len(pool)} measured models to draw from"))
                    continue
                known_idx = np.sort(_seed(seed, split.target, k, draw).choice(pool, size=k,
                                                                              replace=False))
                known = np.zeros(len(X), bool)
                known[known_idx] = True
                scored = measured & ~known & in_family
                if scored.sum() < 2:
                    skipped.append(dict(method="*", k=k, target=split.target,
                                        reason="fewer than 2 models to score"))
                    continue
                table = _known_table(prepared.models, models[known_idx], true[known_idx])
                for name, est in estimators.items():
                    need = est.required_known() if hasattr(est, "required_known") else 0
                    if need > k:
                        skipped.append(dict(method=name, k=k, target=split.target,
                                            reason=f"needs {need} known models"))
                        continue
                    try:
                        out = answer(prepared, table, est, name, coverage, check=False).frame
                    except (ValueError, np.linalg.LinAlgError) as exc:  # incl. NotEnoughKnownModels
                        skipped.append(dict(method=name, k=k, target=split.target,
                                            reason=_first_line(exc)))
                        continue
                    out = out.reindex(X.index)
                    pred, low, high = (out[c].to_numpy(dtype=float) for c in ("pred", "low", "high"))
                    s = scored
                    rows.append(dict(protocol=split.label, method=name, k=k, draw=draw,
                                     target=split.target, target_device=device, target_tier=tier,
                                     holdout_family=split.holdout_family or "",
                                     n_known=k, n_scored=int(s.sum()),
                                     **score(true[s], pred[s], low[s], high[s], top1[s])))
                    keep = measured if not split.holdout_family else measured & (known | in_family)
                    meta = (split.label, name, k, draw, split.target, device, tier)
                    preds.append((meta, int(keep.sum()), names[keep], sizes[keep], family[keep],
                                  known[keep], true[keep], pred[keep], low[keep], high[keep]))
    return rows, _prediction_frame(preds), skipped


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


_META = ("protocol", "method", "k", "draw", "target", "target_device", "target_tier")
#: a prediction is of a (model, input size) pair: both are columns (the matrix row label is not)
_ARRAYS = ("model", "input_size", "family", "known", "true_ms", "pred_ms", "low_ms", "high_ms")


def _prediction_frame(chunks: list[tuple]) -> pd.DataFrame:
    """One tidy frame from per-fit arrays (built once: a frame per fit costs more than the fit)."""
    if not chunks:
        return pd.DataFrame(columns=list(_META + _ARRAYS))
    sizes = np.array([c[1] for c in chunks])
    data: dict[str, Any] = {}
    for j, column in enumerate(_META):
        data[column] = np.repeat(np.array([c[0][j] for c in chunks], dtype=object), sizes)
    for j, column in enumerate(_ARRAYS):
        data[column] = np.concatenate([np.asarray(c[2 + j]) for c in chunks])
    frame = pd.DataFrame(data)
    frame["k"] = frame["k"].astype(int)
    frame["draw"] = frame["draw"].astype(int)
    frame["known"] = frame["known"].astype(bool)
    return frame


def evaluate(matrix: Any, methods: Any = "all", protocol: str = "lodo",
             ks: Sequence[int] = DEFAULT_KS, n_draws: int = 3, seed: int = 0,
             targets: Sequence[str] | None = None, coverage: float = 0.9, n_jobs: int = 1,
             intervals: bool = True, align: bool | None = None, references: bool = True,
             **protocol_kw: Any) -> EvaluationResult:
    """Cross-device validation of ``methods`` on ``matrix`` under ``protocol``.

    Metrics are computed on the models that were *not* given as known (and, for
    ``leave_family_out``, only on the held-out family). Methods whose ``min_known`` exceeds a k are
    skipped for that k and listed in ``result.skipped``. ``n_jobs`` > 1 runs held-out devices in
    parallel processes (joblib). ``intervals=False`` skips interval calibration (coverage and
    width are then NaN), which is most of the cost of the learned methods.

    ``align`` reads the sources of each target as of the dates its values were measured
    (:meth:`LatencyMatrix.aligned_to`), the situation of a user who measures a new device against
    today's sources. Default: on, except for ``forward``, whose sources are read as of its
    cutoff.

    ``references`` adds, per target, the in-sample single-source oracle and the test–retest rate
    of its own re-profiles (``predictor.evaluation.references``): references, not bounds.
    """
    protocol = canonical_protocol(protocol)
    if align is None:
        align = protocol != "forward"
    ks = tuple(sorted(set(int(k) for k in ks)))
    if any(k < 0 for k in ks):
        raise ValueError(f"k must be >= 0, got {ks}")
    factories = _method_factories(methods)
    splits = make_splits(matrix.configs, protocol, targets=targets, models=matrix.models,
                         values=matrix.values, history=getattr(matrix, "history", None),
                         **protocol_kw)
    groups: dict[tuple[str, ...], list[Split]] = defaultdict(list)
    for split in splits:
        groups[split.sources].append(split)
    jobs = list(groups.values())
    if n_jobs == 1 or len(jobs) == 1:
        outs = [_run_group(matrix, g, factories, ks, n_draws, seed, coverage, intervals, align)
                for g in jobs]
    else:
        from joblib import Parallel, delayed

        outs = Parallel(n_jobs=n_jobs)(delayed(_run_group)(matrix, g, factories, ks, n_draws,
                                                           seed, coverage, intervals, align)
                                       for g in jobs)
    rows = [r for out in outs for r in out[0]]
    preds = [out[1] for out in outs if len(out[1])]
    skipped = [s for out in outs for s in out[2]]
    predictions = (pd.concat(preds, ignore_index=True) if preds else _prediction_frame([]))
    refs = None
    if references:  # beside every score: what the data say of each target (references.py)
        from predictor.evaluation.references import split_references

        refs = split_references(matrix, splits, align=bool(align))
    for column in ("protocol", "method", "target", "target_device", "target_tier", "family"):
        predictions[column] = predictions[column].astype("category")
    return EvaluationResult(
        predictions=predictions, per_target=pd.DataFrame(rows),
        skipped=pd.DataFrame(skipped, columns=["method", "k", "target", "reason"]),
        protocol=protocol, methods=list(factories), ks=ks, n_draws=n_draws, seed=seed,
        coverage=coverage, protocol_kw={**{k: str(v) for k, v in protocol_kw.items()},
                                        "align": str(bool(align))},
        matrix_info=_matrix_info(matrix),
        references=refs if refs is not None else pd.DataFrame())


def _matrix_info(matrix: Any) -> dict[str, Any]:
    values = matrix.values
    digest = pd.util.hash_pandas_object(values.fillna(-1.0), index=True).sum()
    sources = (sorted(matrix.configs["source"].dropna().astype(str).unique())
               if "source" in matrix.configs else [])
    return {"metric": getattr(matrix, "metric", ""), "n_models": int(values.shape[0]),
            "n_configs": int(values.shape[1]),
            "n_devices": int(matrix.configs["device"].nunique()),
            "sources": ",".join(sources),
            "matrix_hash": f"{int(digest) & 0xFFFFFFFFFFFF:012x}"}


__all__ = ["DEFAULT_KS", "evaluate", "score"]
