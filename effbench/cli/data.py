"""Commands that move data: ``effbench data import|fetch`` and ``effbench store info|export|copy``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from effbench.cli._app import app, console, one_line_errors
from effbench.cli.options import StoreOption  # noqa: F401  (also imported by collect)

data_app = typer.Typer(help="Import or fetch public measurement sets.", no_args_is_help=True)
store_app = typer.Typer(help="Inspect and export the measurement store.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(store_app, name="store")

# A string, not a Path: a Path folds the '//' of a postgresql:// URL.


def _existing_store(where: Optional[str]):
    """The store at ``where``; a folder that does not exist is an error, not an empty store."""
    from collectors.store import StoreError, open_store, store_path

    location = store_path(where)
    if isinstance(location, Path) and not location.is_dir():
        raise StoreError(f"{location}: no such store folder")
    return open_store(where)


def _where(st) -> str:
    return str(getattr(st, "url", None) or st.root)


class Source(str, Enum):
    aihub = "aihub"
    timm = "timm"


@data_app.command("import")
@one_line_errors
def import_(source: Source, path: Path, store: StoreOption = None) -> None:
    """Import a public measurement set (AI Hub perf.yaml tree or timm results folder) into the store."""
    from collectors.importers import import_aihub, import_timm
    from collectors.store import open_store

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    importer = import_aihub if source is Source.aihub else import_timm
    summary = importer(path, open_store(store))
    console.print(summary.summary())


@data_app.command("fetch")
@one_line_errors
def fetch_(source: Source, dest: Annotated[Path, typer.Option("--dest", help="Folder to download into.")]) -> None:
    """Download a public measurement set from its public repository (needs network)."""
    from collectors.importers import fetch

    where = fetch(source.value, dest)
    console.print(f"{source.value}: downloaded to {where}")


@store_app.command("info")
@one_line_errors
def info(store: StoreOption = None) -> None:
    """Counts of measurements by source, device, runtime and precision."""
    st = _existing_store(store)
    df = st.measurements()
    console.print(f"store {_where(st)}: {len(df)} measurements, tables: {', '.join(st.tables()) or 'none'}")
    for column in ("source", "device_tier", "device", "runtime", "precision"):
        counts = df[column].fillna("—").value_counts()
        table = Table(title=f"by {column}", show_header=True)
        table.add_column(column)
        table.add_column("rows", justify="right")
        table.add_column("models", justify="right")
        models = df.groupby(df[column].fillna("—"))["model"].nunique()
        for value, n in counts.items():
            table.add_row(str(value), str(n), str(models[value]))
        console.print(table)


@store_app.command("export")
@one_line_errors
def export(out: Annotated[Path, typer.Option("--out", help="Output file, .csv or .parquet.")],
           latest: Annotated[bool, typer.Option("--latest", help="Only the newest measurement per configuration.")] = False,
           store: StoreOption = None) -> None:
    """Export the tidy measurement table."""
    if out.suffix not in (".csv", ".parquet"):
        raise ValueError(f"{out}: --out must end in .csv or .parquet")
    df = _existing_store(store).measurements(latest=latest)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        df.to_csv(out, index=False)
    else:
        df.to_parquet(out, index=False)
    console.print(f"wrote {len(df)} rows to {out}")


@store_app.command("copy")
@one_line_errors
def copy(src: Annotated[str, typer.Argument(help="Source store: folder or postgresql:// URL.")],
         dest: Annotated[str, typer.Argument(help="Target store: folder or postgresql:// URL "
                                                  "(created if absent).")]) -> None:
    """Copy a whole store (every table) to another backend or place; rows already there are kept."""
    from collectors.store import StoreError, copy_store, open_store, store_path

    source = _existing_store(src)
    if str(store_path(src)) == str(store_path(dest)):
        raise StoreError(f"{src}: source and target are the same store")
    tables = source.tables()
    if not tables:
        raise StoreError(f"{_where(source)}: nothing stored to copy")
    target = open_store(dest)
    before = set(target.tables())
    counts_before = {t: len(target.read(t)) for t in tables if t in before}
    copy_store(source, target)
    for table in tables:
        n = len(target.read(table))
        added = n - counts_before.get(table, 0)
        console.print(f"{table}: {n} rows in {_where(target)} ({added} added)", highlight=False)
