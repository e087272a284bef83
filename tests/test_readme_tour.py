"""The README's tour, walked as a newcomer would: in a fresh clone, through the virtualenv's
``effbench``, every command in order, each exiting 0.

The clone sits beside a ``shared`` folder (a link to the real public data), as CI's does, so the
tour's relative paths (``../shared/data/...``, ``experiments/paper.yaml``) resolve. The clone's
own code runs (``PYTHONPATH`` puts it before the editable install), with this virtualenv's
packages; the workspace (``EFFBENCH_HOME``) is the clone's ``effbench-data``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tour_commands(readme: str) -> list[str]:
    """The shell lines of the first ``bash`` block under "## A short tour" (comments and
    ``source`` lines dropped: the test provides the environment)."""
    section = readme.split("## A short tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "source "))]


def test_tour_is_parsed():
    commands = tour_commands((REPO / "README.md").read_text())
    assert commands[0].startswith("effbench data import aihub")
    assert any(c.startswith("effbench predict") for c in commands)


@pytest.mark.timeout(1800)  # the whole tour, experiment run included (~6 min on 2 idle cores)
def test_readme_tour_in_a_fresh_clone(shared_data, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    clone = tmp_path / "effbench"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data.resolve())
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(clone), "EFFBENCH_HOME": str(clone / "effbench-data"),
           "EFFBENCH_DATA": str(tmp_path / "shared" / "data")}
    for key in ("EFFBENCH_STORE", "MLFLOW_TRACKING_URI"):
        env.pop(key, None)
    for command in tour_commands((clone / "README.md").read_text()):
        proc = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert (clone / "effbench-data" / "report" / "index.html").exists()
    assert not (clone / "mlruns").exists()  # MLflow artifacts stay in the workspace
