"""One registry of analyses, filled where each analysis is defined (as timm registers models).

``@register_analysis("transfer", result=TransferResult)`` on the analysis function declares its
name (what ``experiments/*.yaml`` use) and its result type in one place, so the function and
the type cannot drift apart the way two parallel dictionaries did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_REGISTRY: dict[str, "RegisteredAnalysis"] = {}


@dataclass(frozen=True)
class RegisteredAnalysis:
    name: str
    function: Callable
    result: type
    doc: str = ""

    def __call__(self, data, **params):
        return self.function(data, **params)


def register_analysis(name: str, *, result: type) -> Callable[[Callable], Callable]:
    """Decorator: register ``fn`` under ``name``, returning ``result`` objects."""
    def wrap(fn: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].function is not fn:
            raise ValueError(f"analysis '{name}' is registered twice "
                             f"({_REGISTRY[name].function.__module__} and {fn.__module__})")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = RegisteredAnalysis(name, fn, result, doc[0] if doc else "")
        return fn
    return wrap


def get_analysis(name: str) -> RegisteredAnalysis:
    if name not in _REGISTRY:
        raise KeyError(f"unknown analysis '{name}' (known: {', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[name]


def list_analyses() -> list[str]:
    return sorted(_REGISTRY)


__all__ = ["RegisteredAnalysis", "get_analysis", "list_analyses", "register_analysis"]
