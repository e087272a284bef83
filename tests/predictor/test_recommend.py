"""Every branch of the decision, on constructed evidence."""

import json

import pytest

from predictor.metrics import Estimate
from predictor.recommend import Evidence, EvidenceError, recommend


def E(v, lo=None, hi=None, n=10):
    return Estimate(v, v if lo is None else lo, v if hi is None else hi, n)


def evidence(rho_low=0.95, flops_err=0.05):
    return Evidence(
        transfer_rho={"edge": {"latency": E(0.8, 0.7, 0.85), "frm": E(0.96, rho_low, 0.98)}},
        k_mape={"edge": {0: E(30, 25, 35), 5: E(14, 12, 16), 10: E(9, 8, 11)}},
        family_mape={"standard_cnn": E(5, 4, 6), "transformer": E(25, 20, 30)},
        flops_pair_error=E(flops_err))


def test_transfer_suffices():
    r = recommend(evidence(), ["standard_cnn"], "edge")
    assert r.transfer_suffices and r.k == 0 and r.rank_by == "frm"
    assert r.expected_mape.value == 30 and not r.unpredictable_families


def test_smallest_k_meeting_the_error_target():
    r = recommend(evidence(rho_low=0.8), ["standard_cnn"], "edge")
    assert not r.transfer_suffices and r.k == 10        # k=5 upper CI 16 > 15
    assert r.expected_mape.value == 9


def test_budget_caps_k_with_a_note():
    r = recommend(evidence(rho_low=0.8), ["standard_cnn"], "edge", budget=6)
    assert r.k == 5 and any("best affordable k = 5" in n for n in r.notes)


def test_budget_below_every_k():
    ev = evidence(rho_low=0.8)
    ev.k_mape["edge"].pop(0)
    r = recommend(ev, [], "edge", budget=2)
    assert r.k is None and any("measure candidates directly" in n for n in r.notes)


def test_no_evidence_for_tier():
    r = recommend(evidence(), [], "cpu")
    assert r.rank_by is None and not r.transfer_suffices and r.k is None
    assert any("no cross-tier evidence" in n for n in r.notes)
    assert any("no error-vs-k evidence" in n for n in r.notes)


def test_flops_warning_and_unpredictable_families():
    r = recommend(evidence(flops_err=0.3), ["transformer", "hybrid", "standard_cnn"], "edge")
    assert any("do not rank by FLOPs" in n for n in r.notes)
    assert r.unpredictable_families == ["transformer", "hybrid"]
    assert "unpredictable families: transformer, hybrid" in r.summary()


def test_evidence_json_round_trip_and_errors(tmp_path):
    with pytest.raises(EvidenceError, match="no evidence file"):
        Evidence.from_json(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(EvidenceError, match="not valid JSON"):
        Evidence.from_json(bad)
    est = {"value": 0.9, "low": 0.85, "high": 0.95, "n": 12}
    raw = {"analyses": {
        "transfer": {"gpu_to_edge.frm": est, "cpu_to_edge.frm": {**est, "value": 0.5},
                     "overall.frm": est},
        "predictability": {"k_curve": [{"tier": "edge", "k": 5, "n_targets": 3, "mape": 12.0,
                                        "ci_low": 10.0, "ci_high": 14.0}],
                           "per_family": [{"family": "transformer", "mape": 22.0, "mape_low": 20.0,
                                           "mape_high": 25.0, "n_devices": 4}]},
        "disagreement": {"latency.pair_decision_error": est}}}
    good = tmp_path / "evidence.json"
    good.write_text(json.dumps(raw))
    ev = Evidence.from_json(good)
    assert ev.transfer_rho["edge"]["frm"].value == 0.9          # best source tier kept
    assert ev.k_mape["edge"][5].high == 14.0
    assert ev.family_mape["transformer"].n == 4
    assert recommend(ev, ["transformer"], "edge").k == 5
