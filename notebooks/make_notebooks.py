"""Write the study notebooks (``python notebooks/make_notebooks.py``); the .ipynb files are committed.

Why generated: the notebooks only call library functions, so keeping their source here (plain
Python, reviewed like code) avoids hand-edited JSON drifting from the API. Each notebook imports
only the timm results (seconds, not minutes) into a temporary store, runs one analysis, shows its
summary and one figure. ``tests/test_notebooks.py`` executes them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''%matplotlib inline
import sys, tempfile
from pathlib import Path

# the repository is the first folder upwards that holds predictor/; the data is beside it
REPO = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "predictor").is_dir())
sys.path.insert(0, str(REPO))
from collectors.importers import import_timm, public_data_root

DATA = public_data_root()
from collectors.store import ParquetStore
from predictor.analyses import StudyData

store = ParquetStore(Path(tempfile.mkdtemp(prefix="effbench-nb-")) / "store")
print(import_timm(DATA / "timm", store).summary())
data = StudyData.from_store(store)
print(data.latency.summary())'''

NOTEBOOKS = {
    "01_flops_fallacy.ipynb": [
        "# Do FLOPs rank models the way measured latency does?\n\n"
        "On each timm configuration (GPU and CPU), models are ranked by FLOPs and by measured "
        "latency (and by FRM, the FLOPs × latency × memory compound). A *case* is a model whose "
        "two ranks differ by ≥ 2 positions; the pairwise decision error is the share of model "
        "pairs where the lower-FLOPs model is the slower one. The full study (AI Hub edge devices "
        "too) is `effbench experiment run experiments/paper.yaml`.",
        SETUP,
        "from predictor.analyses import flops_disagreement\n\n"
        "result = flops_disagreement(data)\nprint(result.summary())",
        "result.worst_cases(10)[['label', 'model', 'flops_rank', 'measured_rank', 'n_models']]",
        "result.figures()['flops_vs_measured_rank']",
    ],
    "02_transfer.ipynb": [
        "# Does a ranking measured on one device tier carry over to another?\n\n"
        "Spearman ρ between the rankings of the models two configurations share, for latency, "
        "FRM and FRM without FLOPs (FLOPs is identical on both sides, so part of FRM's agreement "
        "holds by construction). timm alone has GPU and CPU tiers; the edge tier comes from AI "
        "Hub in the full study.",
        SETUP,
        "from predictor.analyses import cross_tier_transfer\n\n"
        "result = cross_tier_transfer(data)\nprint(result.summary())",
        "result.table()",
        "result.figures()['transfer_heatmap']",
    ],
    "03_pareto.ipynb": [
        "# Does one configuration's latency/accuracy Pareto frontier predict another's?\n\n"
        "For each pair of configurations, the frontier (fastest models at each top-1) over the "
        "shared models is taken from the source and compared with the target's: precision, "
        "recall, F1, and the share of target runs saved by measuring only the predicted frontier.",
        SETUP,
        "from predictor.analyses import pareto_transfer\n\n"
        "result = pareto_transfer(data)\nprint(result.summary())",
        "result.by_tier()",
        "result.figures()['pareto_frontiers']",
    ],
}


def build(cells: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell(cells[0])] + [new_code_cell(c) for c in cells[1:]])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(cells), HERE / name)
        print(HERE / name)


if __name__ == "__main__":
    main()
