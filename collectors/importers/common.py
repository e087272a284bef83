"""What every importer shares: its error, its summary, skip counting, YAML loading, the final write.

An importer parses a whole source into validated frames first and writes only at the end, so a
bad file leaves the store exactly as it was (all or nothing).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from collectors.schema import SchemaError, to_frame
from collectors.store import MEASUREMENTS, MeasurementStore

#: libyaml's *base* loader: every scalar stays a string (no implicit int/float/date resolution).
#: Resolving 1.3 million scalars is a large share of AI Hub import time (300 perf.yaml files:
#: 7.7 s CSafeLoader vs 5.1 s CBaseLoader, measured); the importers convert the few numbers
#: they use themselves, which they must do anyway because AI Hub also writes a missing number
#: as the string 'null'.
_Loader: type = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class DataImportError(ValueError):
    """A source file that cannot be imported; the message is one line: "FILE: field 'X' ...".

    Line breaks inside the message (a key or value quoted from the broken file, which may hold
    any text) are written as ``\\n``/``\\r``, so no input can split the one-line error."""

    def __init__(self, message: object, *args: object):
        text = str(message).replace("\r", "\\r").replace("\n", "\\n")
        super().__init__(text, *args)


@dataclass
class ImportSummary:
    """What one import did: files and rows read, rows added, and every skip counted by reason."""

    source: str
    files_read: int = 0
    rows_read: int = 0
    added: int = 0
    skipped_existing: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        skips = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items(),
                                                                  key=lambda kv: -kv[1]))
        extra = "".join(f"; {table}: {n} rows added" for table, n in self.tables.items()
                        if table != MEASUREMENTS)
        return (f"{self.source}: read {self.files_read} files ({self.rows_read} entries), "
                f"added {self.added} measurements, {self.skipped_existing} already stored"
                f"{extra}; skipped: {skips or 'none'} [{self.seconds:.1f} s]")


class SkipCounter(Counter):
    """Counts skipped entries per reason (a reason is a short phrase shown in the summary)."""

    def skip(self, reason: str) -> None:
        self[reason] += 1


def load_yaml(path: Path) -> Any:
    """Parse one YAML file (all scalars as strings); a parse error becomes a one-line
    :class:`DataImportError`.

    libyaml composes the node graph in C and :func:`_plain` turns it into dicts/lists/strings:
    25% less CPU than ``yaml.load`` with the same loader (measured on every 10th AI Hub file),
    because PyYAML's generic constructor (anchors, recursion, tags) is not needed here.
    """
    try:
        with open(path, "rb") as fh:
            loader = _Loader(fh)
            try:
                node = loader.get_single_node()
            finally:
                loader.dispose()
        return _plain(node, path) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise DataImportError(f"{path}: not valid YAML{where} ({problem})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataImportError(f"{path}: unreadable ({exc.__class__.__name__})") from None
    except RecursionError:
        raise DataImportError(f"{path}: not valid YAML (nested too deeply or recursive)") from None


def _plain(node: yaml.Node, path: Path) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise DataImportError(f"{path}: not valid YAML for this importer "
                                      f"(non-scalar mapping key at line {key.start_mark.line + 1})")
            out[key.value] = _plain(value, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, path) for item in node.value]
    return node.value


_YAML_SPECIAL = {".nan": "nan", ".inf": "inf", "+.inf": "inf", "-.inf": "-inf"}


def positive_number(value: Any) -> tuple[float | None, str | None]:
    """``(number, None)`` for a finite number > 0, else ``(None, reason)`` for a counted skip.

    AI Hub writes missing values as ``null`` and also as the *string* ``'null'``.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("null", "none", "~", "")):
        return None, "null"
    if isinstance(value, bool):
        return None, "not a number"
    if isinstance(value, str):  # YAML's spellings, kept as text by the base loader
        value = _YAML_SPECIAL.get(value.strip().lower(), value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, "not a number"
    if math.isnan(number):
        return None, "NaN"
    if math.isinf(number):
        return None, "infinite"
    if number <= 0:
        return None, "zero or negative"
    return number, None


def validated_frame(records: Iterable[Mapping[str, Any]], origin: str) -> pd.DataFrame:
    """:func:`collectors.schema.to_frame`, with its SchemaError re-raised as DataImportError."""
    try:
        return to_frame(records, origin)
    except SchemaError as exc:
        raise DataImportError(str(exc)) from None


def run_import(source: str, read: Callable[[Path], tuple[Any, dict[str, int]]],
               path: str | Path, store: MeasurementStore) -> ImportSummary:
    """Parse and validate everything with ``read`` first, then append (nothing written on error).

    ``read`` returns the measurement frame (or ``{table: frame}``) and the skip counts, which
    also carry ``files_read`` and ``rows_read``.
    """
    with Timer() as timer:
        frames, counts = read(Path(path))
        if isinstance(frames, pd.DataFrame):
            frames = {MEASUREMENTS: frames}
        counts = dict(counts)
        summary = ImportSummary(source, files_read=counts.pop("files_read"),
                                rows_read=counts.pop("rows_read"), skipped=counts)
        write_tables(store, frames, summary)
    summary.seconds = timer.seconds
    return summary


def write_tables(store: MeasurementStore, frames: Mapping[str, pd.DataFrame],
                 summary: ImportSummary) -> ImportSummary:
    """Append every (already validated) frame; measurements first, so totals are known early."""
    for table in sorted(frames, key=lambda t: t != MEASUREMENTS):
        result = store.append(frames[table], table=table)
        summary.tables[table] = result.added
        if table == MEASUREMENTS:
            summary.added = result.added
            summary.skipped_existing = result.skipped_existing
    return summary


class Timer:
    """``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> "Timer":
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
