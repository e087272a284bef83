"""The measurement store in PostgreSQL: the same contract as the Parquet folder, shared by machines.

Why a SQL backend: a team collects on several machines at once (a phone lab, a GPU box, CI
runners). A folder of Parquet files serialises writers with a file lock, which only works on one
disk; PostgreSQL gives every writer a transaction instead. Each ``append`` is one transaction:
the frame is streamed into a temporary table with ``COPY`` and moved into the table with
``INSERT ... ON CONFLICT DO NOTHING`` on a unique constraint over the table's key
(:data:`collectors.store.TABLE_KEYS`), so two importers that send the same rows at the same time
add them once, and a failed append adds nothing.

How reads round-trip to the Parquet store's dtypes: every table records the Arrow schema of the
first frame appended to it (new columns of later frames are added with ``ALTER TABLE``, as the
Parquet store's part files widen on read). A read streams ``COPY ... TO STDOUT`` into Arrow's CSV
reader with that schema and converts to pandas exactly as the Parquet store converts its part
files, so both backends return the same frame for the same appends; the measurements table is
additionally coerced to :mod:`collectors.schema`, as in the Parquet store. Rows come back in
insertion order (an identity column), which ``latest_view`` relies on for ties.

Timestamps are PostgreSQL ``timestamp`` (microseconds): nanoseconds are not kept. No effbench
source has them (Python datetimes and the public data are microsecond or coarser).
"""

from __future__ import annotations

import hashlib
import uuid
import io
import random
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from collectors import workspace
from collectors.schema import COLUMNS, coerce_dtypes, empty_frame
from collectors.store_base import (MEASUREMENTS, AppendResult, MeasurementStore,
                                   StoreError, keyed_rows, latest_view)

#: Which table holds each data table's Arrow schema and key.
REGISTRY = "effbench_tables"
#: Insertion order of the rows of every data table.
SEQ = "_effbench_seq"
_ORD = "_effbench_ord"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_URL_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://")
#: Transient failures of concurrent transactions that are retried (deadlock, serialisation).
_RETRY_SQLSTATES = {"40P01", "40001"}
_RETRIES = 8


def is_sql_url(value: object) -> bool:
    """True for a PostgreSQL URL (``postgresql://``, ``postgres://``, ``postgresql+psycopg://``)."""
    return isinstance(value, str) and value.startswith(_URL_PREFIXES)


def driver_url(url: str) -> str:
    """The SQLAlchemy URL with the psycopg 3 driver: plain ``postgresql://`` would pick psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def redacted(url: str) -> str:
    """The URL without its password, for messages and cache keys."""
    return make_url(driver_url(url)).render_as_string(hide_password=True).replace(
        "postgresql+psycopg://", "postgresql://", 1)


def _pg_type(field: pa.Field) -> str:
    t = field.type
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return "TEXT"
    if pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type)
                                      or pa.types.is_large_string(t.value_type)):
        return "TEXT"
    if pa.types.is_timestamp(t) and t.tz is None:
        return "TIMESTAMP"
    if pa.types.is_date32(t):
        return "DATE"
    raise StoreError(f"column '{field.name}': type {t} cannot be stored in the SQL store "
                     "(numbers, text, booleans, dates and time-zone-free timestamps can)")


def _csv_type(t: pa.DataType) -> pa.DataType:
    """The type Arrow's CSV reader parses a column as (dictionary and null columns via text)."""
    return pa.large_string() if pa.types.is_dictionary(t) or pa.types.is_null(t) else t


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_table(table: str) -> None:
    if not _NAME.match(table) or table == REGISTRY:
        raise StoreError(f"table name {table!r}: use lower-case letters, digits and '_' "
                         f"(not {REGISTRY!r})")


class SQLStore(MeasurementStore):
    """A :class:`MeasurementStore` in a PostgreSQL database (SQLAlchemy Core + psycopg 3).

    ``url`` is ``postgresql://user[:password]@host[:port]/database`` (``?options=-csearch_path%3DX``
    selects a schema). Tables are created on the first append. ``root`` is a local folder for
    caches derived from the store (keyed by the URL, under the workspace), never its data.
    """

    def __init__(self, url: str, echo: bool = False):
        if not is_sql_url(url):
            raise StoreError(f"{url!r}: not a PostgreSQL URL (postgresql://user@host/db)")
        self.url = redacted(url)
        self._url = driver_url(url)
        self.echo = echo
        digest = hashlib.sha1(self.url.encode()).hexdigest()[:12]
        self.root = workspace.home() / "cache" / "sqlstore" / digest
        self._engine_: sa.Engine | None = None

    def __repr__(self) -> str:
        return f"SQLStore({self.url!r})"

    @property
    def cache_dir(self) -> Path:
        """Where caches derived from this store live on this machine (``predictor.service``)."""
        return self.root

    def __getstate__(self) -> dict[str, Any]:  # an engine does not cross processes
        return {**self.__dict__, "_engine_": None}

    @property
    def _engine(self) -> sa.Engine:
        if self._engine_ is None:
            engine = sa.create_engine(self._url, echo=self.echo, pool_pre_ping=True)

            @sa.event.listens_for(engine, "connect")
            def _session_settings(dbapi_connection, _record) -> None:
                # ISO dates and shortest exact floats: what the CSV reader below parses.
                with dbapi_connection.cursor() as cur:
                    cur.execute("SET DateStyle TO ISO; SET extra_float_digits TO 1")
                dbapi_connection.commit()

            self._engine_ = engine
        return self._engine_

    def dispose(self) -> None:
        """Close the connection pool (a store object stays usable: it reconnects)."""
        if self._engine_ is not None:
            self._engine_.dispose()
            self._engine_ = None

    # ------------------------------------------------------------------ connection helpers
    def _fail(self, exc: Exception) -> StoreError:
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return StoreError(f"{self.url}: {text}")

    def _connect(self):
        try:
            return self._engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise self._fail(exc) from None

    @staticmethod
    def _registry_exists(conn) -> bool:
        return conn.exec_driver_sql(f"SELECT to_regclass('{REGISTRY}')").scalar() is not None

    def _schema(self, conn, table: str) -> tuple[pa.Schema, tuple[str, ...]] | None:
        if not self._registry_exists(conn):
            return None
        row = conn.exec_driver_sql(f"SELECT arrow_schema, keys FROM {REGISTRY} WHERE name = %(n)s",
                                   {"n": table}).first()
        if row is None:
            return None
        keys = tuple(k for k in (row.keys or "").split(",") if k)
        return pa.ipc.read_schema(pa.py_buffer(bytes(row.arrow_schema))), keys

    # ------------------------------------------------------------------ reading
    def tables(self) -> list[str]:
        with self._connect() as conn:
            try:
                if not self._registry_exists(conn):
                    return []
                return sorted(conn.exec_driver_sql(f"SELECT name FROM {REGISTRY}").scalars())
            except sa.exc.SQLAlchemyError as exc:
                raise self._fail(exc) from None

    def read(self, table: str = MEASUREMENTS, columns: Sequence[str] | None = None) -> pd.DataFrame:
        return self._read(table, columns)

    def _read(self, table: str, columns: Sequence[str] | None,
              where: Sequence[sa.ColumnElement[bool]] = ()) -> pd.DataFrame:
        _check_table(table)
        with self._connect() as conn:
            try:
                found = self._schema(conn, table)
                if found is None:
                    return empty_frame() if table == MEASUREMENTS else pd.DataFrame(columns=columns)
                schema, _ = found
                names = list(columns) if columns else schema.names
                unknown = [c for c in names if c not in schema.names]
                if unknown:
                    raise StoreError(f"{self.url} table '{table}': no column(s) {unknown}")
                fields = [schema.field(c) for c in names]
                stmt = sa.select(*[sa.column(c) for c in names]).select_from(sa.table(table))
                for clause in where:
                    stmt = stmt.where(clause)
                stmt = stmt.order_by(sa.column(SEQ))
                query = str(stmt.compile(dialect=postgresql.dialect(),
                                         compile_kwargs={"literal_binds": True}))
                buf = io.BytesIO()
                with conn.connection.dbapi_connection.cursor() as cur:
                    with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
                        for chunk in copy:
                            buf.write(chunk)
            except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:  # raw cursor: psycopg's own
                raise self._fail(exc) from None
        arrow = _parse_csv(buf.getvalue(), fields)
        df = pa.Table.from_arrays(arrow.columns, schema=pa.schema(fields, metadata=schema.metadata)
                                  ).to_pandas()
        if table == MEASUREMENTS and columns is None:
            df = coerce_dtypes(df)
        return df

    def measurements(self, latest: bool = False, **equals: object) -> pd.DataFrame:
        """As :meth:`MeasurementStore.measurements`, with the filters run in PostgreSQL."""
        where = []
        for column, value in equals.items():
            values = list(value) if isinstance(value, (list, tuple, set)) else [value]
            if column not in COLUMNS or any(v is None or v is pd.NA or v != v for v in values):
                return super().measurements(latest, **equals)  # pandas semantics for the odd case
            where.append(sa.column(column).in_([v.item() if hasattr(v, "item") else v
                                                for v in values]))
        df = self._read(MEASUREMENTS, None, where)
        return latest_view(df) if latest else df.reset_index(drop=True)

    # ------------------------------------------------------------------ writing
    def append(self, df: pd.DataFrame, table: str = MEASUREMENTS) -> AppendResult:
        """Add the rows whose key is not stored yet; all or nothing, in one transaction."""
        _check_table(table)
        df, key = keyed_rows(df, table)
        if not len(df):
            return AppendResult(table, 0, 0)
        bad = [c for c in df.columns if not isinstance(c, str) or c.startswith("_effbench")
               or len(c.encode()) > 63]
        if bad:
            raise StoreError(f"table '{table}': column name(s) {bad} not storable "
                             "(text of at most 63 bytes, not starting with '_effbench')")
        try:
            arrow = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise StoreError(f"table '{table}': {str(exc).splitlines()[0]}") from None
        for attempt in range(_RETRIES):
            try:
                with self._engine.begin() as conn:
                    schema = self._prepare(conn, table, arrow.schema, tuple(key))
                    added = self._insert(conn, table, arrow, schema, bool(key))
                return AppendResult(table, added, int(len(df) - added))
            except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
                sqlstate = getattr(getattr(exc, "orig", None) or exc, "sqlstate", None)
                if sqlstate in _RETRY_SQLSTATES and attempt < _RETRIES - 1:
                    # two writers locked each other's keys: one was rolled back, run it again
                    time.sleep(random.uniform(0.01, 0.2) * (attempt + 1))
                    continue
                raise self._fail(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _lock(self, conn, table: str) -> None:
        """Serialise schema changes (create table, add column) across processes and machines."""
        lock_id = int.from_bytes(hashlib.sha1(f"effbench:{table}".encode()).digest()[:8], "big",
                                 signed=True)
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(k)s)", {"k": lock_id})

    def _prepare(self, conn, table: str, new: pa.Schema, key: tuple[str, ...]) -> pa.Schema:
        """The stored schema, after creating the table or adding the frame's new columns.

        Schema changes take an advisory lock and re-read the registry under it, so that two
        processes that both see a missing table (or column) change it once.
        """
        found = self._schema(conn, table)
        if found is not None and not _needs_change(found[0], new):
            return found[0]
        if found is None:
            for field in new:
                _pg_type(field)  # one clear error before any DDL
            self._lock(conn, REGISTRY)
            conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {REGISTRY} (name TEXT PRIMARY KEY, "
                                 "arrow_schema BYTEA NOT NULL, keys TEXT NOT NULL)")
            found = self._schema(conn, table)
            if found is None:
                columns = [f"{SEQ} BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
                columns += [f"{_q(f.name)} {_pg_type(f)}" for f in new]
                if key:
                    columns.append(f"UNIQUE NULLS NOT DISTINCT ({', '.join(map(_q, key))})")
                conn.exec_driver_sql(f"CREATE TABLE {_q(table)} ({', '.join(columns)})")
                conn.exec_driver_sql(
                    f"INSERT INTO {REGISTRY} (name, arrow_schema, keys) VALUES (%(n)s, %(s)s, %(k)s)",
                    {"n": table, "s": new.serialize().to_pybytes(), "k": ",".join(key)})
                return new
        self._lock(conn, table)
        stored = self._schema(conn, table)[0]
        if not _needs_change(stored, new):
            return stored
        fields = list(stored)
        for field in new:
            if field.name not in stored.names:
                conn.exec_driver_sql(f"ALTER TABLE {_q(table)} ADD COLUMN {_q(field.name)} "
                                     f"{_pg_type(field)}")
                fields.append(field)
            elif pa.types.is_null(stored.field(field.name).type) and not pa.types.is_null(field.type):
                # a column that only ever held nulls takes the first real type it is given
                conn.exec_driver_sql(f"ALTER TABLE {_q(table)} ALTER COLUMN {_q(field.name)} "
                                     f"TYPE {_pg_type(field)} USING NULL")
                fields[stored.names.index(field.name)] = field
        schema = pa.schema(fields, metadata=stored.metadata)
        conn.exec_driver_sql(f"UPDATE {REGISTRY} SET arrow_schema = %(s)s WHERE name = %(n)s",
                             {"n": table, "s": schema.serialize().to_pybytes()})
        return schema

    def _insert(self, conn, table: str, arrow: pa.Table, schema: pa.Schema, keyed: bool) -> int:
        arrow = _conform(arrow, schema, table)
        names = arrow.column_names
        cols = ", ".join(map(_q, names))
        defs = ", ".join(f"{_q(f.name)} {_pg_type(schema.field(f.name))}" for f in arrow.schema)
        buf = io.BytesIO()
        pacsv.write_csv(arrow, buf, pacsv.WriteOptions(include_header=False))
        with conn.connection.dbapi_connection.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE _effbench_in ({defs}, {_ORD} BIGINT GENERATED ALWAYS "
                        "AS IDENTITY) ON COMMIT DROP")
            with cur.copy(f"COPY _effbench_in ({cols}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buf.getvalue())
            conflict = " ON CONFLICT DO NOTHING" if keyed else ""
            cur.execute(f"INSERT INTO {_q(table)} ({cols}) SELECT {cols} FROM _effbench_in "
                        f"ORDER BY {_ORD}{conflict}")
            added = cur.rowcount
            cur.execute("DROP TABLE _effbench_in")
        return int(added)

    def compact(self, table: str = MEASUREMENTS) -> int:
        """Nothing to merge in a database (the Parquet store's part files): 1 if the table exists."""
        return int(table in self.tables())


def _needs_change(stored: pa.Schema, new: pa.Schema) -> bool:
    return any(f.name not in stored.names or (pa.types.is_null(stored.field(f.name).type)
                                              and not pa.types.is_null(f.type)) for f in new)


def _conform(arrow: pa.Table, schema: pa.Schema, table: str) -> pa.Table:
    """The frame's columns cast to the stored types (safe casts only: no overflow, no truncation),
    as text where the CSV writer needs it (dictionary and all-null columns)."""
    columns = []
    for name, column in zip(arrow.column_names, arrow.columns):
        target = schema.field(name).type
        if pa.types.is_dictionary(target):
            target = target.value_type
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_null(column.type):
            column = column.cast(pa.large_string())
        elif column.type != target:
            try:
                column = column.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise StoreError(f"table '{table}': column '{name}' is {column.type}, stored as "
                                 f"{schema.field(name).type}") from None
        columns.append(column)
    return pa.table(columns, names=arrow.column_names)


def _parse_csv(data: bytes, fields: Sequence[pa.Field]) -> pa.Table:
    names = [f.name for f in fields]
    types = {f.name: _csv_type(f.type) for f in fields}
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""],
                                             strings_can_be_null=True,
                                             quoted_strings_can_be_null=False,
                                             true_values=["t"], false_values=["f"]))
    out = []
    for field, column in zip(fields, table.columns):
        if pa.types.is_null(field.type):
            column = pa.chunked_array([pa.nulls(len(column))])
        elif pa.types.is_dictionary(field.type):
            column = column.cast(field.type.value_type).dictionary_encode()
            column = column.cast(field.type)
        out.append(column)
    return pa.table(out, names=names)


@contextmanager
def scratch_database(database_url: str, prefix: str = "effbench") -> Iterator[str]:
    """Create ``<prefix>_<random>`` on the server of ``database_url`` (a URL of any database
    this user can connect to), yield its URL, and drop it afterwards, closing stray sessions.
    For tests and benchmarks that must never touch a real store."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{database_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


__all__ = ["REGISTRY", "SQLStore", "driver_url", "is_sql_url", "redacted", "scratch_database"]
