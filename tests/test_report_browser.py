"""The HTML report renders in a real browser: every figure decodes, the page is not blank, and
every CSV it links resolves to the table it stands for.

A report on the synthetic study is opened in headless Chromium: ``--dump-dom`` reads the image
counts the report's inline script writes on ``<body>`` once the page has loaded and the links
as the browser resolved them, ``--screenshot`` must give a PNG with real content, and each link
the browser resolved must name a CSV beside the report holding the whole table.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome"), "/usr/bin/chromium")
                 if p and Path(p).exists()), None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no Chromium/Chrome executable found")]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from tests.helpers.analysis_data import synthetic_study
    from effbench.experiment import load_spec, run_experiment
    from effbench.main_job import PAPER

    spec = load_spec(PAPER)
    spec.analyses.pop("predictability")      # the evaluation stack is tested elsewhere
    spec.analyses.pop("new_hardware")
    for name, params in spec.analyses.items():
        if name != "variance":
            params.update(n_boot=30, leave_out_draws=4)
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


def test_every_csv_link_resolves_to_its_table(report, tmp_path):
    import pandas as pd
    from urllib.parse import unquote, urljoin, urlparse

    done = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", report.as_uri())
    hrefs = re.findall(r'<a href="([^"]+\.csv)"', done.stdout)
    assert "claims.csv" in hrefs, done.stdout[:500]
    files = {Path(unquote(urlparse(urljoin(report.as_uri(), h)).path)) for h in hrefs}
    on_disk = set(report.parent.glob("*.csv"))
    assert files == on_disk                       # every table has its CSV, every CSV a link
    claims = pd.read_csv(report.parent / "claims.csv")
    assert {"claim in the study", "value", "95 % CI", "verdict"} <= set(claims.columns)
    # a table the HTML cuts says how many rows it has; its CSV holds all of them
    cut = re.findall(r"first (\d+) of (\d+) rows; all rows: <a href=\"([^\"]+)\"", done.stdout)
    assert cut, "the synthetic report should cut at least one table"
    for shown, total, href in cut:
        assert len(pd.read_csv(report.parent / href)) == int(total) > int(shown)
