"""The HTML report renders in a real browser: every figure decodes, the page is not blank.

A report on the synthetic study is opened in headless Chromium twice: ``--dump-dom`` reads the
image counts the report's inline script writes on ``<body>`` once the page has loaded, and
``--screenshot`` must give a PNG with real content.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "predictor"))

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome"), "/usr/bin/chromium")
                 if p and Path(p).exists()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium/Chrome executable found")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from _analysis_data import synthetic_study
    from effbench.experiment import load_spec, run_experiment
    from effbench.main_job import PAPER

    spec = load_spec(PAPER)
    spec.analyses.pop("predictability")      # the evaluation stack is tested elsewhere
    out = tmp_path_factory.mktemp("report")
    run_experiment(spec, data=synthetic_study(), log=False, report_dir=out)
    return out / "index.html"


def test_every_figure_of_the_report_loads(report, tmp_path):
    done = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", report.as_uri())
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body, f"no <body> in the dumped DOM (stderr: {done.stderr[-500:]})"
    loaded = re.search(r'data-images-loaded="(\d+)"', body.group(0))
    total = re.search(r'data-images-total="(\d+)"', body.group(0))
    assert loaded and total, f"the report's load script did not run: {body.group(0)}"
    assert int(total.group(1)) >= 5
    assert int(loaded.group(1)) == int(total.group(1))


def test_screenshot_is_not_blank(report, tmp_path):
    import numpy as np
    from matplotlib.image import imread

    png = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,3000",
              "--virtual-time-budget=5000", report.as_uri())
    assert png.is_file() and png.stat().st_size > 20_000
    pixels = imread(png)[..., :3]
    # text, tables and figures: many distinct colours and a good share of non-white pixels
    assert (pixels.reshape(-1, 3) < 0.95).any(axis=1).mean() > 0.05
    assert len(np.unique((pixels.reshape(-1, 3) * 255).astype(int), axis=0)) > 50
