"""Fixtures shared by the whole suite.

Real-data tests read the public measurements in ``../shared/data`` (or ``$EFFBENCH_DATA``) and skip
with a clear reason when that folder is absent. The imported store is built once per session,
because importing both sources takes seconds and many tests only read it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Under ``make test`` two pytest workers share the two cores (pytest-xdist). Native libraries
#: would each start a thread per core (xgboost, OpenBLAS, PyTorch's OpenMP), four busy threads on
#: two cores: measured here, the cold-start tests then ran 3x slower than alone. So each worker,
#: and every process it starts, gets one thread unless the caller chose otherwise. Set before the
#: test modules import numpy or torch, which read these once.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in THREAD_VARS:
        os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    from collectors.importers import public_data_root

    path = public_data_root()
    if path is None or not (path / "timm").is_dir():
        pytest.skip(f"public data not found under $EFFBENCH_DATA or {REPO.parent / 'shared' / 'data'}")
    return path


@pytest.fixture(scope="session")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """A store with both public sources imported (read-only for tests: copy it to modify)."""
    from collectors.importers import import_public
    from collectors.store import ParquetStore

    store = ParquetStore(tmp_path_factory.mktemp("real_store"))
    import_public(shared_data, store)
    return store


#: Fixtures that make a test "slow" (they read the real public data or start services), and
#: modules that are slow as a whole (notebooks, the browser, campaigns of worker processes,
#: MLflow servers and runs, PostgreSQL). ``make test-fast`` deselects them (``-m "not slow"``);
#: ``make test`` runs everything. Declared here once rather than on each test.
SLOW_FIXTURES = {"shared_data", "real_store"}
SLOW_MODULES = {"test_notebooks.py", "test_report_browser.py", "test_local_campaign.py",
                "test_local_runtimes.py", "test_tracking.py", "test_server_tune.py",
                "test_sqlstore.py", "test_cli_predict.py", "test_paper.py",
                "test_analyses_real.py", "test_readme_tour.py", "test_features_many.py",
                "test_coldstart.py"}


#: The modules that take longest (minutes each on 2 cores), in that order. They are collected
#: first, so that ``make test``'s workers (pytest-xdist, one module at a time) start them at once
#: and fill the rest in around them: longest-first keeps one worker from finishing a 5-minute
#: module alone at the end.
LONGEST_MODULES = ("test_coldstart.py", "test_readme_tour.py", "test_features_no_flip.py",
                   "test_server_tune.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: modules stay whole
