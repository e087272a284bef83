"""Judging a study's claims on the analyses' findings: the verdict logic, not the claims.

The claims themselves (text, claimed value, tolerance, which finding tests them) are data of an
experiment (``experiments/claims.yaml``); this module reads them and judges each on a
:class:`~predictor.analyses._base.Finding`:

* **supported**: the whole 95 % CI (over models, or models × devices) lies inside the claimed
  value's tolerance band (or on the claimed side of a threshold);
* **not supported**: the whole CI lies outside the band (on the other side);
* **inconclusive**: the CI meets the band's edge, there is no CI, or leaving out a few models
  (:data:`~predictor.analyses._resample.LEAVE_OUT` of them, repeatedly) moves the value across
  the band's edge — a verdict a small change of data can flip decides nothing;
* **untestable**, **proxy** (what stands in for the claimed quantity is said, and the verdict
  on the proxy), **true by construction**, **not comparable**: from the finding's basis.

Why a band and not "the claimed value lies in the CI": a wide CI then "supports" anything, and
a narrow one rejects a claim for a difference nobody would care about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from predictor.analyses._base import (BY_CONSTRUCTION, NOT_COMPARABLE, PROXY,
                                      UNTESTABLE, Finding, _fmt)

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, UNTESTABLE, PROXY, BY_CONSTRUCTION,
            NOT_COMPARABLE)


class ClaimSpecError(ValueError):
    """A claim entry that cannot be judged; the message names the entry and the key."""


@dataclass(frozen=True)
class Claim:
    """One claim of the study and the finding that tests it.

    Exactly one of ``claimed`` (with ``tolerance``: the band ``claimed ± tolerance``),
    ``below`` or ``above`` (a threshold) is given. ``beside`` lists other findings shown next
    to the verdict — effbench's method where it differs from the study's, or a variant
    (e.g. toolchain drift beside run-to-run stability) — as ``(label, statistic)``.
    """
    text: str
    analysis: str
    statistic: str
    claimed: float | None = None
    tolerance: float = 0.0
    below: float | None = None
    above: float | None = None
    display: str = ""
    tested_as: str = ""
    beside: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> "Claim":
        if not isinstance(raw, dict):
            raise ClaimSpecError(f"{where}: a claim must be a mapping")
        for key in ("text", "analysis", "statistic"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise ClaimSpecError(f"{where}: key '{key}' must be a non-empty string")
        given = [k for k in ("claimed", "below", "above") if raw.get(k) is not None]
        if len(given) != 1:
            raise ClaimSpecError(f"{where}: give exactly one of 'claimed', 'below', 'above' "
                                 f"(got {given or 'none'})")
        nums = {}
        for key in ("claimed", "tolerance", "below", "above"):
            value = raw.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ClaimSpecError(f"{where}: key '{key}' must be a number, got {value!r}")
            nums[key] = None if value is None else float(value)
        if (nums["tolerance"] or 0) < 0:
            raise ClaimSpecError(f"{where}: key 'tolerance' must be ≥ 0")
        beside = raw.get("beside") or {}
        if not isinstance(beside, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in beside.items()):
            raise ClaimSpecError(f"{where}: key 'beside' must map labels to statistic names")
        unknown = set(raw) - {"text", "analysis", "statistic", "claimed", "tolerance", "below",
                              "above", "display", "tested_as", "beside"}
        if unknown:
            raise ClaimSpecError(f"{where}: unknown key(s) {sorted(unknown)}")
        return cls(text=raw["text"].strip(), analysis=raw["analysis"], statistic=raw["statistic"],
                   claimed=nums["claimed"], tolerance=nums["tolerance"] or 0.0,
                   below=nums["below"], above=nums["above"],
                   display=str(raw.get("display") or ""), tested_as=str(raw.get("tested_as") or ""),
                   beside=tuple(beside.items()))

    @property
    def band(self) -> tuple[float, float]:
        """The values that count as the claim holding."""
        if self.claimed is not None:
            return self.claimed - self.tolerance, self.claimed + self.tolerance
        if self.below is not None:
            return -math.inf, self.below
        return self.above, math.inf

    def claimed_text(self) -> str:
        if self.display:
            return self.display
        if self.claimed is not None:
            return _fmt(self.claimed) + (f" ± {_fmt(self.tolerance)}" if self.tolerance else "")
        return f"< {_fmt(self.below)}" if self.below is not None else f"> {_fmt(self.above)}"


def _inside(value: float, band: tuple[float, float], strict_high: bool) -> bool:
    lo, hi = band
    return lo <= value < hi if strict_high else lo <= value <= hi


def judge(claim: Claim, finding: Finding | None) -> tuple[str, str]:
    """(verdict, why) of ``claim`` on ``finding`` (see the module docstring)."""
    if finding is None or not finding.available:
        why = finding.basis_note if finding is not None and finding.basis_note else "no data for it"
        return UNTESTABLE, why
    if finding.basis == UNTESTABLE:
        return UNTESTABLE, finding.basis_note
    if finding.basis in (BY_CONSTRUCTION, NOT_COMPARABLE):
        return finding.basis, finding.basis_note
    verdict, why = _judge_measured(claim, finding)
    if finding.basis == PROXY:
        return PROXY, f"{finding.basis_note}; on the proxy: {verdict}" + (f" ({why})" if why else "")
    return verdict, why


def _judge_measured(claim: Claim, finding: Finding) -> tuple[str, str]:
    e = finding.estimate
    band = claim.band
    strict = claim.below is not None          # "< x": x itself is outside
    if not (math.isfinite(e.low) and math.isfinite(e.high)):
        return INCONCLUSIVE, f"no CI (n = {e.n})"
    lo_in, hi_in = _inside(e.low, band, strict), _inside(e.high, band, strict)
    disjoint = e.high < band[0] or e.low > band[1] or (strict and e.low >= band[1])
    band_text = (f"band [{_fmt(band[0])}, {_fmt(band[1])}]" if claim.claimed is not None
                 else f"threshold {claim.claimed_text()}")
    if lo_in and hi_in:
        verdict = SUPPORTED
    elif disjoint:
        verdict = NOT_SUPPORTED
    else:
        return INCONCLUSIVE, f"the CI meets the {band_text}"
    if finding.leave_out is not None:
        inside_now = verdict == SUPPORTED
        for v in finding.leave_out:
            if math.isfinite(v) and _inside(v, band, strict) != inside_now:
                return INCONCLUSIVE, (f"leaving out {finding.n_left_out} models moves it to "
                                      f"{_fmt(v)}, across the {band_text}")
    if claim.claimed is not None:
        where = "inside" if verdict == SUPPORTED else "outside"
    else:
        where = "on the claimed side of" if verdict == SUPPORTED else "on the other side of"
    if e.low == e.high:          # an exact value (a test's p, a count): no interval around it
        return verdict, f"the value is {where} the {band_text}"
    return verdict, f"CI {where} the {band_text}"


def claims_from(raw: Any, where: str) -> list[Claim]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ClaimSpecError(f"{where}: 'claims' must be a list of claim mappings")
    return [Claim.from_dict(c, f"{where}: claims[{i}]") for i, c in enumerate(raw)]


CLAIM_COLUMNS = ["claim in the study", "claimed", "tested as", "value", "95 % CI", "resampled",
                 "n", "verdict", "why", "effbench's method / variant", "analysis", "statistic"]


def claim_row(claim: Claim, finding: Finding | None, beside: dict[str, Finding | None],
              failure: str = "") -> dict[str, Any]:
    """One row of the claim table."""
    verdict, why = (UNTESTABLE, failure) if failure else judge(claim, finding)
    e = finding.estimate if finding is not None and finding.available else None
    ci = (f"[{_fmt(e.low)}, {_fmt(e.high)}]" if e is not None and math.isfinite(e.low)
          and math.isfinite(e.high) and e.low != e.high else "—")
    others = "; ".join(f"{label}: {f.text() if f is not None else '—'}"
                       for label, f in beside.items())
    return {"claim in the study": claim.text, "claimed": claim.claimed_text(),
            "tested as": claim.tested_as or (finding.method if finding is not None else ""),
            "value": _fmt(e.value) if e is not None else "—", "95 % CI": ci,
            "resampled": finding.unit if finding is not None and e is not None else "",
            "n": e.n if e is not None else 0, "verdict": verdict, "why": why,
            "effbench's method / variant": others, "analysis": claim.analysis,
            "statistic": claim.statistic}


def claim_table(claims: list[Claim], results: dict[str, Any],
                failures: dict[str, str] | None = None) -> pd.DataFrame:
    """The claim table: every claim, judged on its analysis' findings (untestable, with the
    reason, when the analysis failed or did not run: ``failures`` maps analysis → reason)."""
    failures = failures or {}
    rows = []
    for claim in claims:
        result = results.get(claim.analysis)
        failure = failures.get(claim.analysis, "")
        if result is None and not failure:
            failure = f"analysis '{claim.analysis}' did not run"
        found = result.findings() if result is not None else {}
        if result is not None and claim.statistic not in found and not failure:
            failure = f"{claim.analysis} has no finding '{claim.statistic}' on this data"
        rows.append(claim_row(claim, found.get(claim.statistic),
                              {label: found.get(stat) for label, stat in claim.beside},
                              failure=failure))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


__all__ = ["CLAIM_COLUMNS", "Claim", "ClaimSpecError", "INCONCLUSIVE", "NOT_SUPPORTED",
           "SUPPORTED", "VERDICTS", "claim_row", "claim_table", "claims_from", "judge"]
