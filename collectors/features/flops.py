"""Count FLOPs per aten op, with the module that issued it and its category.

Quantities, named once for the whole package:

- ``FLOPs`` are what ``torch.utils.flop_counter.FlopCounterMode`` returns:
  2 per multiply-accumulate for matmul, convolution and attention
  (``mm`` of (m×k)·(k×n) counts ``2·m·n·k``). Elementwise work, normalisation,
  activations and pooling count 0, exactly as in FlopCounterMode.
- ``MACs`` = FLOPs / 2. Published "GMACs" (timm's ``infer_gmacs``, papers'
  "FLOPs" for ResNet-50 = 4.1 G) are this number.

On CPU, ``F.scaled_dot_product_attention`` dispatches to
``aten._scaled_dot_product_flash_attention_for_cpu`` (or the math fallback),
which FlopCounterMode has no formula for, so it silently counts attention as
0. :data:`ATTENTION_FLOP_FORMULAS` adds one (QKᵀ plus AV, each 2·N²·d per head,
the same formula torch uses for the CUDA kernels); it is passed to
FlopCounterMode as ``custom_mapping``.

:class:`OpRecorder` is a ``TorchDispatchMode`` run *inside* FlopCounterMode: it
sees every aten op, computes its FLOPs with FlopCounterMode's own registry
(so the two totals cannot drift apart), and records which module issued it,
how many bytes it wrote and how many parameter bytes it read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import sdpa_flop_count

from collectors.features.amp import amp_itemsize
from collectors.features.categories import (
    ATTENTION_MODULE_PATTERN,
    IGNORED_OPS,
    OpContext,
    categorize_op,
    op_base_name,
)
from collectors.features.gemm import conv_gemm, matmul_gemm

__all__ = ["ATTENTION_FLOP_FORMULAS", "OpRecord", "OpRecorder", "gemm_dims", "sdpa_cpu_flop"]

aten = torch.ops.aten


def sdpa_cpu_flop(query_shape, key_shape, value_shape, *args: Any, out_shape=None, **kwargs: Any) -> int:
    """FLOPs of one scaled-dot-product attention call: ``QKᵀ`` (2·B·H·Nq·Nk·d)
    plus ``softmax(·)V`` (2·B·H·Nq·Nk·dv). Masks and causality are ignored
    (an upper bound), as in torch's own CUDA formula. Receives shapes, not
    tensors (FlopCounterMode wraps it with ``shape_wrapper``)."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _available(names: tuple[str, ...]) -> list[Any]:
    """Op packets that exist in this torch build (names vary across versions)."""
    return [getattr(aten, n) for n in names if hasattr(aten, n)]


# Attention kernels FlopCounterMode does not count (CPU flash, math fallback).
# The CUDA ones (_efficient, _flash, _cudnn) are already in torch's registry.
ATTENTION_FLOP_FORMULAS: dict[Any, Callable[..., int]] = {
    op: sdpa_cpu_flop
    for op in _available(
        (
            "_scaled_dot_product_flash_attention_for_cpu",
            "_scaled_dot_product_attention_math",
            "_scaled_dot_product_attention_math_for_mps",
            "_scaled_dot_product_fused_attention_overrideable",
        )
    )
}


@dataclass(frozen=True)
class OpRecord:
    """One executed aten op.

    ``out_bytes``: bytes of freshly written outputs (views and aliases of an
    input write nothing and count 0; in-place ops count the tensor they
    overwrite). ``weight_bytes``: bytes of model parameters/buffers among its
    inputs (0 for views). ``module``: dotted path of the innermost module whose
    ``forward`` was running ("" for the root model). ``in_bytes``: activation bytes read
    (every non-parameter input once; 0 for views). ``gemm_m``/``gemm_n``/``gemm_k``: the
    product's geometry (:mod:`collectors.features.gemm`) for ops with FLOPs, else 0.
    ``amp_out_bytes``/``amp_in_bytes``: ``out_bytes``/``in_bytes`` under CUDA autocast(fp16)
    (:mod:`collectors.features.amp`), while the recorder follows the input (else 0)."""

    module: str
    module_type: str
    op: str
    category: str
    flops: int
    out_bytes: int
    weight_bytes: int
    in_bytes: int = 0
    gemm_m: int = 0
    gemm_n: int = 0
    gemm_k: int = 0
    amp_out_bytes: int = 0
    amp_in_bytes: int = 0


def gemm_dims(func: Any, args: tuple[Any, ...], out: torch.Tensor | None) -> tuple[int, int, int]:
    """``(M, N, K)`` of a convolution, matrix product or attention op; ``(0, 0, 0)`` for an op
    whose operands this does not know how to read (its FLOPs still count everywhere else)."""
    name = func.overloadpacket.__name__
    try:
        if func.overloadpacket in (aten.convolution, aten._convolution) and len(args) >= 9 and out is not None:
            return conv_gemm(out.shape, args[1].shape, int(args[8]))
        if name in ("mm", "bmm"):
            return matmul_gemm(args[0].shape, args[1].shape)
        if name in ("addmm", "baddbmm", "_addmm_activation"):
            return matmul_gemm(args[1].shape, args[2].shape)
        if "scaled_dot_product" in name or name.startswith(("_flash_attention", "_efficient_attention")):
            query, key = args[0], args[1]
            return int(query.shape[-2]), int(key.shape[-2]), int(query.shape[-1])
    except (AttributeError, IndexError, TypeError):
        pass
    return 0, 0, 0


def _storage_ptr(t: torch.Tensor) -> int:
    """Identity of the storage behind ``t``: its StorageImpl address.

    Why not ``data_ptr()``: on the ``meta`` device (shape-only tracing, see
    :mod:`collectors.features.trace`) every storage has data pointer 0, so
    parameters and activations could not be told apart; the StorageImpl is
    shared by views and in-place results exactly like the data pointer is."""
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, AttributeError):  # sparse / opaque tensors have no storage
        return -1


class OpRecorder(TorchDispatchMode):
    """Record every aten op a model runs, attributed to the innermost module.

    Use inside ``FlopCounterMode`` and pass its ``flop_registry`` so the FLOPs
    per op are the ones FlopCounterMode counts::

        with FlopCounterMode(display=False, custom_mapping=ATTENTION_FLOP_FORMULAS) as fcm, \\
             OpRecorder(model, fcm.flop_registry) as rec:
            model(x)
        rec.records  # list[OpRecord]

    Module attribution uses forward pre-/post-hooks on every submodule
    (removed on exit), so a module called twice gets both calls' ops.

    Which ops read the image: the storages derived from the tensors given to
    :meth:`mark_input` are followed through every op (an output derives from the input when
    some operand does); an op with no such operand is categorised ``constant``. Without a
    marked input every op counts as reading it (the behaviour before inputs were followed).
    """

    def __init__(self, model: nn.Module, flop_registry: dict[Any, Callable[..., int]]) -> None:
        super().__init__()
        self.model = model
        self.flop_registry = flop_registry
        self.records: list[OpRecord] = []
        self._stack: list[tuple[str, nn.Module]] = [("", model)]
        self._handles: list[Any] = []
        self._param_ptrs = {
            _storage_ptr(t) for t in list(model.parameters()) + list(model.buffers()) if t.numel() > 0
        }
        self._param_ptrs.discard(0)
        self._param_ptrs.discard(-1)
        #: storages computed from the network's input; None: not followed
        self._from_input: set[int] | None = None
        #: bytes per element of each storage under CUDA autocast (collectors.features.amp)
        self._amp_size: dict[int, int] = {}
        #: every output while inputs are followed: a freed storage's address can be reused by
        #: a new one, which would inherit its history (free on ``meta``, where data is none; on
        #: CPU one image's activations, all of them at once)
        self._alive: list[torch.Tensor] = []

    def mark_input(self, *tensors: torch.Tensor) -> None:
        """The network's inputs: what every op derived from them reads (see class docstring)."""
        self._from_input = (self._from_input or set()) | {_storage_ptr(t) for t in tensors}
        self._alive.extend(tensors)

    # -- module tracking -------------------------------------------------------
    def _install_hooks(self) -> None:
        for name, module in self.model.named_modules():
            if module is self.model:
                continue

            def pre(mod: nn.Module, args: Any, _name: str = name) -> None:
                self._stack.append((_name, mod))

            def post(mod: nn.Module, args: Any, output: Any) -> None:
                if len(self._stack) > 1:
                    self._stack.pop()

            self._handles.append(module.register_forward_pre_hook(pre))
            self._handles.append(module.register_forward_hook(post, always_call=True))

    def __enter__(self) -> OpRecorder:
        self._install_hooks()
        return super().__enter__()

    def __exit__(self, *exc: Any) -> Any:
        try:
            return super().__exit__(*exc)
        finally:
            for h in self._handles:
                h.remove()
            self._handles.clear()
            self._alive.clear()

    # -- op recording -------------------------------------------------------------
    def _reads_input(self, in_tensors: list[torch.Tensor], out_tensors: list[torch.Tensor]) -> bool:
        """Whether some operand derives from the input; if so, so do the outputs. If not, the
        outputs are weights as far as later ops go (an NF-Net's standardised kernel is read by
        its convolution as a weight, not as an activation)."""
        if self._from_input is None:
            return True
        self._alive.extend(out_tensors)
        if not any(_storage_ptr(t) in self._from_input for t in in_tensors):
            self._param_ptrs.update(p for p in map(_storage_ptr, out_tensors) if p not in (0, -1))
            return False
        self._from_input.update(_storage_ptr(t) for t in out_tensors)
        return True

    def _amp_bytes(self, base: str, func: Any, in_tensors: list[torch.Tensor],
                   out_counted: list[torch.Tensor], out_tensors: list[torch.Tensor],
                   keeps_dtype: bool) -> tuple[int, int]:
        """(bytes written, activation bytes read) under CUDA autocast(fp16): each storage's
        simulated element size follows the autocast policy from the input on (see
        :mod:`collectors.features.amp`); (0, 0) while the input is not followed."""
        if self._from_input is None:
            return 0, 0

        def size(t: torch.Tensor) -> int:
            return self._amp_size.get(_storage_ptr(t), t.element_size())

        operands = list({id(t): t for t in in_tensors}.values())
        floats = [size(t) for t in operands if t.is_floating_point() and t.dim() > 0]
        item = amp_itemsize(base, floats, keeps_input_dtype=keeps_dtype)
        for t in out_tensors:
            if t.is_floating_point():
                self._amp_size[_storage_ptr(t)] = item
        written = sum(t.numel() * (item if t.is_floating_point() else t.element_size()) for t in out_counted)
        read = 0 if func.is_view else sum(t.numel() * size(t) for t in operands
                                          if _storage_ptr(t) not in self._param_ptrs)
        return int(written), int(read)

    def _context(self, func: Any, args: tuple[Any, ...], in_tensors: list[torch.Tensor],
                 reads_input: bool = True) -> OpContext:
        geometry = None
        if func.overloadpacket in (aten.convolution, aten._convolution) and len(args) >= 9:
            inp, weight, groups = args[0], args[1], args[8]
            geometry = (tuple(int(k) for k in weight.shape[2:]), int(groups), int(inp.shape[1]))
        has_param = any(_storage_ptr(t) in self._param_ptrs for t in in_tensors)
        # the root is left out: a model class named "...Attention..." says nothing about one op
        in_attention = any(ATTENTION_MODULE_PATTERN.search(type(m).__name__) for _, m in self._stack[1:])
        return OpContext(conv_geometry=geometry, has_parameter_operand=has_param, in_attention_module=in_attention,
                         reads_input=reads_input)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func.overloadpacket
        if packet.__name__ in IGNORED_OPS:
            return out

        in_tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        out_tensors = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if "batch_norm" in packet.__name__:
            # eval-mode batch norm returns (out, save_mean, save_invstd): empty on CPU, C-sized
            # on meta; they are never read at inference, so only ``out`` is counted
            out_tensors = out_tensors[:1]
        formula = self.flop_registry.get(packet)
        flops = int(formula(*args, **kwargs, out_val=out)) if formula is not None else 0

        mutable = func._schema.is_mutable
        in_ptrs = {_storage_ptr(t) for t in in_tensors}
        counted = [t for t in out_tensors if mutable or (_storage_ptr(t) not in in_ptrs and not func.is_view)]
        out_bytes = sum(t.nbytes for t in counted)
        aliasing = func.is_view or (out_tensors and all(_storage_ptr(t) in in_ptrs for t in out_tensors))
        weight_bytes = 0
        if not aliasing:
            seen: set[int] = set()
            for t in in_tensors:
                ptr = _storage_ptr(t)
                if ptr in self._param_ptrs and ptr not in seen:
                    seen.add(ptr)
                    weight_bytes += t.nbytes

        # activation bytes the op reads: every non-parameter input tensor once (a view
        # reads nothing; an in-place op reads what it overwrites)
        in_bytes = 0 if func.is_view else sum(
            t.nbytes for t in {id(t): t for t in in_tensors}.values() if _storage_ptr(t) not in self._param_ptrs)

        module_path, module = self._stack[-1]
        op_name = f"aten.{packet.__name__}"
        # the activation and weight bytes above are read before the op's outputs are filed
        base = op_base_name(op_name)
        amp_out, amp_in = self._amp_bytes(base, func, in_tensors, counted, out_tensors,
                                          keeps_dtype=bool(aliasing) or "batch_norm" in base)
        reads_input = self._reads_input(in_tensors, out_tensors)
        category = categorize_op(op_name, self._context(func, args, in_tensors, reads_input))
        m, n, k = gemm_dims(func, args, out_tensors[0] if out_tensors else None) if flops else (0, 0, 0)
        self.records.append(
            OpRecord(
                module=module_path,
                module_type=type(module).__name__,
                op=op_name,
                category=category,
                flops=flops,
                out_bytes=int(out_bytes),
                weight_bytes=int(weight_bytes),
                in_bytes=int(in_bytes),
                gemm_m=m,
                gemm_n=n,
                gemm_k=k,
                amp_out_bytes=amp_out,
                amp_in_bytes=amp_in,
            )
        )
        return out
