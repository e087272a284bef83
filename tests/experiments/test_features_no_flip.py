"""Running ``effbench features`` for the seed models before the experiment changes no verdict.

The README tour traces the 13 seed models' operator features (FLOPs among them) into the store
before the study runs. That adds FLOPs for models the public data lacks (squeezenet1_1) and
replaces timm's published MACs by traced ones for the others: a handful of models out of 1,700.
A verdict that such a change flips was never a verdict — the claims' leave-a-few-models-out
check exists to make it inconclusive instead. This test runs the whole study (paper.yaml) on a
copy of the real store before and after the command, and compares every verdict.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow


def test_tracing_the_seed_models_changes_no_verdict(real_store, tmp_path):
    from collectors.store import copy_store
    from effbench.cli import app
    from effbench.experiment import load_spec, run_experiment
    from experiments import PAPER

    traced = copy_store(real_store, tmp_path / "traced")
    res = CliRunner().invoke(app, ["features", "--models", "seed13", "--store", str(tmp_path / "traced")])
    assert res.exit_code == 0, res.output
    features = traced.read("features")
    assert len(features) >= 13 and "squeezenet1_1" in set(features["model"])
    verdicts, ranked = {}, {}
    for name, store in (("before", real_store), ("after", traced)):
        result = run_experiment(load_spec(PAPER), store=store, log=False,
                                report_dir=tmp_path / name)
        assert not result.errors, result.errors
        verdicts[name] = result.claims().set_index("claim in the study")["verdict"]
        ranked[name] = set(result.results["disagreement"].cells["model"])
    changed = verdicts["before"][verdicts["before"] != verdicts["after"]]
    assert changed.empty, {c: (verdicts["before"][c], verdicts["after"][c]) for c in changed.index}
    # the traced FLOPs did reach the analyses: the test is not vacuous
    assert "squeezenet1_1" in ranked["after"] - ranked["before"]
    assert len(verdicts["after"]) == len(load_spec(PAPER).claims)
    # prediction on new hardware (forward) is the report's first analysis, references beside
    page = (tmp_path / "after" / "index.html").read_text(encoding="utf-8")
    sections = [page.index(f"<h2 id='{n}'>") for n in ("new_hardware", "disagreement")]
    assert sections == sorted(sections) and "retest" in page[sections[0]:sections[1]]
