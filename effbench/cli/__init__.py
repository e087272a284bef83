"""The ``effbench`` command line: thin commands over library functions.

Each command module registers its verbs on :data:`app`; heavy libraries (torch, mlflow, xgboost)
are imported inside the commands so that ``effbench --help`` and a prediction start quickly.
"""

from __future__ import annotations

from effbench.cli._app import PANEL, WORKFLOW, app, main
from effbench.cli import analyse, collect, data, predict  # noqa: F401  (registers commands)
from effbench.cli import server, tune  # noqa: F401  (registers commands)

def _arrange() -> None:
    """Put every registered command and group in its workflow panel (a command is declared
    once, in its own module; its panel is decided here, with the others)."""

    def name_of(info) -> str:
        return info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")

    for infos in (app.registered_commands, app.registered_groups):
        for info in infos:
            if name_of(info) in PANEL:
                info.rich_help_panel = PANEL[name_of(info)]


_arrange()

__all__ = ["WORKFLOW", "app", "main"]
