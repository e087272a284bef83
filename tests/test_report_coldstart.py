"""The report's cold-start section: the scores ``benchmarks/coldstart.py evaluate`` left in the
workspace, or one sentence saying how to make them (the main job never traces 1,700 models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from effbench.experiment import load_spec, run_experiment
from effbench.report import COLDSTART_DIR, COLDSTART_SCORES, coldstart_table
from predictor.coldstart import score_predictions

REPO = Path(__file__).resolve().parents[1]
TIMM = "RTX 4090|pytorch-eager|amp|nchw|torch 2.9.1 / cu128"
PHONES = ("Samsung Galaxy S24|tflite|float", "Google Pixel 8|tflite|float")


def _scores() -> pd.DataFrame:
    """Scores with the columns ``evaluate`` writes, from held-out predictions whose error
    grows from the operator features to the FLOPs-only baseline."""
    rng = np.random.default_rng(0)
    records = []
    for config in (TIMM, *PHONES):
        y = np.exp(rng.normal(0, 1, 60))
        for estimator, noise in (("operators", 0.05), ("metadata", 0.15), ("flops", 0.4)):
            for protocol in ("leave-family-out", "leave-models-out"):
                pred = y * np.exp(rng.normal(0, noise, len(y)))
                records.append(pd.DataFrame({
                    "protocol": protocol, "target": "stored", "fold": "f", "estimator": estimator,
                    "config": config, "model": [f"m{i}" for i in range(len(y))], "y_ms": y, "pred_ms": pred,
                    "low_ms": pred / 1.2, "high_ms": pred * 1.2}))
    scores = score_predictions(pd.concat(records, ignore_index=True), n_boot=20)
    scores.insert(4, "source", np.where(scores["config"] == TIMM, "timm", "aihub"))
    return scores


def _report(tmp_path, monkeypatch, scores: pd.DataFrame | None) -> str:
    from tests.helpers.analysis_data import synthetic_study

    home = tmp_path / "home"
    monkeypatch.setenv("EFFBENCH_HOME", str(home))
    if scores is not None:
        (home / COLDSTART_DIR).mkdir(parents=True)
        scores.to_csv(home / COLDSTART_DIR / COLDSTART_SCORES, index=False)
    spec = load_spec(REPO / "experiments" / "paper.yaml")
    spec.analyses.clear()
    run_experiment(spec, data=synthetic_study(), log=False, report_dir=tmp_path / "report")
    return (tmp_path / "report" / "index.html").read_text()


def test_coldstart_table_per_configuration_with_the_baselines_beside():
    scores = _scores()
    table = coldstart_table(scores)
    assert len(table) == 4  # 2 protocols × (the timm configuration, the AI Hub mean)
    assert set(table["configuration"]) == {TIMM, "AI Hub (mean of 2 configurations)"}
    row = table[(table["configuration"] == TIMM) & (table["protocol"] == "leave-family-out")].iloc[0]
    truth = scores[(scores["config"] == TIMM) & (scores["protocol"] == "leave-family-out")].set_index("estimator")
    assert row["operator features: within ±10 %"] == pytest.approx(truth.loc["operators", "within_10"])
    assert row["FLOPs only: Spearman"] == pytest.approx(truth.loc["flops", "spearman"])
    assert row["operator features: within ±10 %"] > row["timm metadata: within ±10 %"] > \
        row["FLOPs only: within ±10 %"]
    assert row["operator features: 95 % CI"].startswith("[") and row["n"] == 60
    assert "operator features: coverage" in table


def test_report_shows_the_cached_coldstart_scores(tmp_path, monkeypatch):
    html = _report(tmp_path, monkeypatch, _scores())
    assert "id='coldstart'" in html and "operator features: within ±10 %" in html
    assert "AI Hub (mean of 2 configurations)" in html and "href='coldstart-scores.csv'" in html
    assert len(pd.read_csv(tmp_path / "report" / "coldstart-scores.csv")) == 4


def test_report_without_coldstart_scores_says_how_to_make_them(tmp_path, monkeypatch):
    html = _report(tmp_path, monkeypatch, None)
    assert "id='coldstart'" in html and "No cold-start evaluation" in html
    assert "benchmarks/coldstart.py trace" in html and not (tmp_path / "report" / "coldstart-scores.csv").exists()
