"""``python -m predictor.cli`` is ``effbench``: for an interpreter without the console script, such
as a LiteRT environment layered on effbench's (see the README)."""

from predictor.cli import main

main()
