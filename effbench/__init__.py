"""effbench, the application: the command line, the main job and the settings on top of the
library packages (``models_registry`` ← ``collectors`` ← ``predictor``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("effbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__"]
