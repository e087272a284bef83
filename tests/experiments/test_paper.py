"""The study definition runs end to end (synthetic data); its claims live in the experiment, not
in the analysis library, and the claim table covers every one of them."""

from pathlib import Path

import pandas as pd
import pytest

from effbench.experiment import ExperimentSpecError, load_spec, run_experiment
from predictor.analyses import get_analysis

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "experiments" / "paper.yaml"
CLAIMS = ["774 cases", "95.8 %", "~10 %", "Mann-Whitney", "Cohen's d", "FRM ρ = 0.956",
          "latency ρ = 0.746", "PyTorch", "FRM ρ = 0.961", "latency ρ = 0.582", "0.907",
          "entirely from FLOPs", "memory is measured", "standard CNNs 5.2", "transformers 23.4",
          "F1 = 0.87", "99.5 %", "KRT"]


def test_paper_spec_loads_with_its_claims():
    spec = load_spec(PAPER)
    assert {"disagreement", "transfer", "pareto", "noise", "variance", "predictability",
            "runtime_stability"} <= set(spec.analyses)
    texts = " | ".join(c.text for c in spec.claims)
    for fragment in CLAIMS:
        assert fragment in texts, fragment
    assert all(c.analysis in spec.analyses for c in spec.claims)


def test_the_claims_are_not_in_the_analysis_library():
    source = "\n".join(p.read_text() for p in (REPO / "predictor" / "analyses").glob("*.py"))
    for claim in load_spec(PAPER).claims:
        assert claim.text not in source, claim.text
    assert "0.961" not in source and "0.582" not in source


def test_the_shipped_package_data_has_the_claims_file():
    from experiments import PAPER as shipped
    assert (shipped.parent / "claims.yaml").is_file()


@pytest.mark.parametrize("text,match", [
    ("analyses: {nope: {}}", "unknown analysis"),
    ("[1, 2", "not valid YAML"),
    ("name: x", "key 'analyses'"),
    ("analyses: {noise: 3}", "must be a mapping"),
    ("analyses: {transfer: {min_comon: 5}}", r"analyses\.transfer: unknown parameter\(s\) \['min_comon'\]"),
    ("analyses: {noise: {}}\nclaims: missing.yaml", "claims file 'missing.yaml' not found"),
    ("analyses: {noise: {}}\nclaims: [{text: t, analysis: noise, statistic: s}]",
     r"claims\[0\]: give exactly one of 'claimed', 'below', 'above'"),
    ("analyses: {noise: {}}\nclaims: [{text: t, analysis: nope, statistic: s, claimed: 1}]",
     r"claims\[0\]\.analysis: unknown analysis 'nope'"),
    ("analyses: {noise: {}}\nclaims: [{text: t, analysis: noise, statistic: s, claimed: x}]",
     "key 'claimed' must be a number"),
    ("analyses: {noise: {}}\nclaims: [{text: t, analysis: noise, statistic: s, claimed: 1, "
     "tolerance: -1}]", "'tolerance' must be ≥ 0"),
    ("analyses: {noise: {}}\nclaims: [{text: t, analysis: noise, statistic: s, below: 1, "
     "colour: red}]", r"unknown key\(s\) \['colour'\]"),
])
def test_bad_spec_is_one_clear_error(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ExperimentSpecError, match=match):
        load_spec(path)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    from tests.helpers.analysis_data import synthetic_study

    spec = load_spec(PAPER)
    spec.analyses.pop("predictability")     # needs the evaluation stack; covered by real-data test
    spec.analyses.pop("new_hardware")       # the same (tests/predictor/test_transfer_new_hardware.py)
    for name, params in spec.analyses.items():
        if name != "variance":
            params.update(n_boot=30, leave_out_draws=4)
    out = tmp_path_factory.mktemp("report")
    return run_experiment(spec, data=synthetic_study(), log=False, report_dir=out), out


def test_claim_table_has_every_claim_and_report_is_written(synthetic_run):
    result, out = synthetic_run
    claims = result.claims()
    assert len(claims) == len(result.spec.claims)
    assert set(claims.columns) >= {"value", "95 % CI", "resampled", "verdict", "why",
                                   "effbench's method / variant"}
    pred = claims[claims["analysis"] == "predictability"]
    assert (pred["verdict"] == "untestable").all()
    assert pred["why"].str.contains("analysis not in this experiment").all()
    measured = claims[claims["analysis"] == "transfer"]
    assert measured["resampled"].str.contains("models × devices").all()
    html = (out / "index.html").read_text()
    pngs = list(out.glob("*.png"))
    assert len(pngs) >= 5 and all(p.name in html for p in pngs)
    assert (out / "evidence.json").is_file()
    # provenance and the definitions of the compound measures
    for key in ("date", "effbench", "store snapshot"):
        assert key in result.provenance and result.provenance[key]
        assert result.provenance[key] in html
    assert html.index("FRM (FLOPs-Ratio-Memory)") < html.index("id='claims'")
    assert "NetScore" in html and "EDP" in html
    # every table is a CSV beside the HTML, linked from it, with all its rows
    csvs = sorted(p.name for p in out.glob("*.csv"))
    assert "claims.csv" in csvs and all(f"href='{name}'" in html for name in csvs)
    assert len(pd.read_csv(out / "claims.csv")) == len(claims)


def test_a_failing_analysis_leaves_its_claims_untestable_with_the_reason(tmp_path):
    from tests.helpers.analysis_data import synthetic_study

    spec = load_spec(PAPER)
    spec.analyses.clear()
    spec.analyses["disagreement"] = {"measures": ["flops"]}      # raises ValueError
    result = run_experiment(spec, data=synthetic_study(), log=False, report_dir=tmp_path)
    rows = result.claims().set_index("statistic")
    assert rows.loc["frm.cases", "verdict"] == "untestable"
    assert "analysis failed: ValueError" in rows.loc["frm.cases", "why"]
    assert get_analysis("disagreement").result.__name__ == "DisagreementResult"
