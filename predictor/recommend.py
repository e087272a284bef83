"""``effbench recommend``: turn the study's measured evidence into a deployment decision.

Questions answered for a target tier and a set of families, each from a number with its CI:

1. Which measure to rank by: the one whose cross-tier ranking transfers best to the target tier
   (latency, FRM, FRM without FLOPs); FLOPs is flagged when its pairwise decision error is high.
2. Which requested families are unpredictable (MAPE above ``family_mape_limit``, or no evidence).
3. Is transfer enough? Only if the best transfer ρ's lower CI bound reaches ``rho_enough`` and
   no requested family is unpredictable (then rank from the source tier, k = 0); otherwise pick
   the smallest k (target measurements) whose MAPE upper bound meets ``target_mape`` — capped
   by ``budget`` — and measure the unpredictable families first.

Unknown tiers or families are errors (:class:`RecommendInputError`), not an empty answer.

Evidence is a small dataclass so the decision logic is tested on constructed cases; it is read
from the ``evidence.json`` an ``effbench experiment run`` writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predictor.analyses._base import estimate_from
from predictor.metrics import Estimate

RHO_ENOUGH = 0.9
TARGET_MAPE = 15.0
FAMILY_MAPE_LIMIT = 20.0
FLOPS_ERROR_LIMIT = 0.10
MEASURES = ("latency", "frm", "frm_no_invariant")


class EvidenceError(ValueError):
    """Evidence missing or unreadable (no experiment run yet, or a corrupt evidence.json)."""


@dataclass
class Evidence:
    """The numbers the decision rests on (each an :class:`Estimate`)."""
    transfer_rho: dict[str, dict[str, Estimate]] = field(default_factory=dict)  # target tier → measure → ρ
    k_mape: dict[str, dict[int, Estimate]] = field(default_factory=dict)         # target tier → k → MAPE
    family_mape: dict[str, Estimate] = field(default_factory=dict)
    flops_pair_error: Estimate | None = None
    noise_median_abs_log_ratio: Estimate | None = None
    #: target tier → measure → what stands in for the measured quantity (a proxy's note)
    transfer_proxy: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, path: str | Path) -> "Evidence":
        path = Path(path)
        if not path.is_file():
            raise EvidenceError(f"{path}: no evidence file (run `effbench experiment run "
                                f"experiments/paper.yaml` first)")
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise EvidenceError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        return cls.from_experiment(raw.get("analyses", {}))

    @classmethod
    def from_experiment(cls, analyses: dict[str, Any]) -> "Evidence":
        ev = cls()
        transfer = analyses.get("transfer") or {}
        bases = transfer.get("_basis") or {}
        for key, value in transfer.items():
            source_target, _, measure = key.partition(".")
            if "_to_" in source_target and measure in MEASURES and value:
                target = source_target.split("_to_")[1]
                current = ev.transfer_rho.setdefault(target, {}).get(measure)
                est = estimate_from(value)
                if current is None or est.value > current.value:  # best source tier
                    ev.transfer_rho[target][measure] = est
                    basis = bases.get(key) or {}
                    if basis.get("basis") == "proxy":
                        ev.transfer_proxy.setdefault(target, {})[measure] = basis.get("note", "")
                    else:
                        ev.transfer_proxy.get(target, {}).pop(measure, None)
        pred = analyses.get("predictability") or {}
        for row in pred.get("k_curve", []):
            ev.k_mape.setdefault(row["tier"], {})[int(row["k"])] = Estimate(
                row["mape"], row["ci_low"], row["ci_high"], int(row["n_targets"]))
        for row in pred.get("per_family", []):
            ev.family_mape[row["family"]] = Estimate(row["mape"], row["mape_low"],
                                                     row["mape_high"], int(row["n_devices"]))
        for key, value in pred.items():   # the models × devices CI, where the run has it
            if key.startswith("mape_") and key != "mape_all" and isinstance(value, dict):
                ev.family_mape[key[len("mape_"):]] = estimate_from(value)
        dis = analyses.get("disagreement") or {}
        ev.flops_pair_error = estimate_from(dis.get("latency.pair_decision_error"))
        ev.noise_median_abs_log_ratio = estimate_from(
            (analyses.get("noise") or {}).get("median_abs_log_ratio"))
        return ev


@dataclass
class Recommendation:
    target_tier: str
    rank_by: str | None
    rank_rho: Estimate | None
    transfer_suffices: bool
    k: int | None
    expected_mape: Estimate | None
    unpredictable_families: list[str]
    notes: list[str]
    figures: list[tuple[str, str]]   # (what, number with CI) the decision rests on

    def summary(self) -> str:
        lines = [f"target tier: {self.target_tier}",
                 f"rank by: {self.rank_by or 'measure on the target'}"
                 + (f" (transfer ρ {self.rank_rho})" if self.rank_rho else ""),
                 "transfer suffices (k = 0): no target measurements" if self.transfer_suffices
                 else f"measure k = {self.k} models on the target" + (
                     f", from {', '.join(self.unpredictable_families)} first"
                     if self.unpredictable_families else "") if self.k is not None
                 else "measure every candidate on the target"]
        if self.expected_mape is not None:
            lines.append(f"expected MAPE: {self.expected_mape} %")
        if self.unpredictable_families:
            lines.append(f"unpredictable families: {', '.join(self.unpredictable_families)}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


TIERS = ("gpu", "cpu", "edge")


class RecommendInputError(ValueError):
    """An unknown target tier or family, or a negative budget."""


def _check_inputs(families: list[str], target_tier: str, budget: int | None,
                  evidence: Evidence) -> None:
    if target_tier not in TIERS:
        raise RecommendInputError(f"unknown target tier '{target_tier}' (use {', '.join(TIERS)})")
    from models_registry import FAMILIES

    known = set(FAMILIES) | set(evidence.family_mape)
    unknown = [f for f in families if f not in known]
    if unknown:
        raise RecommendInputError(f"unknown famil{'y' if len(unknown) == 1 else 'ies'} "
                                  f"{', '.join(repr(f) for f in unknown)} (known: "
                                  f"{', '.join(sorted(known))})")
    if budget is not None and budget < 0:
        raise RecommendInputError(f"budget must be ≥ 0, got {budget}")


def recommend(evidence: Evidence, families: list[str], target_tier: str,
              budget: int | None = None, rho_enough: float = RHO_ENOUGH,
              target_mape: float = TARGET_MAPE,
              family_mape_limit: float = FAMILY_MAPE_LIMIT) -> Recommendation:
    """The decision for ``families`` on ``target_tier`` (see the module docstring).

    Transfer suffices only when the ranking transfers well enough (ρ's lower CI bound ≥
    ``rho_enough``) *and* no requested family is unpredictable: a family that must be measured
    on the target means the target must be measured, so the answer is never both.
    ``budget`` caps k at the largest evaluated k it affords.
    """
    _check_inputs(families, target_tier, budget, evidence)
    notes: list[str] = []
    figures: list[tuple[str, str]] = []
    rhos = {m: e for m, e in evidence.transfer_rho.get(target_tier, {}).items() if e is not None}
    rank_by, rank_rho = None, None
    if rhos:
        rank_by, rank_rho = max(rhos.items(), key=lambda kv: kv[1].value)
        figures += [(f"transfer ρ to {target_tier}, {m}", str(e)) for m, e in rhos.items()]
        proxy = evidence.transfer_proxy.get(target_tier, {}).get(rank_by)
        if proxy:
            notes.append(f"the transfer evidence for {rank_by} is a proxy: {proxy}")
    else:
        notes.append(f"no cross-tier evidence for tier '{target_tier}': rankings must be measured there")
    fe = evidence.flops_pair_error
    if fe is not None:
        figures.append(("FLOPs pairwise decision error", str(fe)))
        if fe.value > FLOPS_ERROR_LIMIT:
            notes.append(f"do not rank by FLOPs: the lower-FLOPs model is slower in "
                         f"{100 * fe.value:.0f} % of pairs")
    unpredictable = []
    for fam in families:
        e = evidence.family_mape.get(fam)
        if e is None:
            unpredictable.append(fam)
            notes.append(f"family '{fam}': no evidence")
        else:
            figures.append((f"MAPE {fam}", str(e)))
            if e.value > family_mape_limit:
                unpredictable.append(fam)
    rank_ok = rank_rho is not None and rank_rho.low >= rho_enough
    suffices = rank_ok and not unpredictable
    if rank_ok and unpredictable:
        notes.append(f"the ranking transfers (ρ {rank_rho}), but not for "
                     f"{', '.join(unpredictable)}: those must be measured on the target")
    k, expected = (0, None) if suffices else (None, None)
    curve = evidence.k_mape.get(target_tier, {})
    if curve:
        figures += [(f"MAPE on {target_tier} with k={kk}", str(e)) for kk, e in sorted(curve.items())]
        if suffices:
            expected = curve.get(0)
        else:
            fits = [kk for kk, e in sorted(curve.items()) if e.high <= target_mape and kk > 0]
            affordable = [kk for kk in sorted(curve) if kk > 0 and (budget is None or kk <= budget)]
            if fits and (budget is None or fits[0] <= budget):
                k = fits[0]
            elif affordable:
                k = affordable[-1]
                notes.append(f"no k within budget reaches MAPE ≤ {target_mape:g} % "
                             f"(upper CI); best affordable k = {k}" if budget is not None else
                             f"no evaluated k reaches MAPE ≤ {target_mape:g} % (upper CI); "
                             f"largest evaluated k = {k}")
            else:
                smallest = min((kk for kk in curve if kk > 0), default=min(curve))
                notes.append(f"budget {budget} is below the smallest evaluated k ({smallest}): "
                             "no evidence-backed number of target runs; measure candidates "
                             "directly")
            expected = curve.get(k) if k is not None else None
    elif not suffices:
        notes.append("no error-vs-k evidence: measure every candidate on the target")
    if unpredictable and not suffices:
        notes.append("measure these families on the target: " + ", ".join(unpredictable))
    return Recommendation(target_tier, rank_by, rank_rho, suffices, k, expected, unpredictable,
                          notes, figures)


__all__ = ["Evidence", "EvidenceError", "RecommendInputError", "Recommendation", "TIERS",
           "recommend"]
