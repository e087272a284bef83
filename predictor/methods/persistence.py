"""Saving and loading a fitted transfer method: JSON (parameters + learned arrays) plus the
learned regressor in its own version-stable format (xgboost JSON, skops, coefficient JSON).
Never pickles. A module of its own so that a method made of other methods (``blend``) can save
its members without importing the package that registers it.
"""

from __future__ import annotations

from pathlib import Path

from predictor.methods.base import TransferMethod, dump_json, load_json
from predictor.methods.registry import METHODS, UnknownMethod

FORMAT_VERSION = 1


def save_method(est: TransferMethod, directory: Path) -> None:
    """Write ``method.json`` (+ the regressor's own file) into ``directory``. Never pickles."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cls = type(est)
    dump_json(directory / "method.json", {
        "format_version": FORMAT_VERSION, "class": f"{cls.__module__}.{cls.__qualname__}",
        "params": est.get_params(deep=False), "state": est.state()})
    est.save_extra(directory)


def load_method(directory: Path) -> TransferMethod:
    directory = Path(directory)
    path = directory / "method.json"
    if not path.exists():
        raise UnknownMethod(f"{path}: no saved method here")
    payload = load_json(path)
    allowed = {f"{c.__module__}.{c.__qualname__}": c for c in METHODS.values()}
    cls = allowed.get(payload.get("class"))
    if cls is None:
        raise UnknownMethod(f"{path}: class {payload.get('class')!r} is not an effbench transfer method")
    est = cls(**payload["params"])
    for key, value in payload["state"].items():
        setattr(est, key, value)
    est.load_extra(directory)
    return est



__all__ = ["FORMAT_VERSION", "load_method", "save_method"]
