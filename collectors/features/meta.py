"""Build and trace a model on the ``meta`` device: shapes without data.

Why: the static features depend on tensor shapes only, yet a real CPU trace
pays for random weight initialisation (seconds for a ViT-L) and a full forward
pass (minutes for a 1 TFLOP network on two cores). On ``meta`` both are free,
which is what makes tracing all ~1,400 timm architectures an afternoon's job
rather than a day's. Two things need care:

- timm constructors compute small tensors eagerly (``torch.linspace(...)
  .tolist()`` for drop-path rates, relative-position indices) and read them
  back; under ``with torch.device("meta")`` that raises. :func:`build_on_meta`
  puts only the *uninitialised* allocations (``torch.empty``, what every
  ``nn.Linear``/``nn.Conv2d`` allocates its weight with) on ``meta`` and
  everything else on CPU, then moves the model to ``meta``.
- ``F.scaled_dot_product_attention`` on ``meta`` takes the math fallback
  (matmul + softmax, N² bytes materialised) whereas on CPU it runs the fused
  flash kernel. :func:`cpu_like_attention` routes meta calls to the CPU flash
  kernel's meta implementation, so the op records match a CPU trace.

Anything else that differs (a forward that builds a CPU tensor without a
``device=``, data-dependent shapes) fails on ``meta``; the caller then traces on
CPU (:mod:`collectors.features.trace` does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["build_on_meta", "cpu_like_attention"]

_EMPTY_FACTORIES = frozenset({torch.empty, torch.empty_strided})


class _EmptyOnMeta(TorchFunctionMode):
    """``torch.empty``/``empty_strided`` without an explicit device allocate on meta."""

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in _EMPTY_FACTORIES and kwargs.get("device") is None:
            kwargs = {**kwargs, "device": "meta"}
        return func(*args, **kwargs)


def build_on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` with its weight allocations on ``meta``, then the whole model
    moved to ``meta`` (small eagerly computed CPU buffers included), in eval mode.
    Initialisers run on meta tensors and do nothing, so no time is spent there."""
    with _EmptyOnMeta():
        model = build()
    return model.to("meta").eval()


@contextlib.contextmanager
def cpu_like_attention() -> Iterator[None]:
    """Within the block, ``F.scaled_dot_product_attention`` on meta tensors calls
    ``aten._scaled_dot_product_flash_attention_for_cpu`` (what CPU dispatches
    to); other devices, and calls that kernel rejects, go through unchanged."""
    original = F.scaled_dot_product_attention
    flash = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)

    def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kw):
        # the CPU flash kernel takes (batch, heads, tokens, dim); CPU runs anything else (3-D
        # inputs, grouped-query attention) through the math fallback, and so does this
        if (flash is not None and query.device.type == "meta" and query.dim() == 4 and key.dim() == 4
                and not kw.get("enable_gqa")):
            try:
                return flash(query, key, value, dropout_p, is_causal, attn_mask=attn_mask, scale=scale)[0]
            except Exception:  # noqa: BLE001 - a shape the kernel rejects: as CPU would, fall back
                pass
        return original(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                        scale=scale, **kw)

    F.scaled_dot_product_attention = sdpa
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original
