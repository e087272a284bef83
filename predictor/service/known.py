"""The known table: what a user measured on the target, read and matched to matrix rows.

``known.csv`` has columns ``model, latency_ms`` (or ``peak_memory_mb``) and optionally
``input_size``; ms per sample at batch 1; any registry alias. Structural faults (a missing
column, a value that is not a positive number, a model given twice) are errors naming the row:
the file is wrong. A model the store has never measured is not a fault of the file — the user may
simply own a model nobody else measured — so it is skipped with a warning naming it, and the
request is answered from the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

VALUE_COLUMN = {"latency": "latency_ms", "memory": "peak_memory_mb"}


class KnownFileError(ValueError):
    """A bad ``known.csv``: the message names the file and the row."""


def _bad(origin: str, row: int | None, message: str) -> KnownFileError:
    where = f"{origin} row {row}" if row is not None else origin
    return KnownFileError(f"{where}: {message}")


def _canonical(name: str) -> str:
    from models_registry import UnknownModelError, canonical_id

    try:
        return canonical_id(name)
    except UnknownModelError:
        return name.strip()


def read_known(source: str | Path | pd.DataFrame, metric: str = "latency",
               origin: str | None = None) -> pd.DataFrame:
    """Validate a known table; return ``model, canonical, input_size, value, row, origin``
    (``origin``: the file name, or the given label, so that every error names where its row is).

    Rows are numbered from 1 after the header (row 1 = first data row), as a user counts them.
    """
    if metric not in VALUE_COLUMN:
        raise ValueError(f"metric must be one of {sorted(VALUE_COLUMN)}, got {metric!r}")
    column = VALUE_COLUMN[metric]
    if isinstance(source, pd.DataFrame):
        df, origin = source.astype(object).copy(), origin or "known"
    else:
        origin = origin or Path(source).name
        try:
            df = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"{source}: no such file") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise _bad(origin, None, f"not a readable CSV ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("model", column) if c not in df.columns]
    if missing:
        raise _bad(origin, None, f"missing column(s) {missing}; expected 'model,{column}"
                                 "[,input_size]'")
    rows, seen = [], {}
    for i, rec in enumerate(df.to_dict("records"), start=1):
        name = "" if rec["model"] is None else str(rec["model"]).strip()
        if not name or name.lower() == "nan":
            raise _bad(origin, i, "model is missing")
        text = "" if rec[column] is None else str(rec[column]).strip()
        if not text:
            raise _bad(origin, i, f"{column} is missing")
        try:
            value = float(text)
        except ValueError:
            raise _bad(origin, i, f"{column} is not a number: {text!r}") from None
        if not math.isfinite(value):
            raise _bad(origin, i, f"{column} must be a finite number, got {text!r}")
        if value <= 0:
            raise _bad(origin, i, f"{column} must be > 0, got {text}")
        size = None
        raw_size = str(rec.get("input_size", "")).strip()
        if "input_size" in df.columns and raw_size not in ("", "nan", "None", "<NA>"):
            try:
                size = int(float(raw_size))
            except ValueError:
                raise _bad(origin, i, f"input_size is not an integer: {raw_size!r}") from None
            if size <= 0:
                raise _bad(origin, i, f"input_size must be > 0, got {size}")
        canonical = _canonical(name)
        if (canonical, size) in seen:
            raise _bad(origin, i, f"model {name!r} is already given in row {seen[canonical, size]}")
        seen[canonical, size] = i
        rows.append({"model": name, "canonical": canonical, "input_size": size, "value": value,
                     "row": i})
    out = pd.DataFrame(rows, columns=["model", "canonical", "input_size", "value", "row"])
    out["input_size"] = out["input_size"].astype("Int64")
    out["origin"] = origin  # where each row came from, for the errors that name it
    return out


@dataclass
class RowIndex:
    """(model, input size) → matrix row label, built once per matrix (a query resolves k rows,
    an evaluation thousands of draws)."""

    by_pair: dict[tuple[str, int], str]
    sizes: dict[str, list[int]]
    unsized: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, models: pd.DataFrame) -> RowIndex:
        names = models["model"].astype(str) if "model" in models else pd.Series(
            models.index.astype(str), index=models.index)
        size = pd.to_numeric(models.get("input_size", pd.Series(index=models.index, dtype=float)),
                             errors="coerce")
        by_pair, sizes, unsized = {}, {}, {}
        for label, name, s in zip(models.index.astype(str), names, size):
            if pd.isna(s):
                unsized[name] = label
                continue
            by_pair[(name, int(s))] = label
            sizes.setdefault(name, []).append(int(s))
        return cls(by_pair, {k: sorted(v) for k, v in sizes.items()}, unsized)

    def lookup(self, model: str, input_size: int | None) -> tuple[str | None, str]:
        """(row label or None, why not / what was assumed).

        Without an input size, a model stored at several sizes is taken at its primary size
        (the row labelled by its bare name: the size most often measured), and the note says so.
        """
        sizes = self.sizes.get(model, [])
        if input_size is None or pd.isna(input_size):
            if len(sizes) == 1:
                return self.by_pair[(model, sizes[0])], ""
            if model in self.unsized:
                return self.unsized[model], ""
            if len(sizes) > 1:
                primary = next((s for s in sizes if self.by_pair[(model, s)] == model), None)
                if primary is not None:
                    return model, (f"{model} at {primary} px (also stored at "
                                   f"{', '.join(str(s) for s in sizes if s != primary)})")
                return None, (f"is stored at input sizes {', '.join(map(str, sizes))}: give "
                              "input_size")
            return None, "has no measurement in the store"
        label = self.by_pair.get((model, int(input_size)))
        if label is not None:
            return label, ""
        if model in self.unsized:
            return self.unsized[model], ""
        if sizes:
            return None, (f"is not stored at input size {int(input_size)} (stored: "
                          f"{', '.join(map(str, sizes))})")
        return None, "has no measurement in the store"


@dataclass
class KnownMatch:
    """A known table matched to matrix rows."""

    #: value per matrix row label
    values: pd.Series
    #: the caller's name per row label (echoed in the output as given)
    names: dict[str, str]
    #: known models the store lacks (``model`` or ``model@size``)
    skipped: list[str]
    #: faults of the file, each naming its row
    errors: list[str]
    #: input sizes taken for models given without one
    assumed: list[str]


def match_known(known: pd.DataFrame, rows: RowIndex) -> KnownMatch:
    """Match every known row to a matrix row.

    A model stored at several sizes but given without one is taken at its primary size (and
    ``assumed`` says so); with no primary size it is an error of the file (its value could
    calibrate the wrong row); a model the store lacks is skipped.
    """
    values, names, skipped, errors, assumed = {}, {}, [], [], []
    for rec in known.itertuples():
        origin = getattr(rec, "origin", "known")
        label, why = rows.lookup(rec.canonical, None if pd.isna(rec.input_size) else rec.input_size)
        if label is not None and why:
            assumed.append(why)
        if label is None:
            if why.startswith("is stored at input sizes"):
                errors.append(f"{origin} row {rec.row}: model {rec.model!r} {why}")
            else:
                skipped.append(rec.model if pd.isna(rec.input_size) else
                               f"{rec.model}@{int(rec.input_size)}")
            continue
        if label in values:
            errors.append(f"{origin} row {rec.row}: model {rec.model!r} is given twice")
            continue
        values[label] = float(rec.value)
        names[label] = rec.model
    return KnownMatch(pd.Series(values, dtype=float), names, skipped, errors, assumed)


__all__ = ["KnownFileError", "KnownMatch", "RowIndex", "VALUE_COLUMN", "match_known", "read_known"]
