"""Fixtures shared by the whole suite.

Real-data tests read the public measurements in ``../shared/data`` (or ``$EFFBENCH_DATA``) and skip
with a clear reason when that folder is absent. The imported store is built once per session,
because importing both sources takes seconds and many tests only read it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
