"""Turn a registry entry into the network that effbench actually measures.

Random-init timm models zero the last BatchNorm gamma of each residual block
(``zero_init_last``). Exporters and graph compilers (ONNX Runtime, OpenVINO,
TFLite, QNN) constant-fold such branches away, so a latency or operator count
taken on a freshly initialised model describes a smaller graph than the
pretrained network. ``randomize_batchnorm`` gives every normalisation layer
plausible, non-zero statistics so that nothing folds, while still never
downloading weights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:  # pragma: no cover - typing only
    from models_registry import ModelEntry

__all__ = ["fuses_for_inference", "prepare_model", "randomize_batchnorm", "reparameterize"]

#: The methods timm's blocks fuse themselves with (``timm.models.reparameterize_model``): a
#: module that has one runs a different, smaller graph at inference than it was built with.
_FUSE_METHODS = ("fuse", "reparameterize", "switch_to_deploy")

# BatchNorm and its relatives that carry an affine weight and/or running stats.
_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,  # BatchNorm1d/2d/3d, SyncBatchNorm, InstanceNorm (affine)
    nn.GroupNorm,
    nn.LayerNorm,
)


@torch.no_grad()
def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every normalisation layer random but plausible parameters, in place.

    - ``weight`` (gamma) ~ U(0.5, 1.5): strictly positive, so no branch is
      multiplied by zero and folded away by an exporter.
    - ``bias`` (beta) ~ N(0, 0.1).
    - ``running_mean`` ~ N(0, 0.1), ``running_var`` ~ U(0.5, 1.5): what a
      trained network's statistics look like, and never zero (no division blow-up).

    Applies to BatchNorm*, SyncBatchNorm, affine InstanceNorm, GroupNorm and
    LayerNorm (timm's subclasses included). Uses its own ``torch.Generator`` so
    the global RNG state is left untouched. Returns ``model`` for chaining.
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(t: torch.Tensor, lo: float, hi: float) -> None:
        t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float32).mul_(hi - lo).add_(lo))

    def normal(t: torch.Tensor, std: float) -> None:
        t.copy_(torch.randn(t.shape, generator=gen, dtype=torch.float32).mul_(std))

    for module in model.modules():
        if not isinstance(module, _NORM_TYPES):
            continue
        weight = getattr(module, "weight", None)
        bias = getattr(module, "bias", None)
        if isinstance(weight, torch.Tensor):
            uniform(weight, 0.5, 1.5)
        if isinstance(bias, torch.Tensor):
            normal(bias, 0.1)
        running_mean = getattr(module, "running_mean", None)
        running_var = getattr(module, "running_var", None)
        if isinstance(running_mean, torch.Tensor):
            normal(running_mean, 0.1)
        if isinstance(running_var, torch.Tensor):
            uniform(running_var, 0.5, 1.5)
    return model


def fuses_for_inference(model: nn.Module) -> bool:
    """Whether some block of ``model`` can fuse itself for inference (RepVGG, MobileOne,
    FastViT, RepViT, RepGhostNet, GhostNetV3, LeViT, TinyViT, EfficientViT-M, ...): it is
    built with training-time branches, and :func:`reparameterize` gives what is measured."""
    return any(hasattr(m, name) for m in model.modules() for name in _FUSE_METHODS)


@torch.no_grad()
def reparameterize(model: nn.Module) -> nn.Module:
    """The inference form of ``model``, in place: multi-branch training blocks fused into one
    convolution, conv + BatchNorm pairs folded (``timm.models.reparameterize_model``).

    Why: that is the network that is measured. timm's published benchmark runs fused models
    (its ``param_count`` is the fused one: repvgg_a2 25.5 M, not the 28.2 M it is built with;
    mobileone_s1 4.76 M, not 4.83 M), and a deployment fuses before it exports. Features of
    the unfused graph overstate a RepVGG's work and memory traffic several-fold (the
    cold-start predictor had it 1.6x too slow). A model without such blocks is returned as
    is. Needs real weights (the fused kernel is computed from them): not on ``meta``."""
    if not fuses_for_inference(model):
        return model
    from timm.models import reparameterize_model

    return reparameterize_model(model.eval(), inplace=True)


def _resolve(entry_or_name: Any) -> Any:
    """Accept a ``ModelEntry`` or any alias the registry knows."""
    if isinstance(entry_or_name, str):
        import models_registry  # local import: the registry imports heavy model code lazily too

        return models_registry.resolve(entry_or_name)
    return entry_or_name


def prepare_model(
    entry_or_name: ModelEntry | str,
    input_size: int | None = None,
    seed: int = 0,
) -> tuple[nn.Module, int]:
    """Build a model the way every local measurement sees it.

    Built through the registry with ``pretrained=False`` (nothing downloaded),
    switched to ``eval()``, with its normalisation layers randomised (see
    :func:`randomize_batchnorm`) and then in its inference form (:func:`reparameterize`).
    Returns ``(model, input_size)`` where ``input_size`` defaults to the entry's native
    resolution.
    """
    entry = _resolve(entry_or_name)
    model = entry.build(pretrained=False)
    model.eval()
    randomize_batchnorm(model, seed=seed)
    model = reparameterize(model)
    size = int(input_size) if input_size is not None else int(entry.input_size)
    return model, size
