"""Builders instantiate the declared network (random weights, nothing downloaded)."""

from __future__ import annotations

import pytest

import models_registry as mr

pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["mobilevit_xxs", "squeezenet1_1"])
def test_build_matches_declared_parameter_count(name: str) -> None:
    entry = mr.resolve(name)
    module = entry.build(pretrained=False)
    params_m = sum(p.numel() for p in module.parameters()) / 1e6
    assert params_m == pytest.approx(entry.params_m, rel=0.01)
