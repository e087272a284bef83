"""Every branch of the decision, on constructed evidence, and the CLI's errors and answers."""

import json

import pytest
from typer.testing import CliRunner

from predictor.metrics import Estimate
from predictor.recommend import Evidence, EvidenceError, RecommendInputError, recommend


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
    assert "transfer suffices" in r.summary()


def test_never_transfer_suffices_and_measure_these_families():
    """An unpredictable family means the target must be measured: never both answers."""
    r = recommend(evidence(), ["standard_cnn", "transformer"], "edge")
    assert not r.transfer_suffices and r.k == 10 and r.unpredictable_families == ["transformer"]
    text = r.summary()
    assert "transfer suffices" not in text
    assert "measure these families on the target: transformer" in text
    assert "from transformer first" in text


def test_smallest_k_meeting_the_error_target():
    r = recommend(evidence(rho_low=0.8), ["standard_cnn"], "edge")
    assert not r.transfer_suffices and r.k == 10        # k=5 upper CI 16 > 15
    assert r.expected_mape.value == 9


def test_budget_changes_the_answer():
    ks = {b: recommend(evidence(rho_low=0.8), ["standard_cnn"], "edge", budget=b).k
          for b in (None, 6, 2)}
    assert ks == {None: 10, 6: 5, 2: None}
    r = recommend(evidence(rho_low=0.8), ["standard_cnn"], "edge", budget=6)
    assert any("best affordable k = 5" in n for n in r.notes)


def test_budget_below_every_k():
    ev = evidence(rho_low=0.8)
    ev.k_mape["edge"].pop(0)
    r = recommend(ev, ["standard_cnn"], "edge", budget=2)
    assert r.k is None and any("measure candidates directly" in n for n in r.notes)


def test_no_evidence_for_tier():
    r = recommend(evidence(), ["standard_cnn"], "cpu")
    assert r.rank_by is None and not r.transfer_suffices and r.k is None
    assert any("no cross-tier evidence" in n for n in r.notes)
    assert any("no error-vs-k evidence" in n for n in r.notes)


def test_flops_warning_and_unpredictable_families():
    r = recommend(evidence(flops_err=0.3), ["transformer", "hybrid", "standard_cnn"], "edge")
    assert any("do not rank by FLOPs" in n for n in r.notes)
    assert r.unpredictable_families == ["transformer", "hybrid"]
    assert "unpredictable families: transformer, hybrid" in r.summary()


@pytest.mark.parametrize("families,tier,budget,match", [
    (["standard_cnn"], "tpu", None, "unknown target tier 'tpu'"),
    (["cnnz"], "edge", None, "unknown family 'cnnz'"),
    (["cnnz", "vitz"], "edge", None, "unknown families 'cnnz', 'vitz'"),
    (["standard_cnn"], "edge", -1, "budget must be ≥ 0"),
])
def test_unknown_tiers_families_and_bad_budgets_are_errors(families, tier, budget, match):
    with pytest.raises(RecommendInputError, match=match):
        recommend(evidence(), families, tier, budget=budget)


def _evidence_file(tmp_path):
    est = {"value": 0.9, "low": 0.85, "high": 0.95, "n": 12}
    raw = {"analyses": {
        "transfer": {"gpu_to_edge.frm": est, "cpu_to_edge.frm": {**est, "value": 0.5},
                     "overall.frm": est, "gpu_to_edge.frm_gain": est,
                     "_basis": {"gpu_to_edge.frm": {"basis": "proxy", "note": "timm throughput"}}},
        "predictability": {"k_curve": [{"tier": "edge", "k": 1, "n_targets": 3, "mape": 30.0,
                                        "ci_low": 25.0, "ci_high": 35.0},
                                       {"tier": "edge", "k": 5, "n_targets": 3, "mape": 12.0,
                                        "ci_low": 10.0, "ci_high": 14.0}],
                           "per_family": [{"family": "transformer", "mape": 22.0, "mape_low": 20.0,
                                           "mape_high": 25.0, "n_devices": 4}],
                           "mape_standard_cnn": {"value": 8.0, "low": 6.0, "high": 11.0, "n": 4}},
        "disagreement": {"latency.pair_decision_error": est}}}
    good = tmp_path / "evidence.json"
    good.write_text(json.dumps(raw))
    return good


def test_evidence_json_round_trip_and_errors(tmp_path):
    with pytest.raises(EvidenceError, match="no evidence file"):
        Evidence.from_json(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(EvidenceError, match="not valid JSON"):
        Evidence.from_json(bad)
    ev = Evidence.from_json(_evidence_file(tmp_path))
    assert ev.transfer_rho["edge"]["frm"].value == 0.9          # best source tier kept
    assert "throughput" in ev.transfer_proxy["edge"]["frm"]
    assert any("is a proxy: timm throughput" in n for n in recommend(ev, ["transformer"], "edge").notes)
    assert "frm_gain" not in ev.transfer_rho["edge"]              # a difference, not a measure
    assert ev.k_mape["edge"][5].high == 14.0
    assert ev.family_mape["transformer"].n == 4
    assert ev.family_mape["standard_cnn"].value == 8.0          # the models × devices finding
    assert recommend(ev, ["transformer"], "edge").k == 5


def _cli(*args):
    from effbench.cli import app
    return CliRunner().invoke(app, ["recommend", *args])


def test_cli_recommend_errors_are_one_line_and_exit_2(tmp_path):
    ev = str(_evidence_file(tmp_path))
    for args, message in ((["--families", "cnnz", "--target-tier", "edge"], "unknown family 'cnnz'"),
                          (["--families", "transformer", "--target-tier", "tpu"],
                           "unknown target tier 'tpu'"),
                          (["--families", ",", "--target-tier", "edge"], "give at least one family")):
        res = _cli(*args, "--evidence", ev)
        assert res.exit_code == 2, res.output
        assert message in res.output and len(res.output.strip().splitlines()) == 1
    res = _cli("--families", "transformer", "--target-tier", "edge",
               "--evidence", str(tmp_path / "none.json"))
    assert res.exit_code == 2 and "no evidence file" in res.output


def test_cli_budget_changes_the_answer(tmp_path):
    ev = str(_evidence_file(tmp_path))
    full = _cli("--families", "transformer", "--target-tier", "edge", "--evidence", ev)
    capped = _cli("--families", "transformer", "--target-tier", "edge", "--evidence", ev,
                  "--budget", "2")
    assert full.exit_code == capped.exit_code == 0, full.output + capped.output
    assert "measure k = 5 models" in full.output
    assert "measure k = 1 models" in capped.output and "best affordable k = 1" in capped.output
