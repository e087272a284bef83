"""randomize_batchnorm / prepare_model: the graph measured is the real one."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn

from collectors.modelprep import fuses_for_inference, prepare_model, randomize_batchnorm, reparameterize


def bn_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


def test_randomize_batchnorm_removes_zero_gammas_and_changes_outputs():
    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False).eval()
    # timm zero-initialises the last BN of each residual block: exporters would fold those branches
    assert any(bool((w == 0).all()) for w in bn_weights(model))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
    rng_state = torch.get_rng_state()
    assert randomize_batchnorm(model, seed=1) is model
    assert torch.equal(rng_state, torch.get_rng_state())  # global RNG untouched
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert (m.weight > 0).all() and (m.running_var > 0).all()
            assert not torch.equal(m.running_mean, torch.zeros_like(m.running_mean))
    with torch.no_grad():
        after = model(x)
    assert torch.isfinite(after).all()
    assert not torch.allclose(before, after)


def test_randomize_batchnorm_is_deterministic_per_seed():
    a = randomize_batchnorm(timm.create_model("resnet18", pretrained=False), seed=3)
    b = randomize_batchnorm(timm.create_model("resnet18", pretrained=False), seed=3)
    c = randomize_batchnorm(timm.create_model("resnet18", pretrained=False), seed=4)
    assert all(torch.equal(x, y) for x, y in zip(bn_weights(a), bn_weights(b), strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(bn_weights(a), bn_weights(c), strict=True))


def test_prepare_model_uses_registry_size_and_eval_mode():
    model, size = prepare_model("resnet18")
    assert size == 224 and not model.training
    assert all(bool((w != 0).all()) for w in bn_weights(model))
    _, size = prepare_model("resnet18", input_size=160)
    assert size == 160


def test_prepare_model_unknown_name_is_a_value_error():
    with pytest.raises(ValueError, match="no_such_net"):
        prepare_model("no_such_net")


def test_models_are_measured_and_traced_in_their_fused_inference_form():
    """timm's benchmark times RepVGG-style networks fused (its ``param_count`` is the fused
    one), so the trace describes the fused graph: fewer parameters, fewer FLOPs, and a
    network that computes the same function."""
    from collectors.features.trace import trace_target, _timm_target

    model = randomize_batchnorm(timm.create_model("repvgg_a0", pretrained=False).eval())
    assert fuses_for_inference(model)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        unfused = sum(p.numel() for p in model.parameters())
        fused = reparameterize(model)
        assert torch.allclose(fused(x), before, rtol=1e-3, atol=1e-3)
    params = sum(p.numel() for p in fused.parameters())
    assert params < unfused
    row = trace_target(_timm_target("repvgg_a0"), 64)
    assert row["traced_on"] == "meta-reparam" and row["params"] == params
    plain = trace_target(_timm_target("resnet10t"), 64)
    assert plain["traced_on"] == "meta"
    assert not fuses_for_inference(timm.create_model("resnet10t", pretrained=False))
