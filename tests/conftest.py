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
