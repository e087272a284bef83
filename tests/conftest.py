"""Fixtures shared by the whole suite.

Real-data tests read the public measurements in ``../shared/data`` (or ``$EFFBENCH_DATA``) and skip
with a clear reason when that folder is absent. The imported store is built once per session,
because importing both sources takes seconds and many tests only read it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_path() -> Path:
    return Path(os.environ.get("EFFBENCH_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_path()
    if not (path / "aihub").is_dir() or not (path / "timm").is_dir():
        pytest.skip(f"public data not found at {path} (set EFFBENCH_DATA or place ../shared/data)")
    return path


@pytest.fixture(scope="session")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """A store with both public sources imported (read-only for tests: copy it to modify)."""
    from collectors.importers import import_aihub, import_timm
    from collectors.store import ParquetStore

    store = ParquetStore(tmp_path_factory.mktemp("real_store"))
    import_aihub(shared_data / "aihub", store)
    import_timm(shared_data / "timm", store)
    return store
