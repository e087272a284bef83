"""Runtime adapters: how each inference engine loads a model and runs it once.

An adapter turns ``(build, settings)`` into a :class:`Session` — a ``run_once`` and a ``sync``
for :func:`collectors.local.timing.measure`, a ``memory`` probe and the precision actually used.
Adapters hold no timing loop and no statistics (those live in ``timing.py``), so adding a runtime
means writing one ``load``. Heavy libraries are imported inside ``load`` only: the campaign
process that merely plans runs never imports them. ``build()`` returns the PyTorch module and is
called only by an adapter that needs it: ONNX Runtime and OpenVINO read a cached ONNX file and
then never import torch or timm, which saves a worker five to eight seconds of start-up.

Stored runtime names are :data:`RUNTIMES`; :func:`parse_runtimes` accepts the short forms of
:data:`ALIASES`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.local import memory
from collectors.local.onnx_export import export_onnx, onnx_path

RUNTIMES = ("pytorch-eager", "pytorch-compile", "onnxruntime", "openvino", "litert")
#: Every accepted spelling -> stored name (one table; lower-case keys).
ALIASES: dict[str, str] = {
    **{name: name for name in RUNTIMES},
    "torch": "pytorch-eager", "pytorch": "pytorch-eager", "eager": "pytorch-eager",
    "compile": "pytorch-compile", "torch-compile": "pytorch-compile", "inductor": "pytorch-compile",
    "ort": "onnxruntime", "onnx": "onnxruntime",
    "ov": "openvino",
    "tflite": "litert", "ai-edge-litert": "litert",
}
PRECISIONS = ("fp32", "fp16", "bf16")


class UnknownRuntimeError(ValueError):
    """A runtime name not in the alias table."""


class UnsupportedConfigError(RuntimeError):
    """This runtime cannot honour the requested settings here (recorded as a skip, not a failure)."""


def parse_runtimes(runtimes: str | list[str]) -> list[str]:
    """``"torch,ort,ov"`` or ``["torch", "ov"]`` -> stored names, in order, without duplicates."""
    tokens = runtimes.split(",") if isinstance(runtimes, str) else \
        [t for item in runtimes for t in str(item).split(",")]
    out: list[str] = []
    for token in (t.strip().lower() for t in tokens):
        if not token:
            continue
        if token not in ALIASES:
            raise UnknownRuntimeError(
                f"unknown runtime {token!r}; choose from {', '.join(RUNTIMES)} "
                f"(aliases: {', '.join(sorted(set(ALIASES) - set(RUNTIMES)))})")
        if ALIASES[token] not in out:
            out.append(ALIASES[token])
    if not out:
        raise UnknownRuntimeError(f"no runtime given in {runtimes!r}")
    return out


@dataclass
class Settings:
    """What a worker is asked to measure (all recorded)."""

    model_id: str
    input_size: int
    batch_size: int = 1
    threads: int = 1
    precision: str = "fp32"
    device: str = "cpu"  # "cpu" or "cuda"
    onnx_cache: str | None = None


@dataclass
class Session:
    run_once: Callable[[], object]
    sync: Callable[[], object]
    memory: Callable[[], memory.MemoryResult]
    precision_used: str
    info: dict[str, Any] = field(default_factory=dict)


def _no_sync() -> None:
    return None


class Runtime(ABC):
    """One inference engine. ``package`` is the distribution whose version is recorded."""

    name: str
    package: str
    #: (device, precision) pairs this runtime can measure at all.
    supported: frozenset[tuple[str, str]]

    def installed(self) -> bool:
        return importlib.util.find_spec(self.import_name) is not None

    @property
    def import_name(self) -> str:
        return self.package.replace("-", "_")

    def version(self) -> str:
        for dist in (self.package, f"{self.package}-gpu"):
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"

    def check(self, device: str, precision: str) -> str | None:
        """Why these settings cannot run (one line), or None when they can."""
        if not self.installed():
            return f"not installed: {self.package}"
        if (device, precision) not in self.supported:
            return f"unsupported: {self.name} does not run {precision} on {device}"
        return None

    @abstractmethod
    def load(self, build: Callable[[], Any], settings: Settings) -> Session: ...


def example_input(settings: Settings) -> Any:
    import torch

    gen = torch.Generator().manual_seed(0)
    return torch.randn(settings.batch_size, 3, settings.input_size, settings.input_size, generator=gen)


def example_array(settings: Settings, dtype: Any = None) -> Any:
    """The input as a NumPy array, for runtimes that never import torch (values do not matter
    for latency; the shape and dtype do)."""
    import numpy as np

    shape = (settings.batch_size, 3, settings.input_size, settings.input_size)
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32).astype(dtype or np.float32)


def _torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set by an import that ran parallel work
        pass


def _torch_setup(model: Any, settings: Settings) -> tuple[Any, Any]:
    _torch_threads(settings.threads)
    x = example_input(settings)
    if settings.device == "cuda":
        model, x = model.cuda(), x.cuda()
    if settings.precision == "fp16":
        model, x = model.half(), x.half()
    return model, x


def _torch_session(call: Callable[[], object], settings: Settings) -> Session:
    import torch

    def run_once() -> object:
        with torch.inference_mode():
            return call()

    if settings.device == "cuda":
        return Session(run_once, torch.cuda.synchronize, lambda: memory.cuda_peak(run_once),
                       settings.precision, {"timer": "perf_counter_ns+cuda.synchronize"})
    return Session(run_once, _no_sync, lambda: memory.torch_profiler_peak(run_once), settings.precision)


class TorchEager(Runtime):
    name = "pytorch-eager"
    package = "torch"
    supported = frozenset({("cpu", "fp32"), ("cuda", "fp32"), ("cuda", "fp16")})

    def load(self, build: Callable[[], Any], settings: Settings) -> Session:
        model, x = _torch_setup(build(), settings)
        return _torch_session(lambda: model(x), settings)


class TorchCompile(Runtime):
    name = "pytorch-compile"
    package = "torch"
    supported = TorchEager.supported

    def load(self, build: Callable[[], Any], settings: Settings) -> Session:
        import torch

        model, x = _torch_setup(build(), settings)
        compiled = torch.compile(model)
        session = _torch_session(lambda: compiled(x), settings)
        session.run_once()  # compile now, so neither memory nor warm-up sees the compiler
        session.sync()
        if settings.device == "cpu":  # the profiler cannot see inside compiled graphs' buffers
            session.memory = lambda: memory.rss_hwm_delta(session.run_once)
        return session


def _onnx_file(build: Callable[[], Any], settings: Settings, precision: str) -> Path:
    """The cached ONNX file; the model is built (and torch imported) only to export it."""
    path = onnx_path(settings.model_id, settings.input_size, settings.batch_size, precision,
                     settings.onnx_cache)
    if path.is_file():
        return path
    import torch

    model = build()
    x = example_input(settings)
    if precision == "fp16":
        model, x = model.half(), x.half()
    if settings.device == "cuda" and precision == "fp16":  # fp16 convolutions need a GPU to trace
        model, x = model.cuda(), x.cuda()
    with torch.no_grad():
        return export_onnx(model, x, path)


class OnnxRuntime(Runtime):
    name = "onnxruntime"
    package = "onnxruntime"
    supported = frozenset({("cpu", "fp32"), ("cuda", "fp32"), ("cuda", "fp16")})

    def check(self, device: str, precision: str) -> str | None:
        reason = super().check(device, precision)
        if reason is None and device == "cuda":
            import onnxruntime as ort

            if "CUDAExecutionProvider" not in ort.get_available_providers():
                return "unsupported: onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
        return reason

    def load(self, build: Callable[[], Any], settings: Settings) -> Session:
        import numpy as np

        if settings.device == "cuda":
            # onnxruntime-gpu's CUDA EP links against the CUDA/cuDNN libraries that torch's wheels
            # ship; importing torch first loads them (as every worker did before ONNX workers
            # stopped importing torch on CPU)
            import torch  # noqa: F401
        import onnxruntime as ort

        path = _onnx_file(build, settings, settings.precision)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = settings.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.enable_profiling = True  # for the memory probe; stopped after the first inference
        opts.profile_file_prefix = str(Path(tempfile.gettempdir()) / f"effbench-ort-{os.getpid()}")
        providers = ["CUDAExecutionProvider"] if settings.device == "cuda" else ["CPUExecutionProvider"]
        sess = ort.InferenceSession(str(path), opts, providers=providers)
        if sess.get_providers()[0] != providers[0]:  # ORT silently falls back to CPU when CUDA fails
            raise RuntimeError(f"{providers[0]} did not load (session runs on {sess.get_providers()})")
        dtype = np.float16 if settings.precision == "fp16" else np.float32
        x = example_array(settings, dtype)
        name = sess.get_inputs()[0].name
        if settings.device == "cuda":
            binding = sess.io_binding()
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0))
            binding.bind_output(sess.get_outputs()[0].name, "cuda")

            def run_once() -> object:
                return sess.run_with_iobinding(binding)
        else:
            feeds = {name: x}

            def run_once() -> object:
                return sess.run(None, feeds)

        def probe() -> memory.MemoryResult:
            rss = memory.rss_hwm_delta(run_once)
            profile = sess.end_profiling()
            found = memory.ort_profile_peak(profile)
            Path(profile).unlink(missing_ok=True)
            return found or rss

        return Session(run_once, _no_sync, probe, settings.precision,
                       {"providers": sess.get_providers(), "onnx_file": path.name})


_OV_PRECISION = {"float32": "fp32", "f32": "fp32", "bf16": "bf16", "bfloat16": "bf16",
                 "float16": "fp16", "f16": "fp16"}


def openvino_precision(value: object) -> str:
    """OpenVINO's ``<Type: 'float32'>`` (or ``f32``) -> ``fp32``."""
    text = str(value)
    match = re.search(r"'([^']+)'", text)
    key = (match.group(1) if match else text).lower()
    return _OV_PRECISION.get(key, key)


class OpenVino(Runtime):
    name = "openvino"
    package = "openvino"
    supported = frozenset({("cpu", "fp32"), ("cpu", "bf16")})

    def load(self, build: Callable[[], Any], settings: Settings) -> Session:
        import openvino as ov

        path = _onnx_file(build, settings, "fp32")
        core = ov.Core()
        hint = {"fp32": "f32", "bf16": "bf16"}[settings.precision]
        compiled = core.compile_model(core.read_model(str(path)), "CPU", {
            "INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": settings.threads,
            "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1})
        used = openvino_precision(compiled.get_property("INFERENCE_PRECISION_HINT"))
        if used != settings.precision:
            raise UnsupportedConfigError(
                f"unsupported: OpenVINO asked for {settings.precision} used {used} on this CPU")
        request = compiled.create_infer_request()
        x = example_array(settings)

        def run_once() -> object:
            return request.infer({0: x})

        return Session(run_once, _no_sync, lambda: memory.rss_hwm_delta(run_once), used,
                       {"ov_inference_precision": str(compiled.get_property("INFERENCE_PRECISION_HINT")),
                        "ov_threads": int(compiled.get_property("INFERENCE_NUM_THREADS"))})


class LiteRT(Runtime):
    """LiteRT (TFLite) through ``litert-torch`` conversion; an optional extra."""

    name = "litert"
    package = "ai-edge-litert"
    supported = frozenset({("cpu", "fp32")})

    def installed(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in ("ai_edge_litert", "litert_torch"))

    def check(self, device: str, precision: str) -> str | None:
        if not self.installed():
            return "not installed: ai-edge-litert + litert-torch (optional extra)"
        return super().check(device, precision)

    def load(self, build: Callable[[], Any], settings: Settings) -> Session:  # pragma: no cover - optional extra
        import litert_torch
        from ai_edge_litert.interpreter import Interpreter

        x = example_input(settings)
        path = Path(str(onnx_path(settings.model_id, settings.input_size, settings.batch_size, "fp32",
                                  settings.onnx_cache)).replace(".onnx", ".tflite"))
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            litert_torch.convert(build(), (x,)).export(str(path))
        interp = Interpreter(model_path=str(path), num_threads=settings.threads)
        ready: list[bool] = []

        def run_once() -> object:
            # LiteRT plans its whole tensor arena in allocate_tensors(): done on the first call,
            # so that the RSS probe (which runs the first call) sees the working memory
            if not ready:
                interp.allocate_tensors()
                interp.set_tensor(interp.get_input_details()[0]["index"], x.numpy())
                ready.append(True)
            interp.invoke()
            return None

        return Session(run_once, _no_sync,
                       lambda: memory.rss_hwm_delta(run_once, method="rss-hwm-delta-incl-arena"),
                       "fp32", {"tflite_file": path.name})


REGISTRY: dict[str, Runtime] = {r.name: r for r in (TorchEager(), TorchCompile(), OnnxRuntime(),
                                                    OpenVino(), LiteRT())}


def get_runtime(name: str) -> Runtime:
    return REGISTRY[parse_runtimes(name)[0]]


__all__ = ["ALIASES", "PRECISIONS", "REGISTRY", "RUNTIMES", "Runtime", "Session", "Settings",
           "UnknownRuntimeError", "UnsupportedConfigError", "example_array", "example_input",
           "get_runtime", "openvino_precision", "parse_runtimes"]
