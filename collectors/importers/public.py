"""Where the public measurement sets are found, and importing both of them in one call.

One rule for every caller (the main job, benchmarks, tests, notebooks): ``$EFFBENCH_DATA`` if set,
else ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

from collectors.importers.aihub import import_aihub
from collectors.importers.common import ImportSummary
from collectors.importers.timm import import_timm

REPO = Path(__file__).resolve().parents[2]
IMPORTERS = {"aihub": import_aihub, "timm": import_timm}


def public_data_root() -> Path | None:
    """``$EFFBENCH_DATA``, else ``../shared/data`` beside the repository; None when neither holds
    an ``aihub`` folder."""
    for candidate in (os.environ.get("EFFBENCH_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "aihub").is_dir():
            return Path(candidate)
    return None


def public_store(store_dir: str | os.PathLike[str] | None = None):
    """The store at ``store_dir``, else a temporary Parquet store with the public data imported
    (what every benchmark starts from; the import takes ~10–20 s and is not part of any timing)."""
    import tempfile

    from collectors.store import ParquetStore

    if store_dir:
        return ParquetStore(store_dir)
    root = public_data_root()
    if root is None:
        raise SystemExit("public data not found: set EFFBENCH_DATA or place ../shared/data")
    store = ParquetStore(Path(tempfile.mkdtemp(prefix="effbench-public-")) / "store")
    import_public(root, store)
    return store


def import_public(root: Path, store) -> list[ImportSummary]:
    """Import every source folder present under ``root`` (``aihub/``, ``timm/``) into ``store``."""
    return [importer(root / name, store) for name, importer in IMPORTERS.items()
            if (root / name).is_dir()]
