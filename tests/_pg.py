"""A throw-away PostgreSQL database per test session, or a skip that says why there is none.

The server is ``$EFFBENCH_TEST_PG`` (a ``postgresql://user@host:port`` URL without a database),
else the machine's own at 127.0.0.1:5432 as user ``root`` or ``postgres`` (trust auth, as on the
project machines and in CI). Each fixture creates its own database with a random name and drops
it afterwards, so concurrent test sessions never see each other's tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CANDIDATES = ("postgresql://root@127.0.0.1:5432", "postgresql://postgres@127.0.0.1:5432")


def server_url() -> tuple[str | None, str]:
    """``(url of a database to connect to for CREATE DATABASE, "")``, else ``(None, reason)``."""
    import psycopg

    candidates = [os.environ["EFFBENCH_TEST_PG"]] if os.environ.get("EFFBENCH_TEST_PG") else CANDIDATES
    reasons = []
    for url in candidates:
        for db in ("postgres", "test", "root"):
            try:
                with psycopg.connect(f"{url.rstrip('/')}/{db}", connect_timeout=3) as conn:
                    conn.execute("SELECT 1")
                return f"{url.rstrip('/')}/{db}", ""
            except psycopg.Error as exc:
                reasons.append(f"{url}/{db}: {str(exc).strip().splitlines()[0]}")
    return None, "; ".join(reasons[:2])


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """Create ``effbench_<prefix>_<random>``, yield its URL, drop it (closing stray sessions)."""
    from collectors.sqlstore import scratch_database

    admin, reason = server_url()
    if admin is None:
        pytest.skip(f"no PostgreSQL reachable (set EFFBENCH_TEST_PG): {reason}")
    with scratch_database(admin, f"effbench_{prefix}") as url:
        yield url
