"""Citizen import: a province's population file through the full importer.

The file (CSV, UTF-8, the import column format) is written once by RC's
``population_rows`` for Hà Tĩnh's 2025 communes. Measured in the same run:

- baseline: the raw load of the same file with no validation (PostgreSQL ``COPY`` into
  an all-text table; SQLite ``executemany`` of the parsed rows);
- the import itself, run as the real command (``cancuoc import-citizens FILE``) in its
  own process so its peak memory is its own: first load (all inserts; on PostgreSQL in
  bulk-load mode, the index rebuild included in the time), then the same file again
  (idempotent: all unchanged).

The 1-minute load average after each measure is recorded with it: the 2 cores are
shared, and both the import and the database are CPU-bound.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection, transaction

from cancuoc.registry.models import Citizen, Household, IdentityDocument
from cancuoc.units.importers import units_import
from cancuoc.units.models import Unit

PROVINCE = "42"
SEED = 42


def _file(people: int) -> Path:
    from cancuoc.registry.population import IMPORT_COLUMNS, population_rows

    folder = Path(os.environ.get("CANCUOC_BENCH_DIR", "var/bench"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"registry_import_{PROVINCE}_{people}.csv"
    if path.exists():
        return path
    province = Unit.objects.get(edition="2025", code=PROVINCE)
    communes = list(province.children.order_by("code"))
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(IMPORT_COLUMNS))
        writer.writeheader()
        for row in population_rows(
            province_code=PROVINCE, communes=communes, people=people, seed=SEED
        ):
            writer.writerow(row)
    partial.rename(path)
    return path


def _clear() -> None:
    """Remove the province's citizens so the first load is all inserts."""
    with transaction.atomic():
        IdentityDocument.objects.filter(province_code=PROVINCE)._raw_delete("default")
        Household.objects.filter(province_code=PROVINCE).update(head=None)
        Citizen.objects.filter(province_code=PROVINCE)._raw_delete("default")
        Household.objects.filter(province_code=PROVINCE)._raw_delete("default")
    if connection.vendor == "postgresql":
        # The bench server runs with autovacuum off: without this, each run's deletes
        # leave millions of dead rows in the household and document tables and their
        # indexes, and the next first load is measured against that bloat.
        with connection.cursor() as cursor:
            for table in ("registry_citizen", "registry_household", "registry_identitydocument"):
                cursor.execute(f"VACUUM ANALYZE {table}")


def _raw_copy(path: Path) -> tuple[int, float]:
    """The same file loaded with no validation at all."""
    with path.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    columns = ", ".join(f'"{c}" text' for c in header)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_import")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE UNLOGGED TABLE bench_raw_import ({columns})")
            with (
                path.open("rb") as f,
                cursor.cursor.copy(
                    "COPY bench_raw_import FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
            ):
                while block := f.read(1 << 20):
                    copy.write(block)
        else:
            cursor.execute(f"CREATE TABLE bench_raw_import ({columns})")
            marks = ", ".join("?" * len(header))
            raw = cursor.cursor
            with path.open(encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                next(reader)
                while batch := [row for _, row in zip(range(20_000), reader, strict=False)]:
                    raw.executemany(f"INSERT INTO bench_raw_import VALUES ({marks})", batch)
        cursor.execute("SELECT count(*) FROM bench_raw_import")
        rows = cursor.fetchone()[0]
    elapsed = time.perf_counter() - started
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_import")
    return rows, elapsed


def _load() -> str:
    """The 1-minute load average just after a measure (2 cores are shared)."""
    return f"{os.getloadavg()[0]:.1f}"


def _import(path: Path) -> dict:
    """Run the real command in its own process; its JSON summary has time and memory."""
    command = [sys.executable, "-m", "cancuoc", "import-citizens", str(path), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())  # noqa: S603
    if done.returncode not in (0, 2):
        raise RuntimeError(f"import failed: {done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(*, people: int, **_scale: int) -> list[tuple[str, str, str]]:
    units_import(edition="2025")
    path = _file(people)
    size_mb = path.stat().st_size / 1e6
    _clear()
    raw_rows, raw_seconds = _raw_copy(path)
    raw_load = _load()
    first = _import(path)
    first_load = _load()
    again = _import(path)
    again_load = _load()
    assert first["rows"] == raw_rows, (first, raw_rows)
    assert first["inserted"] + first["rejected"] == raw_rows, first
    assert again["unchanged"] == first["inserted"] and again["inserted"] == 0, again
    baseline = (
        f"raw {'COPY' if connection.vendor == 'postgresql' else 'executemany'}: "
        f"{raw_rows / raw_seconds:,.0f} rows/s ({raw_seconds:.1f} s)"
    )
    bulk = first.get("bulk_load")
    mode = (
        f"; bulk-load mode, {bulk['indexes']} indexes rebuilt in {bulk['rebuild_seconds']:.1f} s"
        if bulk
        else ""
    )
    return [
        (
            f"import {raw_rows:,} rows ({size_mb:,.0f} MB CSV), full validation, first load "
            f"({first['inserted']:,} inserted, {first['rejected']:,} rejected{mode})",
            f"{first['rows_per_second']:,} rows/s ({first['elapsed_seconds']:.1f} s; "
            f"load average {first_load})",
            f"{baseline} (load average {raw_load})",
        ),
        (
            "same file again (idempotent upsert: all unchanged)",
            f"{again['rows_per_second']:,} rows/s ({again['elapsed_seconds']:.1f} s; "
            f"load average {again_load})",
            baseline,
        ),
        (
            "peak memory of the import process (first load / again)",
            f"{first['peak_memory_mb']:,.0f} MB / {again['peak_memory_mb']:,.0f} MB",
            "limit 500 MB",
        ),
    ]
