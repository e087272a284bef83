"""Commands: predict (being written)."""

from predictor.cli._app import app  # noqa: F401
