"""The importers' view of ``models_registry``: id, family and input size, never an exception.

A source may name a network the catalogue does not hold (a new timm architecture); its rows are
still measurements, so they keep the name as id and get the family the name patterns give (or
null). Lookups are cached: 40,000 rows name only a few thousand models.
"""

from __future__ import annotations

from functools import lru_cache

from models_registry import UnknownModelError, canonical_id, family_of, resolve


@lru_cache(maxsize=None)
def model_id(name: str) -> str:
    """Canonical id; for an unknown ``arch.tag`` the architecture's id (a checkpoint tag never
    makes a different network), for an unknown name the name itself."""
    try:
        return canonical_id(name)
    except UnknownModelError:
        return model_id(name.split(".", 1)[0]) if "." in name else name


@lru_cache(maxsize=None)
def family(name: str) -> str | None:
    try:
        return family_of(name)
    except UnknownModelError:
        return None


@lru_cache(maxsize=None)
def registry_input_size(name: str) -> int | None:
    try:
        return getattr(resolve(name), "input_size", None)
    except UnknownModelError:
        return None
