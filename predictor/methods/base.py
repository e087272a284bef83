"""What every transfer method shares: the estimator contract, conformal intervals, persistence.

A transfer method predicts a target configuration's latency for every model from (a) the
model's latencies on *source* configurations (``src:*`` columns of X) and features, and (b) the
measured target latency of k *known* models (``y``). All arithmetic is in log space: devices
differ by factors, not offsets.

Intervals are split-conformal across configurations: the method is re-run on source
configurations used as pseudo-targets, and the absolute log residuals of the *unknown* models
give the quantile that ``predict_interval`` widens the point prediction by. Exchangeability is
assumed between the target and the pseudo-targets, so each pseudo-target is made as new to its
sources as the target is to its own (``pseudo_sources``): its whole device *and its silicon
twins* are removed (a twin is a source that ran every shared model within a few per cent of it —
the data's own test, since a design matrix carries no chipset), and when no source runs the
target's runtime|precision, the sources of the pseudo-target's runtime|precision go too.
Pseudo-targets of the target's own runtime|precision come first (quantised configurations are
noisier than float ones), the others only where those cannot be fitted. Methods with
``scaled_intervals`` (KRT) normalise each score by how well they fit that (pseudo-)target's own
known models (``interval_scale``), so a target whose chosen source fits its known models badly
gets a wider interval. Why: calibrated with twins present and one quantile for every target, the
90 % intervals covered 0.43–0.65 of new devices' models on the forward benchmark (now 0.78–0.84
at k = 5, chipset-grouped lodo unchanged at 0.89–0.90).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from predictor.design import config_of, device_of, source_columns

COVERAGES = (0.5, 0.8, 0.9, 0.95)
#: bumped when the interval calibration changes what it computes (2: the in-sample scale gives
#: back its degrees of freedom), so predictors saved by an older effbench recalibrate instead
#: of mixing an old calibration with a new scale
CALIBRATION_VERSION = 2


class NotEnoughKnownModels(ValueError):
    """Fewer known target models than the method needs."""


class TransferInputError(ValueError):
    """X / y do not fit together (y's models missing from X, no source columns, bad values)."""


def setup_of(config: str) -> str:
    """``runtime|precision`` of a config id (its second and third fields): the software stack a
    new device is known to run, which is what it shares with a source. Layout, runtime version
    and batch size are left out: a user names a runtime and a precision, and a source of the
    same stack in another layout is still the closest evidence there is."""
    parts = str(config).split("|")
    return "|".join(parts[1:3])


@dataclass(eq=False)
class _SourceBlock:
    """What one design matrix's source columns give every fit: their positions, their values in
    log ms, (on first request) a hash of their values, and the designs of its pseudo-targets."""

    frame: pd.DataFrame
    position: dict[str, int]
    block: np.ndarray
    content: int | None = None
    #: (pseudo-target column, drop_setup) -> (its design, its log values on those rows) or None
    pseudo: dict = field(default_factory=dict)

    def content_hash(self) -> int:
        if self.content is None:
            cols = list(self.position)
            self.content = int(pd.util.hash_pandas_object(self.frame[cols], index=True)
                               .to_numpy().sum())
        return self.content

    def pseudo_design(self, pseudo: str, drop_setup: bool) -> tuple[pd.DataFrame, np.ndarray] | None:
        """The design a pseudo-target is calibrated on (the rows some kept source measured, the
        non-source columns and the kept sources) and its log ms on those rows; None when no
        source is kept. Built once per design matrix: every method calibrated on the same X (an
        evaluation fits each method it compares on it) and every draw reuses it, and its own
        source block is taken from this one's instead of being read and logged again."""
        key = (pseudo, bool(drop_setup))
        if key not in self.pseudo:
            X, cols, L = self.frame, list(self.position), self.block
            keep = pseudo_sources(X, cols, pseudo, drop_setup=drop_setup, L=L)
            if not keep:
                self.pseudo[key] = None
                return None
            kept = [self.position[c] for c in keep]
            rows = np.flatnonzero(~np.isnan(L[:, kept]).all(axis=1))
            others = [i for i, c in enumerate(X.columns) if c not in self.position]
            Xp = X.iloc[rows, others + list(X.columns.get_indexer(keep))]
            _remember_block(Xp, keep, L[np.ix_(rows, kept)])
            self.pseudo[key] = (Xp, L[rows, self.position[pseudo]])
        return self.pseudo[key]


#: the source blocks of the design matrices seen last, identity-checked: one fit reads the same
#: X's sources three or four times (fit, in-sample residuals, prediction, each pseudo-target of
#: its calibration) and asks for its fingerprint, and the pandas reindex and hash behind each
#: read cost more than the arithmetic. Design matrices are never modified in place
#: (``make_design`` builds one per call); the frames are held, so their ids cannot be reused.
_SOURCE_BLOCKS: list[_SourceBlock] = []
_SOURCE_BLOCKS_KEPT = 64  # a design and its pseudo-targets' (about ten each)


def _source_block_of(X: pd.DataFrame) -> _SourceBlock:
    for entry in _SOURCE_BLOCKS:
        if entry.frame is X:
            return entry
    cols = source_columns(X)
    values = (X[cols].to_numpy(dtype=float, na_value=np.nan) if cols
              else np.empty((len(X), 0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        block = np.log(values)
    block[~np.isfinite(block)] = np.nan
    return _remember_block(X, cols, block)


def _remember_block(X: pd.DataFrame, cols: list[str], block: np.ndarray) -> _SourceBlock:
    """Keep ``block`` (the ``cols`` of X in log ms, NaN where not measured) as X's source block."""
    entry = _SourceBlock(X, {c: i for i, c in enumerate(cols)}, block)
    _SOURCE_BLOCKS.insert(0, entry)
    del _SOURCE_BLOCKS[_SOURCE_BLOCKS_KEPT:]
    return entry


def log_sources(X: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
    """The ``src:*`` block of X (or its ``columns``, in that order) as a new float array of log
    ms (NaN where not measured, and for a column X does not have)."""
    entry = _source_block_of(X)
    position, block = entry.position, entry.block
    if columns is None:
        return block.copy()
    idx = np.fromiter((position.get(c, -1) for c in columns), dtype=int, count=len(columns))
    out = block[:, np.maximum(idx, 0)] if len(idx) else np.empty((len(X), 0))
    out[:, idx < 0] = np.nan
    return out


def store_params(est, params: dict[str, Any]) -> None:
    """``__init__`` body of every method: keep each keyword argument under its own name and do
    nothing else (the scikit-learn contract that makes clone/get_params/Optuna work)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def source_block(X: pd.DataFrame, y_log: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(source columns, their log values, row positions of the known models) for a fit."""
    cols = source_columns(X)
    return cols, log_sources(X, cols), X.index.get_indexer(y_log.index)


def nanmedian(A: np.ndarray, axis: int = 0) -> np.ndarray:
    """NaN-skipping median along an axis (NaN where all are NaN); numpy's own goes through
    masked arrays and costs milliseconds on the small matrices every fit touches."""
    A = np.moveaxis(np.asarray(A, dtype=float), axis, -1)
    S = np.sort(A, axis=-1)  # NaNs sort last
    n = np.sum(~np.isnan(A), axis=-1)
    lo = np.take_along_axis(S, np.clip((n - 1) // 2, 0, None)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(S, np.clip(n // 2, 0, None)[..., None], axis=-1)[..., 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def conformal_quantile(residuals: np.ndarray, coverage: float) -> float:
    """The split-conformal quantile: the ceil((n+1)c)-th smallest |residual|."""
    r = np.sort(np.asarray(residuals, dtype=float))
    r = r[np.isfinite(r)]
    if not len(r):
        return float("nan")
    rank = int(np.ceil((len(r) + 1) * coverage))
    return float(r[min(rank, len(r)) - 1])


#: a source whose log ratio to a pseudo-target varies less than this over their shared models
#: (and on five or more of them) is the pseudo-target's silicon twin: AI Hub's proxy boards of
#: one SoC differ by a log-ratio sd of 0.005–0.009, distinct chips by 0.05 and more
TWIN_SD = 0.02


def pseudo_sources(X: pd.DataFrame, cols: list[str], pseudo: str, drop_setup: bool = False,
                   L: np.ndarray | None = None) -> list[str]:
    """The sources a pseudo-target is calibrated from: every source column but its own device's,
    its silicon twins' (found in the data, ``TWIN_SD``) and — with ``drop_setup``, for a target
    whose runtime|precision no source runs — those of its own runtime|precision. ``L``: the
    ``cols`` block of X in log ms, when the caller has it already."""
    device = device_of(config_of(pseudo))
    if L is None:
        L = log_sources(X, cols)
    y = L[:, cols.index(pseudo)]
    R = L - y[:, None]
    n = np.sum(~np.isnan(R), axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(R, axis=0)
    twin_devices = {device_of(config_of(c)) for c, m, s in zip(cols, n, sd)
                    if m >= 5 and s < TWIN_SD}
    setup = setup_of(config_of(pseudo))
    for gone in ({device} | twin_devices, {device}):  # a store of nothing but twins: device only
        keep = [c for c in cols if device_of(config_of(c)) not in gone
                and not (drop_setup and setup_of(config_of(c)) == setup)]
        if keep:
            return keep
    return keep


class TransferMethod(BaseEstimator):
    """Base of every transfer method (see module docstring).

    Subclasses implement ``_fit(X, y_log)`` (learn from the k known models; ``y_log`` is a
    Series of log ms; the target configuration is ``self.target_``) and ``_predict_log(X)`` (log
    ms for every row), and may override ``_fit_source(X)`` (pre-training on the source
    configurations alone) and ``required_known``.

    The target configuration id is an explicit ``fit`` argument: it is how a method knows the
    target's runtime and precision, and a name carried on ``y`` would vanish in a Pipeline or
    ``cross_val_score``.
    """

    # ------------------------------------------------------------------ contract
    def required_known(self) -> int:
        """The fewest known target models this configuration of the method can fit on."""
        return 1

    def _check_xy(self, X: pd.DataFrame, y: pd.Series | None = None) -> tuple[pd.DataFrame, pd.Series]:
        if not isinstance(X, pd.DataFrame):
            raise TransferInputError(f"X must be a pandas DataFrame from make_design, got {type(X).__name__}")
        if not source_columns(X):
            raise TransferInputError("X has no 'src:<config>' columns (build it with make_design)")
        if y is None:
            return X, pd.Series(dtype=float)
        y = pd.Series(y, dtype=float) if not isinstance(y, pd.Series) else y.astype(float)
        y = y.dropna()
        missing = y.index.difference(X.index)
        if len(missing):
            raise TransferInputError(f"y has models not in X: {list(missing[:3])}")
        if (y <= 0).any():
            raise TransferInputError(f"y must be > 0 ms, got {y[y <= 0].iloc[0]!r} for {y[y <= 0].index[0]!r}")
        need = self.required_known()
        if len(y) < need:
            raise NotEnoughKnownModels(
                f"{type(self).__name__} needs at least {need} known target model(s), got {len(y)}")
        return X, y

    def fit_source(self, X: pd.DataFrame) -> TransferMethod:
        """Pre-train on the source configurations alone (no target needed). Resets the interval
        cache, since it belongs to one set of sources."""
        X, _ = self._check_xy(X)
        self.source_model_ = None
        self._fit_source(X)
        self.source_fitted_ = True
        self.source_columns_fit_ = source_columns(X)
        return self

    def _fit_source(self, X: pd.DataFrame) -> None:
        """Default: nothing to pre-train."""

    def _has_source(self, X: pd.DataFrame) -> bool:
        if getattr(self, "_frozen_source", False):
            return True
        return (getattr(self, "warm_start", False) and getattr(self, "source_fitted_", False)
                and getattr(self, "source_columns_fit_", None) == source_columns(X))

    def fit(self, X: pd.DataFrame, y: pd.Series, target: str | None = None) -> TransferMethod:
        """Learn the target from its known models ``y`` (ms, indexed like X's rows).

        ``target``: the target's configuration id (``device|runtime|precision|…``, see
        ``predictor.matrix.config_id``); None when nothing is known of it but the values.
        """
        X, y = self._check_xy(X, y)
        if not self._has_source(X):
            self.fit_source(X)
        self.target_ = None if target is None else str(target)
        self.n_known_ = int(len(y))
        self._fit(X, np.log(y))
        self.n_features_in_ = X.shape[1]
        self.known_rms_ = self._known_rms(X, np.log(y))
        if getattr(self, "intervals", True):
            self._calibrate_intervals(X, len(y))
        return self

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        raise NotImplementedError

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_known_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call fit(X, y) first.")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted ms for every row of X."""
        self._check_fitted()
        X, _ = self._check_xy(X)
        return np.exp(self._predict_log(X))

    # ------------------------------------------------------------------ intervals
    #: scale intervals by how well the method fits the target's own known models (normalised
    #: conformal scores |residual| / scale, the same function on pseudo-targets and target, so
    #: the exchangeability argument is unchanged); for methods whose in-sample fit on the known
    #: models is informative (KRT), not for learned ones that can fit five points exactly
    scaled_intervals: bool = False

    def _n_fitted(self) -> int:
        """How many numbers the fit learned from the known models (for ``_known_rms``)."""
        return 1

    def _known_rms(self, X: pd.DataFrame, y_log: pd.Series) -> float | None:
        """Root-mean-square in-sample log residual of the known models, with the degrees of
        freedom the fit used given back (× sqrt(n / (n − p)), p = ``_n_fitted``: five models fit
        by a ratio and an exponent leave three residual degrees of freedom, and their raw RMS
        understates the error by a quarter); None for methods without ``scaled_intervals``.
        Measured (k = 5, 90 % nominal): forward coverage of ``krt_power`` 0.768 → 0.784, chipset
        lodo unchanged."""
        if not self.scaled_intervals:
            return None
        # predicted on all of X (its source block is read already) and taken by position
        r = y_log.to_numpy(dtype=float) - self._predict_log(X)[X.index.get_indexer(y_log.index)]
        r = r[np.isfinite(r)]
        if not len(r):
            return 0.0
        dof = max(len(r) - self._n_fitted(), 1)
        return float(np.sqrt(np.sum(r ** 2) / dof))

    def interval_scale(self) -> float:
        """The factor the normalised conformal quantile is multiplied by for this fit:
        sqrt(rms² + floor²), the floor being the pseudo-targets' median |log residual| (so a
        fit of five points that looks perfect still gets the typical error, and a source that
        fits the known models badly widens the interval in proportion); 1.0 unscaled."""
        rms, floor = getattr(self, "known_rms_", None), getattr(self, "interval_floor_", None)
        if rms is None or floor is None or not np.isfinite(floor):
            return 1.0
        return float(np.sqrt(rms ** 2 + floor ** 2))

    def _pseudo_estimator(self, pseudo_target: str) -> TransferMethod:
        """The estimator re-run on one pseudo-target; learned methods reuse a source model that
        never saw the pseudo-target's device."""
        est = clone(self)
        est.set_params(intervals=False, warm_start=False) if "warm_start" in self.get_params() \
            else est.set_params(intervals=False)
        return est

    def source_fingerprint(self, X: pd.DataFrame) -> tuple:
        """What pre-training and interval calibration depend on: the method, its parameters
        (``intervals`` and ``warm_start`` change neither) and the source columns with their
        values — not the target. One key for the in-memory calibration cache and the saved
        predictors of ``predictor.query``."""
        params = {p: v for p, v in self.get_params().items() if p not in ("intervals", "warm_start")}
        entry = _source_block_of(X)  # hashed once per design matrix, not once per fit
        return (type(self).__name__, CALIBRATION_VERSION, tuple(entry.position),
                entry.content_hash(), repr(sorted(params.items())))

    def _calibrate_intervals(self, X: pd.DataFrame, k: int) -> None:
        cols = source_columns(X)
        # the residuals depend on the sources, the parameters and the target's runtime|precision
        # (which pseudo-targets, which sources they lose), not on the target's values: one
        # calibration serves every draw and every same-stack target of a held-out device
        target = getattr(self, "target_", None)
        key = (k, setup_of(target) if target else "", *self.source_fingerprint(X))
        cache = getattr(self, "interval_cache_", None)
        if cache is None:
            cache = self.interval_cache_ = {}
        if key not in cache:
            cache[key] = self._pseudo_residuals(X, cols, k)
        scores = cache[key]
        if isinstance(scores, dict):  # scaled: normalised scores and the floor they used
            self.interval_residuals_ = np.asarray(scores["scores"], dtype=float)
            self.interval_floor_ = float(scores["floor"])
        else:
            self.interval_residuals_ = np.asarray(scores, dtype=float)
            self.interval_floor_ = None
        scale = self.interval_scale()
        self.interval_q_ = {c: conformal_quantile(self.interval_residuals_, c) * scale
                            for c in COVERAGES}

    def _pseudo_residuals(self, X: pd.DataFrame, cols: list[str], k: int) -> np.ndarray | dict:
        """Sorted |log residual| of the pseudo-targets' unknown models; for ``scaled_intervals``
        a dict of the normalised scores and the floor (see ``interval_scale``)."""
        rng = np.random.default_rng(getattr(self, "random_state", None) or 0)
        need = max(k, self.required_known())
        observed = X[cols].notna().sum()
        candidates = [c for c in cols if observed[c] >= need + 3]
        target = getattr(self, "target_", None)
        own = [c for c in candidates if target and setup_of(config_of(c)) == setup_of(target)]
        other = [c for c in candidates if c not in own]
        # the target's own stack first; the rest where those cannot be fitted (e.g. plain KRT on
        # a stack that only the held-out pseudo-target's device runs)
        ordered = [own[i] for i in rng.permutation(len(own))] + \
            [other[i] for i in rng.permutation(len(other))]
        # no source runs the target's stack: its pseudo-targets lose the sources of theirs
        drop_setup = bool(target) and not any(setup_of(config_of(c)) == setup_of(target)
                                              for c in cols)
        wanted = getattr(self, "n_calibration", 10)
        entry = _source_block_of(X)
        residuals, rms = [], []
        for pseudo in ordered[: 3 * wanted]:
            if len(residuals) >= wanted:
                break
            design = entry.pseudo_design(pseudo, drop_setup)
            if design is None:
                continue
            Xp, y_log_all = design
            measured = ~np.isnan(y_log_all)
            y_all = pd.Series(np.exp(y_log_all[measured]), index=Xp.index[measured])
            if len(y_all) < need + 1:
                continue
            known = rng.choice(len(y_all), size=k, replace=False) if k else np.array([], dtype=int)
            mask = np.zeros(len(y_all), dtype=bool)
            mask[known] = True
            est = self._pseudo_estimator(pseudo)
            try:
                est.fit(Xp, y_all[mask], target=config_of(pseudo))
            except (NotEnoughKnownModels, TransferInputError):
                continue  # this draw cannot be scored (e.g. its known models lack FLOPs)
            unknown = np.flatnonzero(measured)[~mask]  # row positions in Xp
            pred = est._predict_log(Xp)[unknown]  # all rows: Xp's source block is read already
            residuals.append(np.abs(pred - y_log_all[unknown]))
            rms.append(est.known_rms_)
        raw = np.concatenate(residuals) if residuals else np.array([])
        if not self.scaled_intervals:
            return np.sort(raw[np.isfinite(raw)])
        floor = float(np.median(raw[np.isfinite(raw)])) if np.isfinite(raw).any() else float("nan")
        scores = [r / np.sqrt(m ** 2 + floor ** 2) for r, m in zip(residuals, rms)]
        out = np.concatenate(scores) if scores else np.array([])
        return {"scores": np.sort(out[np.isfinite(out)]), "floor": floor}

    def predict_interval(self, X: pd.DataFrame, coverage: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Conformal (low, high) ms bounds with the given marginal coverage."""
        self._check_fitted()
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
        if not hasattr(self, "interval_residuals_"):
            raise NotFittedError(f"{type(self).__name__} was fitted with intervals=False")
        q = conformal_quantile(self.interval_residuals_, coverage) * self.interval_scale()
        center = self._predict_log(self._check_xy(X)[0])
        return np.exp(center - q), np.exp(center + q)

    # ------------------------------------------------------------------ persistence hooks
    def save_extra(self, directory: Path) -> None:
        """Write learned objects that are not plain arrays (an xgboost booster, ...)."""

    def load_extra(self, directory: Path) -> None:
        """Read what ``save_extra`` wrote."""

    def state(self) -> dict[str, Any]:
        """Learned attributes stored as JSON (everything ending in '_' that JSON can hold),
        including the interval calibrations already computed, so that a loaded predictor answers
        a query at a k it has seen without re-running its pseudo-targets."""
        skip = {"source_model_", "fold_models_"}  # written by _save_extra
        return {k: v for k, v in vars(self).items()
                if k.endswith("_") and not k.startswith("__") and k not in skip}


# ---------------------------------------------------------------------- JSON codec
def encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": encode(value.tolist()), "dtype": str(value.dtype)}
    if isinstance(value, pd.Series):
        return {"__series__": [encode(list(value.index)), encode(value.tolist())], "name": value.name}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return {"__float__": repr(v)} if not np.isfinite(v) else v
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.array(decode(value["__ndarray__"]), dtype=value["dtype"])
        if "__series__" in value:
            index, values = value["__series__"]
            return pd.Series(decode(values), index=decode(index), name=value.get("name"), dtype=float)
        if "__dict__" in value:
            return {_hashable(decode(k)): decode(v) for k, v in value["__dict__"]}
        if "__float__" in value:
            return float(value["__float__"])
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def dump_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(encode(payload), indent=1, allow_nan=False))


def load_json(path: Path) -> Any:
    return decode(json.loads(path.read_text()))


__all__ = ["COVERAGES", "NotEnoughKnownModels", "TransferInputError", "TransferMethod",
           "conformal_quantile", "decode", "dump_json", "encode", "load_json", "log_sources",
           "nanmedian", "setup_of", "source_block", "store_params"]
