"""One forward pass → every static feature of a model at one input size."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from collectors.features.categories import CATEGORIES, CATEGORY_STATS, CONSTANT
from collectors.features.flops import ATTENTION_FLOP_FORMULAS, OpRecord, OpRecorder
from collectors.features.gemm import gemm_summary
from collectors.features.roofline import roofline_summary
from collectors.features.layers import category_table, layer_table, ops_frame

__all__ = ["FeatureError", "ModelFeatures", "compute_features", "trace_ops", "weight_bytes"]


class FeatureError(ValueError):
    """A model cannot be traced at the requested input (one line naming the model and size)."""


@dataclass
class ModelFeatures:
    """Static cost features of one model at one input size and batch size.

    - ``flops``: FlopCounterMode's total with the CPU attention formula added
      (2 per multiply-accumulate in conv, matmul, attention; 0 for
      elementwise ops). ``macs = flops // 2``.
    - ``flops_flopcounter_raw``: FlopCounterMode's total without that formula
      (what it reports out of the box on CPU; lower for attention models).
    - ``params``: number of distinct parameters.
    - ``weight_bytes``: bytes of all distinct parameters and buffers.
    - ``activation_bytes``: bytes written by the aten ops of the forward pass
      that read the image (not only leaf modules): every freshly allocated output,
      plus the tensor an in-place op overwrites; views/aliases write nothing. Ops
      computed from the weights alone (category ``constant``) write no activations:
      they are counted in their own category, and left out of the GEMM geometry and
      the roofline sums too (not per-image work: see ``categories.CONSTANT``).
    - ``arithmetic_intensity = flops / (weight_bytes + activation_bytes)``.
    - ``layers``: per-module table (see :func:`layers.layer_table`);
      ``categories``: per-category aggregates; ``ops``: every aten op call.
    """

    model: str
    input_size: int
    batch_size: int
    flops: int
    flops_flopcounter_raw: int
    params: int
    weight_bytes: int
    activation_bytes: int
    layers: pd.DataFrame = field(repr=False)
    categories: pd.DataFrame = field(repr=False)
    ops: pd.DataFrame = field(repr=False)

    @property
    def macs(self) -> int:
        return self.flops // 2

    @property
    def arithmetic_intensity(self) -> float:
        denom = self.weight_bytes + self.activation_bytes
        return self.flops / denom if denom else float("nan")

    def to_row(self) -> dict[str, object]:
        """Flat dict for the ``features`` table: totals, then ``flops_<cat>``,
        ``count_<cat>``, ``bytes_<cat>``, ``reads_<cat>`` for every category (0 when absent), then the
        GEMM geometry (:data:`collectors.features.gemm.GEMM_COLUMNS`), the per-operator roofline
        sums (:data:`collectors.features.roofline.ROOFLINE_COLUMNS`) and the bytes under CUDA
        autocast (:data:`collectors.features.amp.AMP_COLUMNS`)."""
        row: dict[str, object] = {
            "model": self.model,
            "input_size": self.input_size,
            "batch_size": self.batch_size,
            "flops": self.flops,
            "macs": self.macs,
            "params": self.params,
            "activation_bytes": self.activation_bytes,
            "weight_bytes": self.weight_bytes,
            "arithmetic_intensity": self.arithmetic_intensity,
            "flops_flopcounter_raw": self.flops_flopcounter_raw,
            "n_ops": int(len(self.ops)),
        }
        for stat in CATEGORY_STATS:
            for cat in CATEGORIES:
                row[f"{stat}_{cat}"] = int(self.categories.at[cat, stat])
        ops = per_image(self.ops)
        row.update(gemm_summary(zip(ops["flops"], ops["gemm_m"], ops["gemm_n"], ops["gemm_k"])))
        row.update(roofline_summary(zip(ops["flops"], ops["in_bytes"] + ops["out_bytes"], ops["weight_bytes"],
                                        ops["amp_in_bytes"] + ops["amp_out_bytes"])))
        row["amp_activation_bytes"] = int(ops["amp_out_bytes"].sum())
        row["amp_reads"] = int(ops["amp_in_bytes"].sum())
        return row

    def summary(self) -> str:
        """Short text report: totals and the non-empty categories."""
        lines = [
            f"{self.model} @ {self.input_size}px, batch {self.batch_size}",
            f"  GMACs {self.macs / 1e9:.3f}  (GFLOPs {self.flops / 1e9:.3f}; FlopCounterMode raw "
            f"{self.flops_flopcounter_raw / 2e9:.3f} GMACs)",
            f"  params {self.params / 1e6:.2f} M  weights {self.weight_bytes / 2**20:.1f} MiB  "
            f"activations {self.activation_bytes / 2**20:.1f} MiB  "
            f"intensity {self.arithmetic_intensity:.1f} FLOP/B",
            f"  {'category':<15}{'ops':>7}{'GMACs':>9}{'MiB':>9}{'FLOP/B':>9}",
        ]
        for cat, r in self.categories.iterrows():
            if r["count"] == 0:
                continue
            lines.append(
                f"  {cat:<15}{int(r['count']):>7}{r['macs'] / 1e9:>9.3f}{r['bytes'] / 2**20:>9.2f}"
                f"{r['arithmetic_intensity']:>9.1f}"
            )
        return "\n".join(lines)


def per_image(ops: pd.DataFrame) -> pd.DataFrame:
    """The ops that read the image (every category but ``constant``)."""
    return ops[ops["category"] != CONSTANT]


def weight_bytes(model: nn.Module) -> int:
    """Bytes of all distinct parameters and buffers (shared tensors once)."""
    seen: dict[int, int] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        seen[id(t)] = t.nbytes
    return sum(seen.values())


def trace_ops(model: nn.Module, *inputs: torch.Tensor) -> tuple[int, int, list[OpRecord]]:
    """Run ``model(*inputs)`` in eval mode without grad under FlopCounterMode
    (with :data:`ATTENTION_FLOP_FORMULAS`) and :class:`OpRecorder`.

    Returns ``(flops, flops_flopcounter_raw, records)``: FlopCounterMode's
    total FLOPs (2·MACs), the same without the attention formulas, and one
    :class:`OpRecord` per aten op. ``sum(r.flops for r in records) == flops``.
    """
    model.eval()
    # FlopCounterMode's module tracker hooks the autograd graph of inputs that require grad;
    # a parameter handed straight to a submodule (timm's attention-pool latent) then trips it
    grads = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in grads:
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            with FlopCounterMode(display=False, custom_mapping=ATTENTION_FLOP_FORMULAS) as fcm:
                with OpRecorder(model, fcm.flop_registry) as rec:
                    rec.mark_input(*inputs)
                    model(*inputs)
    finally:
        for p, flag in grads:
            p.requires_grad_(flag)
    global_counts = fcm.get_flop_counts().get("Global", {})
    total = int(sum(global_counts.values()))
    raw = int(sum(v for k, v in global_counts.items() if k not in ATTENTION_FLOP_FORMULAS))
    return total, raw, rec.records


def _model_device(model: nn.Module) -> torch.device:
    """Where the model's weights live (CPU for a parameterless module)."""
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")


def compute_features(
    model: nn.Module,
    input_size: int,
    batch_size: int = 1,
    model_id: str | None = None,
) -> ModelFeatures:
    """Run one eval-mode, no-grad forward pass on a random
    ``batch×3×size×size`` input through :func:`trace_ops` and derive every
    feature from its op records.

    FlopCounterMode returns FLOPs, i.e. 2·MACs for matmul and convolution;
    ``ModelFeatures.macs`` halves it. The model is put in eval mode (and left
    there); its weights are not changed — randomise BatchNorm beforehand with
    :func:`collectors.modelprep.randomize_batchnorm` if that matters.

    A model on the ``meta`` device (see :mod:`collectors.features.meta`) is
    traced on shapes alone, 10-20x faster and without allocating anything;
    attention then dispatches as it does on CPU (``cpu_like_attention``), so
    both traces give the same row.
    """
    name = model_id or type(model).__name__
    if int(input_size) < 1 or int(batch_size) < 1:
        raise FeatureError(f"{name}: input_size and batch_size must be >= 1, got {input_size}, {batch_size}")
    x = torch.randn(batch_size, 3, input_size, input_size, generator=torch.Generator().manual_seed(0))
    device = _model_device(model)
    try:
        if device.type == "meta":
            from collectors.features.meta import cpu_like_attention

            with cpu_like_attention():
                total, raw, records = trace_ops(model, x.to(device))
        else:
            total, raw, records = trace_ops(model, x)
    except (RuntimeError, AssertionError, ValueError, TypeError, NotImplementedError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FeatureError(f"{name}: forward pass at {input_size}px failed: {detail}") from exc
    ops = ops_frame(records)
    params = sum({id(p): p.numel() for p in model.parameters()}.values())
    return ModelFeatures(
        model=name,
        input_size=int(input_size),
        batch_size=int(batch_size),
        flops=total,
        flops_flopcounter_raw=raw,
        params=int(params),
        weight_bytes=int(weight_bytes(model)),
        activation_bytes=int(per_image(ops)["out_bytes"].sum()),
        layers=layer_table(ops, model),
        categories=category_table(ops),
        ops=ops,
    )
