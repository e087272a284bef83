"""What every analysis returns: findings (numbers with model-resampling CIs), tables, figures.

Why one protocol: ``predictor.tracking.log_result`` logs any object with ``params()``,
``metrics()``, ``tables()`` and ``figures()``; the experiment judges the study's claims on the
same objects' :meth:`AnalysisResult.findings`, and ``effbench recommend`` reads their
``evidence()``. An analysis never talks to MLflow, HTML or the terminal itself, and it never
holds a claim's text or claimed value: those are data of the experiment (``experiments/``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from predictor.analyses._resample import Resampled
from predictor.metrics import Estimate

#: How a finding relates to the claim it tests (``Finding.basis``).
MEASURED = "measured"
PROXY = "proxy"
BY_CONSTRUCTION = "true by construction"
NOT_COMPARABLE = "not comparable"
UNTESTABLE = "untestable"
BASES = (MEASURED, PROXY, BY_CONSTRUCTION, NOT_COMPARABLE, UNTESTABLE)


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


@dataclass(frozen=True)
class Finding:
    """One statistic as a claim is judged on.

    ``estimate``: value and 95 % CI over the resampled units (``unit``); ``leave_out``: the
    range of the value when a few models are left out (a verdict that this range crosses is
    inconclusive); ``basis``: measured, or why it is not (a proxy and what it is, true by
    construction, not comparable); ``method``: how it was computed, in a few words.
    """
    estimate: Estimate | None
    unit: str = ""
    leave_out: tuple[float, float] | None = None
    n_left_out: int = 0
    basis: str = MEASURED
    basis_note: str = ""
    method: str = ""

    @classmethod
    def from_resampled(cls, r: Resampled, **kw) -> "Finding":
        return cls(r.estimate, r.unit, r.leave_out, r.n_left_out, **kw)

    @property
    def available(self) -> bool:
        return self.estimate is not None and _finite(self.estimate.value)

    def text(self) -> str:
        if not self.available:
            return "—"
        e = self.estimate
        ci = (f" [{_fmt(e.low)}, {_fmt(e.high)}]"
              if _finite(e.low) and _finite(e.high) and e.low != e.high else "")
        return f"{_fmt(e.value)}{ci}"


def _fmt(x: float) -> str:
    """Counts as integers (``10421``, not ``1.04e+04``); everything else to 3 significant digits."""
    return f"{x:.0f}" if float(x).is_integer() and abs(x) < 1e12 else f"{x:.3g}"


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
        """``compute()`` once per result: resampled CIs are asked for by metrics, evidence,
        claims and the summary, and each costs seconds on the full data."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def params(self) -> dict[str, Any]:
        return {f"{self.name}.{k}": v for k, v in self.parameters.items()}

    def findings(self) -> dict[str, Finding]:
        """Every statistic a claim may be judged on, by name (what ``claims.yaml`` refers to)."""
        return self.memo("findings", self._findings)

    def _findings(self) -> dict[str, Finding]:
        """Subclasses compute their findings here (called once, see :meth:`memo`)."""
        return {}

    def estimates(self) -> dict[str, Estimate]:
        """Headline numbers with their CIs (the findings' estimates)."""
        return {k: f.estimate for k, f in self.findings().items() if f.available}

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, e in self.estimates().items():
            out[f"{self.name}.{key}"] = float(e.value)
            if _finite(e.low) and _finite(e.high):
                out[f"{self.name}.{key}.ci_low"] = float(e.low)
                out[f"{self.name}.{key}.ci_high"] = float(e.high)
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    def figures(self) -> dict[str, Any]:
        return {}

    def to_frame(self) -> pd.DataFrame:
        tables = self.tables()
        return next(iter(tables.values())) if tables else pd.DataFrame()

    def findings_frame(self) -> pd.DataFrame:
        """One row per finding: value, CI, unit resampled, leave-out range, basis."""
        rows = []
        for key, f in self.findings().items():
            e = f.estimate
            rows.append({"finding": key, "value": e.value if e else float("nan"),
                         "ci_low": e.low if e else float("nan"),
                         "ci_high": e.high if e else float("nan"), "n": e.n if e else 0,
                         "resampled": f.unit,
                         "leave_out_min": f.leave_out[0] if f.leave_out else float("nan"),
                         "leave_out_max": f.leave_out[1] if f.leave_out else float("nan"),
                         "basis": f.basis, "basis_note": f.basis_note, "method": f.method})
        return pd.DataFrame(rows)

    def evidence(self) -> dict[str, Any]:
        """JSON-ready headline numbers (what ``effbench recommend`` reads back); ``_basis`` names
        the findings that are not plain measurements (a proxy, true by construction, …)."""
        out: dict[str, Any] = {k: estimate_dict(e) for k, e in self.estimates().items()}
        bases = {k: {"basis": f.basis, "note": f.basis_note} for k, f in self.findings().items()
                 if f.basis != MEASURED}
        if bases:
            out["_basis"] = bases
        return out

    def summary(self) -> str:
        lines = [f"{self.name}:"]
        for key, f in self.findings().items():
            extra = f"  ({f.basis}: {f.basis_note})" if f.basis != MEASURED else ""
            n = f.estimate.n if f.estimate is not None else 0
            lines.append(f"  {key:<44} {f.text()}  (n={n}){extra}")
        return "\n".join(lines)


__all__ = ["AnalysisResult", "BASES", "BY_CONSTRUCTION", "Finding", "MEASURED", "NOT_COMPARABLE",
           "PROXY", "UNTESTABLE", "estimate_dict", "estimate_from", "point"]
