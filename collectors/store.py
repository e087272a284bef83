"""Where measurements live.

``MeasurementStore`` (:mod:`collectors.store_base`) is the interface the rest of effbench talks
to; ``ParquetStore`` is the embedded implementation (a folder of Parquet part files per table)
and ``collectors.sqlstore.SQLStore`` the shared PostgreSQL one; :func:`open_store` chooses by
the path or URL, as Optuna's storages do.

Why part files: an append never rewrites what is already stored, so a crash mid-write loses at
most the part in flight, and that part is written to a temporary name and renamed into place
(atomic on POSIX), so readers never see half a file. A file lock serialises writers, so two
importers running at once cannot both add the same rows.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from collectors import workspace
from collectors.schema import COLUMNS, coerce_dtypes, empty_frame
from collectors.store_base import (MEASUREMENTS, TABLE_KEYS, AppendResult, MeasurementStore,  # noqa: F401
                                   StoreError, keyed_rows, latest_view, store_snapshot)

#: The default store folder at import time (see :func:`store_path`, which reads the environment).
DEFAULT_STORE = workspace.store_path()


class ParquetStore(MeasurementStore):
    """A folder ``<root>/<table>/part-*.parquet`` with a lock file ``<root>/.lock``."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ParquetStore({str(self.root)!r})"

    @property
    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".lock"), timeout=600)

    def _parts(self, table: str) -> list[Path]:
        folder = self.root / table
        return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []

    def tables(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self._parts(p.name))

    def read(self, table: str = MEASUREMENTS, columns: Sequence[str] | None = None) -> pd.DataFrame:
        parts = self._parts(table)
        if not parts:
            return empty_frame() if table == MEASUREMENTS else pd.DataFrame(columns=columns)
        frames = []
        for part in parts:
            try:
                # a part written before a table gained a column simply lacks it: read what
                # it has, and let the concatenation fill the rest with nulls
                wanted = ([c for c in columns if c in pq.read_schema(part).names]
                          if columns else None)
                frames.append(pq.read_table(part, columns=wanted))
            except (OSError, pa.ArrowException) as exc:
                raise StoreError(f"{part}: unreadable part file ({exc})") from None
        df = pa.concat_tables(frames, promote_options="default").to_pandas()
        for column in columns or ():
            if column not in df:  # asked for, in no part yet
                df[column] = None
        if columns:
            df = df[list(columns)]
        if table == MEASUREMENTS and columns is None:
            df = coerce_dtypes(df)
        return df

    def append(self, df: pd.DataFrame, table: str = MEASUREMENTS) -> AppendResult:
        """Add the rows whose key is not stored yet; all or nothing."""
        df, key = keyed_rows(df, table)
        with self._lock:
            new = df.drop_duplicates(key) if key else df
            if key and self._parts(table):
                stored = self.read(table, columns=key)
                seen = pd.MultiIndex.from_frame(stored[key].astype(str))
                mask = ~pd.MultiIndex.from_frame(new[key].astype(str)).isin(seen)
                new = new[mask]
            if len(new):
                self._write_part(table, new)
        return AppendResult(table, int(len(new)), int(len(df) - len(new)))

    def _write_part(self, table: str, df: pd.DataFrame) -> None:
        folder = self.root / table
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{pd.Timestamp.now('UTC').strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = folder / f".{name}.tmp"
        pq.write_table(pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False), tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)

    def compact(self, table: str = MEASUREMENTS) -> int:
        """Merge a table's part files into one (collectors write one part per measurement)."""
        with self._lock:
            parts = self._parts(table)
            if len(parts) <= 1:
                return len(parts)
            df = self.read(table)
            self._write_part(table, df)
            for part in parts:
                part.unlink()
        return 1


def copy_store(source: MeasurementStore, dest: MeasurementStore | str | os.PathLike[str],
               keep: Callable[[pd.DataFrame], pd.Series] | None = None) -> MeasurementStore:
    """``dest`` (a store, or a folder / PostgreSQL URL for :func:`open_store`) with the
    measurements ``keep`` selects and every other table of ``source``; returns the target.

    Why: holding a device out of a store (to show that a prediction works for a device the store
    has never seen) must not drop the accuracy and FLOPs tables the predictors join on; and
    ``effbench store copy`` moves a whole store between backends (Parquet <-> PostgreSQL). Rows
    keep their order; appends are idempotent, so copying twice adds nothing.
    """
    target = dest if isinstance(dest, MeasurementStore) else open_store(dest)
    rows = source.read(MEASUREMENTS)
    target.append(rows[keep(rows)] if keep is not None else rows)
    present = source.tables() if hasattr(source, "tables") else []
    for table in dict.fromkeys([*TABLE_KEYS, *present]):
        if table != MEASUREMENTS:
            extra = source.read(table)
            if len(extra):
                target.append(extra, table)
    return target


_MANGLED_URL = re.compile(r"^(postgres(?:ql)?(?:\+psycopg)?):/(?!/)")
_URL = re.compile(r"^postgres(?:ql)?(?:\+psycopg)?://")


def _as_url(value: str | os.PathLike[str] | None) -> str | None:
    """A PostgreSQL URL given as a string or as a ``Path`` (which folds its ``//`` into ``/``)."""
    if not value:
        return None
    text = _MANGLED_URL.sub(r"\1://", os.fspath(value))
    return text if _URL.match(text) else None


def store_path(path: str | os.PathLike[str] | None = None) -> Path | str:
    """``--store`` if given, else ``$EFFBENCH_STORE``, else ``$EFFBENCH_HOME/store``.

    A PostgreSQL URL (``postgresql://...``) comes back as a string, anything else as a folder.
    """
    url = _as_url(path if path else os.environ.get("EFFBENCH_STORE"))
    if url:
        return url
    return Path(path) if path else workspace.store_path()


def open_store(path: str | os.PathLike[str] | None = None) -> MeasurementStore:
    """The store at ``path`` / ``$EFFBENCH_STORE``: a ``postgresql://`` URL opens the SQL store
    (:class:`collectors.sqlstore.SQLStore`), anything else the Parquet folder."""
    where = store_path(path)
    if isinstance(where, str):
        from collectors.sqlstore import SQLStore

        return SQLStore(where)
    return ParquetStore(where)


__all__ = ["AppendResult", "COLUMNS", "copy_store", "DEFAULT_STORE", "MEASUREMENTS", "MeasurementStore",
           "ParquetStore", "StoreError", "TABLE_KEYS", "latest_view", "open_store", "store_path", "store_snapshot"]
