"""The study definition runs end to end (synthetic data) and its claim table covers every claim."""

from pathlib import Path

import pytest

from effbench.experiment import ExperimentSpecError, load_spec, run_experiment

PAPER = Path(__file__).resolve().parents[2] / "experiments" / "paper.yaml"
CLAIMS = ["774 cases", "95.8 %", "~10 %", "Mann-Whitney", "Cohen's d", "FRM ρ = 0.956",
          "latency ρ = 0.746", "PyTorch", "FRM ρ = 0.961", "latency ρ = 0.582", "0.907",
          "standard CNNs 5.2", "transformers 23.4", "F1 = 0.87", "99.5 %", "KRT"]


def test_paper_spec_loads():
    spec = load_spec(PAPER)
    assert {"disagreement", "transfer", "pareto", "noise", "variance", "predictability",
            "runtime_stability"} <= set(spec.analyses)


@pytest.mark.parametrize("text,match", [("analyses: {nope: {}}", "unknown analysis"),
                                        ("[1, 2", "not valid YAML"),
                                        ("name: x", "key 'analyses'"),
                                        ("analyses: {noise: 3}", "must be a mapping")])
def test_bad_spec_is_one_clear_error(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ExperimentSpecError, match=match):
        load_spec(path)


def test_claim_table_has_every_claim_and_report_is_written(tmp_path):
    from _analysis_data import synthetic_study  # noqa: PLC0415 (tests/predictor helper)

    spec = load_spec(PAPER)
    spec.analyses.pop("predictability")     # needs the evaluation stack; covered by real-data test
    result = run_experiment(spec, data=synthetic_study(), log=False, report_dir=tmp_path)
    claims = result.claims()
    texts = " | ".join(claims["claim in the study"])
    for fragment in CLAIMS:
        assert fragment in texts, fragment
    assert set(claims.columns) >= {"value on public data", "95 % CI", "verdict",
                                   "command that produced it"}
    html = (tmp_path / "index.html").read_text()
    pngs = list(tmp_path.glob("*.png"))
    assert len(pngs) >= 5 and all(p.name in html for p in pngs)
    assert (tmp_path / "evidence.json").is_file()
