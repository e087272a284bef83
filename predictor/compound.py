"""Compound efficiency measures: FRM, NetScore, EDP and user-defined weighted geometric means.

Why a module of its own: the study's central claim is that a *compound* of FLOPs, latency and
memory ranks models more stably than any single measure. Every analysis, the report and
``effbench recommend`` must compute that compound the same way, with its reference stated.

Conventions (lower is better for FRM, EDP and the generic compounds; higher for NetScore):

* FRM (FLOPs-Ratio-Memory, "From FLOPs to Compound Efficiency Measures"): the geometric mean of
  each model's ratios ``flops/flops_ref``, ``latency/latency_ref``, ``memory/memory_ref`` to a
  reference model (``reference="resnet50"``) or to the median model (``reference="median"``).
  Terms the source does not measure (timm has no memory) are left out and the result says so in
  ``terms_used``; rankings by FRM do not depend on the reference (a geometric mean of ratios is
  a monotone function of the product of the raw terms), but the printed values do.
* NetScore (Wong 2018, "NetScore: towards universal metrics for large-scale performance
  analysis of deep neural networks"): ``20·log10(a^α / (p^β · m^γ))`` with ``a`` = top-1 in
  percent, ``p`` = parameters in millions, ``m`` = multiply-accumulates in billions (GMACs),
  ``α = 2``, ``β = γ = 0.5``.
* EDP: energy × delay (mJ·ms) — only where the store holds a measured ``energy_mj``. The public
  data has none; :func:`edp` then reports it as unavailable rather than guessing energy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

FRM_TERMS = ("flops", "latency", "memory")
#: FRM terms that do not change across devices (the transfer ablation drops them).
DEVICE_INVARIANT_TERMS = ("flops",)


class CompoundError(ValueError):
    """A compound that cannot be computed as asked (unknown reference, no usable term)."""


def _positive(frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return values.where(values > 0)


def weighted_geomean(frame: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """exp(Σ w·log x / Σ w) over the named columns, row by row (a user-defined compound).

    A row lacking any named column is NaN: a compound of fewer terms is a different measure.
    """
    if not weights:
        raise CompoundError("a compound needs at least one weighted column")
    missing = [c for c in weights if c not in frame]
    if missing:
        raise CompoundError(f"compound: column(s) {missing} not in the table")
    total = float(sum(weights.values()))
    if total <= 0:
        raise CompoundError("compound: weights must sum to a positive number")
    log_sum = sum(w * np.log(_positive(frame, c)) for c, w in weights.items())
    return np.exp(log_sum / total).rename("compound")


def _reference_values(frame: pd.DataFrame, terms: Sequence[str], reference: str) -> pd.Series:
    if reference == "median":
        return pd.Series({t: float(np.nanmedian(_positive(frame, t))) for t in terms})
    if reference not in frame.index:
        raise CompoundError(f"FRM reference model '{reference}' is not among the models "
                            f"({len(frame)} models; use reference='median' or one of them)")
    return pd.Series({t: float(_positive(frame, t).loc[reference]) for t in terms})


@dataclass(frozen=True)
class FRMResult:
    """FRM values per model, with the terms and reference that produced them."""
    values: pd.Series
    terms_used: tuple[str, ...]
    reference: str

    def summary(self) -> str:
        return (f"FRM over {self.values.notna().sum()} models, terms {'×'.join(self.terms_used)}, "
                f"reference {self.reference}")


def frm(frame: pd.DataFrame, reference: str = "median",
        terms: Sequence[str] = FRM_TERMS) -> FRMResult:
    """FRM per model (rows of ``frame``, indexed by model; columns ``flops``, ``latency``, ``memory``).

    Terms whose column is absent or entirely empty are dropped (and reported); a model missing
    a term that other models have gets NaN.
    """
    used = tuple(t for t in terms if t in frame and _positive(frame, t).notna().any())
    if not used:
        raise CompoundError(f"FRM: none of the terms {tuple(terms)} has data")
    ref = _reference_values(frame, used, reference)
    if not np.all(np.isfinite(ref.to_numpy())):
        raise CompoundError(f"FRM reference '{reference}' lacks a value for one of {used}")
    ratios = pd.DataFrame({t: _positive(frame, t) / ref[t] for t in used})
    values = weighted_geomean(ratios, {t: 1.0 for t in used}).rename("frm")
    return FRMResult(values, used, reference)


def netscore(top1, params_m, macs_g, alpha: float = 2.0, beta: float = 0.5,
             gamma: float = 0.5):
    """Wong (2018) NetScore: 20·log10(a^α / (p^β·m^γ)); a in %, p in millions, m in GMACs."""
    a = np.asarray(top1, dtype=float)
    p = np.asarray(params_m, dtype=float)
    m = np.asarray(macs_g, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 20 * (alpha * np.log10(a) - beta * np.log10(p) - gamma * np.log10(m))
    out = np.where((a > 0) & (p > 0) & (m > 0), out, np.nan)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class EDPResult:
    """Energy-delay product per measurement, or the reason it is unavailable."""
    values: pd.Series
    available: bool
    reason: str = ""

    def summary(self) -> str:
        return (f"EDP over {self.values.notna().sum()} measurements" if self.available
                else f"EDP unavailable: {self.reason}")


def edp(measurements: pd.DataFrame) -> EDPResult:
    """energy_mj × latency_ms where energy was measured; never estimated from a guess."""
    if "energy_mj" not in measurements or measurements["energy_mj"].isna().all():
        return EDPResult(pd.Series(dtype=float, name="edp"), False,
                         "no measurement in the store carries energy_mj (the public AI Hub and "
                         "timm data publish no energy)")
    energy = pd.to_numeric(measurements["energy_mj"], errors="coerce")
    values = (energy * pd.to_numeric(measurements["latency_ms"], errors="coerce")).rename("edp")
    return EDPResult(values, True)


__all__ = ["CompoundError", "DEVICE_INVARIANT_TERMS", "EDPResult", "FRMResult", "FRM_TERMS", "edp",
           "frm", "netscore", "weighted_geomean"]
