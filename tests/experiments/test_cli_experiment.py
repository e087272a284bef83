"""``effbench experiment run`` through the CLI: the claim table printed, bad specs exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


def _run(*args):
    from effbench.cli import app
    return CliRunner().invoke(app, ["experiment", "run", *args])


@pytest.mark.parametrize("text,message", [
    ("analyses: {nope: {}}", "unknown analysis"),
    ("analyses: {noise: {}}\nclaims: [{text: t, analysis: noise, statistic: s}]",
     "give exactly one of"),
])
def test_bad_spec_is_one_line_and_exit_2(tmp_path, text, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    res = _run(str(spec), "--store", str(tmp_path / "store"), "--no-mlflow")
    assert res.exit_code == 2, res.output
    assert message in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_experiment_run_prints_the_claim_table(real_store, tmp_path):
    spec = tmp_path / "small.yaml"
    spec.write_text(
        "name: small\n"
        "analyses: {runtime_stability: {n_boot: 30, leave_out_draws: 4}}\n"
        "claims:\n"
        "  - {text: Runtimes agree (ρ = 0.84), analysis: runtime_stability,\n"
        "     statistic: rho_all_runtime_pairs, claimed: 0.84, tolerance: 0.5}\n"
        "  - {text: ONNX agrees with torch, analysis: runtime_stability,\n"
        "     statistic: rho_onnx_torch, claimed: 0.984, tolerance: 0.02}\n")
    res = _run(str(spec), "--store", str(real_store.root), "--report-dir", str(tmp_path / "r"),
               "--no-mlflow")
    assert res.exit_code == 0, res.output
    assert "Runtimes agree" in res.output and "supported" in res.output
    assert "untestable" in res.output                      # no local torch/onnxruntime pair
    assert "store snapshot" in res.output
    assert (tmp_path / "r" / "claims.csv").is_file()
