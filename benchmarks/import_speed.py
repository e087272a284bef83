"""Import speed of both public sources into a fresh store, then a re-import (must add 0 rows).

    python benchmarks/import_speed.py [--data ../shared/data]

Goal: <= 30 s for both sources on the 2-core CI machine. Prints seconds per source, the totals,
the per-reason skips and the rows a second import adds.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collectors.importers import import_aihub, import_timm, public_data_root  # noqa: E402
from collectors.store import ParquetStore  # noqa: E402


def cpu_seconds() -> float:
    """CPU time of this process and its finished workers: comparable across machine load."""
    self, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self.ru_utime + self.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=public_data_root() or REPO.parent / "shared" / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = ParquetStore(Path(tmp) / "store")
        start, cpu = time.perf_counter(), cpu_seconds()
        first = [import_aihub(args.data / "aihub", store), import_timm(args.data / "timm", store)]
        total, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        for s in first:
            print(f"first import  {s.source:6s} {s.seconds:6.1f} s  {s.summary()}")
        print(f"first import  total  {total:6.1f} s wall, {cpu:.1f} s CPU (goal <= 30 s wall; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
        start = time.perf_counter()
        again = [import_aihub(args.data / "aihub", store), import_timm(args.data / "timm", store)]
        total2 = time.perf_counter() - start
        for s in again:
            print(f"second import {s.source:6s} {s.seconds:6.1f} s  rows added: {s.added} "
                  f"(other tables: {sum(v for k, v in s.tables.items() if k != 'measurements')})")
        print(f"second import total  {total2:6.1f} s")
        added = sum(s.added + sum(s.tables.values()) for s in again)
        return 0 if added == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
