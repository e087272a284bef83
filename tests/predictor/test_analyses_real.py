"""The analyses on the real public data (AI Hub + timm): sane figures, not just "it runs"."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from predictor.analyses import (StudyData, cross_tier_transfer, flops_disagreement, noise_ceiling,
                                variance_decomposition)


@pytest.fixture(scope="module")
def study(real_store) -> StudyData:
    return StudyData.from_store(real_store)


def test_noise_ceiling_is_a_few_percent(study):
    r = noise_ceiling(study)
    e = r.estimates()
    # AI Hub re-profiles of one configuration: typically within a few percent of each other
    assert 0 < e["median_abs_log_ratio"].value < np.log(1.10)
    assert 0.5 < e["share_within_10pct"].value <= 1
    assert e["share_within_5pct"].value <= e["share_within_10pct"].value
    assert 0.5 < e["rank_stability_latency"].value <= 1
    assert (r.platforms["n_models"] >= 5).all() and len(r.platforms) >= 10
    assert {c.claim for c in r.claims()} and all(c.value is not None for c in r.claims())


def test_disagreement_finds_the_known_offenders(study):
    r = flops_disagreement(study, measures=("latency",))
    e = r.estimates()
    assert e["latency.cases"].value > 100
    assert 0 < e["latency.pair_decision_error"].value < 0.5
    worst = set(r.worst_cases(20)["model"])
    # depthwise/attention-heavy models run far slower than their FLOPs rank says
    assert worst & {"mobilenetv2_100", "efficientformerv2_s0", "efficientformerv2_s1",
                    "efficientformerv2_s2", "efficientformerv2_l"}
    levit = r.cells[r.cells["model"].str.startswith("levit")]
    if len(levit):   # LeViT, designed for throughput, runs faster than its FLOPs rank says
        assert (levit["measured_rank"] < levit["flops_rank"]).mean() > 0.5


def test_cross_tier_transfer_has_real_overlap(study):
    m = study.latency
    gpu = m.configs.index[m.configs["device_tier"] == "gpu"][:2]
    edge = m.configs.index[m.configs["device_tier"] == "edge"][:10]
    cols = list(gpu) + list(edge)
    sub = replace(study, latency=m.subset(configs=cols),
                  memory=study.memory.subset(configs=[c for c in cols if c in study.memory.values])
                  if study.memory is not None else None)
    r = cross_tier_transfer(sub)
    assert len(r.pairs) and (r.pairs["n_models"] >= 5).all()
    e = r.cell("gpu", "edge", "latency")
    assert e is not None and 0 < e.value <= 1 and e.low <= e.value <= e.high


def test_variance_shares_add_up(study):
    comp = variance_decomposition(study).components.set_index("scope")
    assert "overall" in comp.index and any(s.startswith("source") for s in comp.index)
    parts = comp[["model", "config", "residual"]].sum(axis=1)
    assert np.allclose(parts, 1.0)
    assert np.allclose(comp["noise"] + comp["interaction"], comp["residual"])
    assert (comp[["model", "config", "residual", "noise"]] >= -1e-9).all().all()
