"""The typer application and the one place where library errors become one-line messages."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup
from rich.console import Console

#: ``effbench --help`` lists commands in the order a user needs them, one panel per step.
WORKFLOW = {
    "1. Data": ("data", "store"),
    "2. Measure": ("collect", "features"),
    "3. Predict": ("predict", "evaluate", "train", "tune"),
    "4. Study and advise": ("experiment", "recommend", "run"),
    "5. Serve": ("ui", "server"),
}
_RANK = {name: (i, j) for i, names in enumerate(WORKFLOW.values()) for j, name in enumerate(names)}
PANEL = {name: title for title, names in WORKFLOW.items() for name in names}


class WorkflowGroup(TyperGroup):
    """Commands and command groups listed together in workflow order (typer lists groups after
    commands otherwise); a command not in ``WORKFLOW`` goes last."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(super().list_commands(ctx), key=lambda n: _RANK.get(n, (len(WORKFLOW), 0)))


app = typer.Typer(help="effbench: measure, import, predict and analyse image-classifier efficiency "
                       "across devices.", no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=WorkflowGroup)
# Rich falls back to 80 columns when output is not a terminal; tables logged to files or CI
# would then truncate their labels, so a pipe gets a wide console.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def quiet_third_parties(verbose: bool = False) -> None:
    """MLflow's INFO/WARNING lines and artifact progress bars, alembic's migrations and
    libraries' warnings clutter every ``run``/``train``/``evaluate``; they are shown with
    ``--verbose`` only."""
    import logging
    import os
    import warnings

    if verbose:
        logging.basicConfig(level=logging.INFO)
        return
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")  # mlflow resets its logger at import
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # reaches the worker subprocesses too
    for name in ("mlflow", "alembic", "urllib3", "git", "optuna", "matplotlib", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore")


def _version(value: bool) -> None:
    if value:
        from effbench import __version__

        console.print(f"effbench {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Show third-party log lines (MLflow, Optuna) and warnings."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """effbench: measure, import, predict and analyse image-classifier efficiency across devices."""
    quiet_third_parties(verbose)


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's input errors (ValueError subclasses, missing files) into one line + exit 2.

    Why: a user who passes a bad file should read what is wrong with it, not a traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
