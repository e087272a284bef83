"""Declarative study definitions, shipped as package data so an installed effbench finds them."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The study effbench grew from: its analyses and the claims they test.
PAPER = Path(str(files(__name__) / "paper.yaml"))

__all__ = ["PAPER"]
