"""What every analysis returns: numbers with CIs, tables, figures, and the claims it tests.

Why one protocol: ``predictor.tracking.log_result`` logs any object with ``params()``,
``metrics()``, ``tables()`` and ``figures()``; the report and ``effbench recommend`` read the
same objects. An analysis therefore never talks to MLflow, HTML or the terminal itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from predictor.metrics import Estimate

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
UNTESTABLE = "untestable on public data"


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _fmt(x: float) -> str:
    """Counts as integers (``10421``, not ``1.04e+04``); everything else to 3 significant digits."""
    return f"{x:.0f}" if float(x).is_integer() and abs(x) < 1e12 else f"{x:.3g}"


@dataclass(frozen=True)
class ClaimCheck:
    """One row of the report's claim table."""
    claim: str
    claimed: str
    value: Estimate | None
    verdict: str
    command: str
    note: str = ""

    def row(self) -> dict[str, Any]:
        v = self.value
        has = v is not None and _finite(v.value)
        ci = (f"[{_fmt(v.low)}, {_fmt(v.high)}]" if has and _finite(v.low) and _finite(v.high)
              else "—")
        return {"claim in the study": self.claim, "claimed": self.claimed,
                "value on public data": _fmt(v.value) if has else "—",
                "95 % CI": ci, "n": v.n if v is not None else 0, "verdict": self.verdict,
                "command that produced it": self.command, "note": self.note}


def judge(estimate: Estimate | None, *, approx: float | None = None, tol: float = 0.0,
          below: float | None = None, above: float | None = None) -> str:
    """Verdict of a measured :class:`Estimate` against a claimed value or threshold.

    ``approx``: supported when the claimed value lies in the CI or within ``tol`` of the estimate.
    ``below``/``above``: supported when the whole CI is on the claimed side, not supported when
    the whole CI is on the other side, inconclusive otherwise. No estimate → untestable; an
    estimate without a CI (a single unit) → inconclusive.
    """
    if estimate is None or not _finite(estimate.value):
        return UNTESTABLE
    if not (_finite(estimate.low) and _finite(estimate.high)):
        return INCONCLUSIVE     # one unit (n < 2): a value without an interval decides nothing
    lo, hi = estimate.low, estimate.high
    if approx is not None:
        return SUPPORTED if lo <= approx <= hi or abs(estimate.value - approx) <= tol else NOT_SUPPORTED
    if below is not None:
        return SUPPORTED if hi < below else NOT_SUPPORTED if lo >= below else INCONCLUSIVE
    if above is not None:
        return SUPPORTED if lo > above else NOT_SUPPORTED if hi <= above else INCONCLUSIVE
    raise ValueError("judge: give approx, below or above")


def point(value: float, n: int = 0) -> Estimate:
    """An exact count or a statistic without resampling (its CI is the point itself)."""
    return Estimate(float(value), float(value), float(value), n)


def estimate_dict(e: Estimate | None) -> dict[str, float] | None:
    return None if e is None else {"value": e.value, "low": e.low, "high": e.high, "n": e.n}


def estimate_from(d: dict[str, float] | None) -> Estimate | None:
    return None if d is None else Estimate(float(d["value"]), float(d["low"]), float(d["high"]),
                                           int(d["n"]))


@dataclass
class AnalysisResult:
    """Base of every analysis result: subclasses fill ``parameters`` and override the hooks."""
    parameters: dict[str, Any] = field(default_factory=dict, kw_only=True)
    _memo: dict[str, Any] = field(default_factory=dict, kw_only=True, repr=False, compare=False)

    name = "analysis"

    def memo(self, key: str, compute):
        """``compute()`` once per result: bootstrap CIs are asked for by metrics, evidence,
        claims and the summary, and each costs seconds on the full data."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def params(self) -> dict[str, Any]:
        return {f"{self.name}.{k}": v for k, v in self.parameters.items()}

    def estimates(self) -> dict[str, Estimate]:
        """Headline numbers, each with its CI; ``metrics()`` and the evidence JSON derive from it."""
        return self.memo("estimates", self._estimates)

    def _estimates(self) -> dict[str, Estimate]:
        """Subclasses compute their headline numbers here (called once, see :meth:`memo`)."""
        return {}

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, e in self.estimates().items():
            if _finite(e.value):
                out[f"{self.name}.{key}"] = float(e.value)
                if _finite(e.low) and _finite(e.high):
                    out[f"{self.name}.{key}.ci_low"] = float(e.low)
                    out[f"{self.name}.{key}.ci_high"] = float(e.high)
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    def figures(self) -> dict[str, Any]:
        return {}

    def claims(self) -> list[ClaimCheck]:
        return []

    def to_frame(self) -> pd.DataFrame:
        tables = self.tables()
        return next(iter(tables.values())) if tables else pd.DataFrame()

    def evidence(self) -> dict[str, Any]:
        """JSON-ready headline numbers (what ``effbench recommend`` reads back)."""
        return {k: estimate_dict(e) for k, e in self.estimates().items()}

    def summary(self) -> str:
        lines = [f"{self.name}:"]
        for key, e in self.estimates().items():
            lines.append(f"  {key:<40} {e}  (n={e.n})")
        return "\n".join(lines)


__all__ = ["AnalysisResult", "ClaimCheck", "INCONCLUSIVE", "NOT_SUPPORTED", "SUPPORTED",
           "UNTESTABLE", "estimate_dict", "estimate_from", "judge", "point"]
