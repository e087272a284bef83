"""``python -m effbench.cli`` is ``effbench``: for an interpreter without the console script, such
as a LiteRT environment layered on effbench's (see the README)."""

from effbench.cli import main

main()
