"""The typer application and the one place where library errors become one-line messages."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(help="effbench: measure, import, predict and analyse image-classifier efficiency "
                       "across devices.", no_args_is_help=True, pretty_exceptions_enable=False)
# Rich falls back to 80 columns when output is not a terminal; tables logged to files or CI
# would then truncate their labels, so a pipe gets a wide console.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


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
