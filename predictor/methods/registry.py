"""The method registry: each transfer method is declared once, where it is defined.

Why a decorator registry (as timm registers models): the CLI's help, ``auto``'s candidates, the
evaluation's "all" and the tuning spaces are all derived from these declarations, so adding a
method is one decorator and never a fifth list to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: name -> estimator class (the public, historical view of the registry)
METHODS: dict[str, type] = {}
#: name -> full declaration
SPECS: dict[str, MethodSpec] = {}


@dataclass(frozen=True)
class MethodSpec:
    """One registered method: its class, fixed parameters (a *variant* of a class, such as the
    plain single-source KRT baseline, is a class plus parameters), and what the rest of
    effbench needs to know about it."""

    name: str
    cls: type
    params: dict[str, Any] = field(default_factory=dict)
    #: pre-trains on the sources (``fit_source``): saved once per source set
    pretrains: bool = False
    #: a learned regressor on top of the similarity ensemble
    learned: bool = False
    #: among ``auto``'s candidates
    auto: bool = True
    #: one line for ``--help`` and the README
    summary: str = ""
    #: Optuna search space: ``space(trial) -> params``
    space: Callable[[Any], dict[str, Any]] | None = None

    def make(self, **params: Any) -> Any:
        return self.cls(**{**self.params, **params})


class UnknownMethod(ValueError):
    """A method name not in the registry, or a saved method that cannot be read back."""


def register_method(name: str, *, params: dict[str, Any] | None = None, pretrains: bool = False,
                    learned: bool = False, auto: bool = True, summary: str = "",
                    space: Callable[[Any], dict[str, Any]] | None = None):
    """Class decorator: declare ``name`` as a transfer method (stackable for variants)."""

    def decorate(cls: type) -> type:
        if name in SPECS and SPECS[name].cls is not cls:
            raise ValueError(f"method {name!r} is already registered by {SPECS[name].cls.__name__}")
        text = summary or ((cls.__doc__ or "").strip().splitlines() or [""])[0]
        SPECS[name] = MethodSpec(name, cls, dict(params or {}), pretrains, learned, auto, text, space)
        METHODS.setdefault(name, cls)
        return cls

    return decorate


def method_names(*, auto_only: bool = False, learned_only: bool = False) -> list[str]:
    """Registered names in declaration order, optionally only ``auto`` candidates / learned."""
    return [n for n, s in SPECS.items()
            if (not auto_only or s.auto) and (not learned_only or s.learned)]


def make_method(name: str, **params: Any) -> Any:
    try:
        spec = SPECS[name]
    except KeyError:
        raise UnknownMethod(f"unknown method {name!r}; choose one of {', '.join(SPECS)}") from None
    return spec.make(**params)


def method_help() -> str:
    """``auto|name|…`` for a CLI option's help text."""
    return "auto|" + "|".join(SPECS)


__all__ = ["METHODS", "MethodSpec", "SPECS", "UnknownMethod", "make_method", "method_help",
           "method_names", "register_method"]
