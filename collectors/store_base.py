"""The store interface every backend implements, and what all backends share.

Why a module of its own: the Parquet store (:mod:`collectors.store`) and the PostgreSQL store
(:mod:`collectors.sqlstore`) both build on it, and ``collectors.store.open_store`` chooses
between them, so the interface cannot live in either without an import cycle.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from collectors.schema import CONFIG_KEY

MEASUREMENTS = "measurements"

#: Identity columns of the auxiliary tables: a row whose key is already stored is not added again.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    MEASUREMENTS: ("record_id",),
    "features": ("model", "input_size"),
    "accuracy": ("model", "source_model", "source", "img_size"),  # timm evaluates a checkpoint at several sizes
    "timm_macs": ("model", "input_size"),
    "failures": ("failure_id",),
}


class StoreError(ValueError):
    """The store folder is unusable (not a store, unreadable part file)."""


@dataclass(frozen=True)
class AppendResult:
    table: str
    added: int
    skipped_existing: int

    def summary(self) -> str:
        return f"{self.table}: {self.added} rows added, {self.skipped_existing} already stored"


class MeasurementStore(ABC):
    """The store interface: append tidy frames, read them back as pandas."""

    @abstractmethod
    def append(self, df: pd.DataFrame, table: str = MEASUREMENTS) -> AppendResult: ...

    @abstractmethod
    def read(self, table: str = MEASUREMENTS, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def measurements(self, latest: bool = False, **equals: object) -> pd.DataFrame:
        """Measurements, optionally only the newest per configuration, filtered by column == value."""
        df = self.read(MEASUREMENTS)
        for column, value in equals.items():
            df = df[df[column].isin(value if isinstance(value, (list, tuple, set)) else [value])]
        return latest_view(df) if latest else df.reset_index(drop=True)


def keyed_rows(df: pd.DataFrame, table: str) -> tuple[pd.DataFrame, list[str]]:
    """What every backend's ``append`` starts with: measurements coerced to the schema's
    dtypes, and the table's identity key, checked to be present."""
    from collectors.schema import coerce_dtypes

    key = list(TABLE_KEYS.get(table, ()))
    if table == MEASUREMENTS:
        df = coerce_dtypes(df)
    missing = [k for k in key if k not in df]
    if missing:
        raise StoreError(f"table '{table}': rows lack key column(s) {missing}")
    return df, key


def latest_view(df: pd.DataFrame) -> pd.DataFrame:
    """The newest measurement per configuration; older re-profiles stay in the store as noise data."""
    if df.empty:
        return df.reset_index(drop=True)
    key = [c for c in CONFIG_KEY if c in df]
    ordered = df.sort_values(["measured_at", "imported_at", "record_id"], kind="stable")
    return ordered.drop_duplicates(key, keep="last").sort_index().reset_index(drop=True)


def store_snapshot(store_or_frame: MeasurementStore | pd.DataFrame) -> str:
    """A short id of a store's content: hash of its sorted record ids plus the row count.

    Logged with every run and printed in every report, so that a number can be traced to the
    data it came from; also the key of the caches derived from a store (``auto``'s choice).
    """
    frame = (store_or_frame if isinstance(store_or_frame, pd.DataFrame)
             else store_or_frame.read(MEASUREMENTS, columns=["record_id"]))
    ids = sorted(frame["record_id"].astype(str)) if "record_id" in frame else []
    digest = hashlib.sha1("\n".join(ids).encode()).hexdigest()[:12]
    return f"{digest}-{len(frame)}rows"


__all__ = ["AppendResult", "MEASUREMENTS", "MeasurementStore", "StoreError", "TABLE_KEYS",
           "keyed_rows", "latest_view", "store_snapshot"]
