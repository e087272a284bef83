"""Which networks a campaign measures, and how a worker builds one.

A model argument is a registry name (``resnet50``), a set or comma list that
``models_registry.model_set`` understands (``seed13``, ``resnet18,resnet50``), or a
``path/to/file.py:function`` that returns an ``nn.Module`` — the way to measure a network the
registry does not declare (and how the tests build models that crash, hang or refuse to export).
The campaign process resolves names without importing torch; only the worker builds.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any


#: Input side for ``file.py:function`` models when ``collect`` is given no ``input_size``.
DEFAULT_FILE_INPUT_SIZE = 224


class UnknownModelSpecError(ValueError):
    """A model argument that is neither a registry name/set nor an existing ``file.py:function``."""


@dataclass(frozen=True)
class ModelSpec:
    """One network to measure: stored under ``id``; ``ref`` is what the worker builds from."""

    id: str
    ref: str
    family: str | None
    input_size: int | None

    @property
    def is_file(self) -> bool:
        return is_file_ref(self.ref)


def is_file_ref(text: str) -> bool:
    path, sep, func = text.rpartition(":")
    return bool(sep) and path.endswith(".py") and bool(func)


def _file_spec(text: str) -> ModelSpec:
    path, _, func = text.rpartition(":")
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise UnknownModelSpecError(f"model {text!r}: file {file} does not exist")
    return ModelSpec(id=func, ref=f"{file}:{func}", family=None, input_size=DEFAULT_FILE_INPUT_SIZE)


def resolve_models(models: str | list[str]) -> list[ModelSpec]:
    """Expand set names, comma lists and file builders into distinct :class:`ModelSpec`s, in order."""
    tokens = [models] if isinstance(models, str) else list(models)
    specs: dict[str, ModelSpec] = {}
    for token in tokens:
        token = token.strip()
        if not token:
            continue
        if is_file_ref(token):
            spec = _file_spec(token)
            specs.setdefault(spec.id, spec)
            continue
        if "," in token:  # a comma list may mix registry names with file builders
            for spec in resolve_models(token.split(",")):
                specs.setdefault(spec.id, spec)
            continue
        import models_registry

        try:
            entries = models_registry.model_set(token)  # a set name or a single model name
        except ValueError as exc:  # UnknownModelError: one line naming close matches
            raise UnknownModelSpecError(str(exc)) from None
        for entry in entries:
            specs.setdefault(entry.id, ModelSpec(entry.id, entry.id, entry.family, int(entry.input_size)))
    if not specs:
        raise UnknownModelSpecError(f"no models in {models!r}")
    return list(specs.values())


def input_size_of(ref: str, input_size: int | None) -> int:
    """The resolution a model is measured at, without building it: the one asked for, else the
    registry entry's native one (a file builder's default for ``path.py:fn``)."""
    if input_size is not None:
        return int(input_size)
    if is_file_ref(ref):
        return DEFAULT_FILE_INPUT_SIZE
    import models_registry

    return int(models_registry.resolve(ref).input_size)


def build_model(ref: str, input_size: int | None) -> tuple[Any, int]:
    """Build ``(nn.Module in eval mode, input size)``; runs in the worker only."""
    if is_file_ref(ref):
        path, _, func = ref.rpartition(":")
        module_spec = importlib.util.spec_from_file_location(f"effbench_user_{Path(path).stem}", path)
        if module_spec is None or module_spec.loader is None:
            raise UnknownModelSpecError(f"model {ref!r}: cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        model = getattr(module, func)()
        model.eval()
        return model, int(input_size or DEFAULT_FILE_INPUT_SIZE)
    from collectors.modelprep import prepare_model

    return prepare_model(ref, input_size=input_size)


__all__ = ["ModelSpec", "UnknownModelSpecError", "build_model", "input_size_of", "is_file_ref",
           "resolve_models"]
