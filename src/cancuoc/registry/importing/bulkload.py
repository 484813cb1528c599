# SQL here is assembled from catalog names and definitions only (pg_get_indexdef).
# ruff: noqa: S608
"""Bulk-load mode (PostgreSQL): secondary indexes off during a large first load.

Writing a million new citizens one chunk at a time updates some ten indexes of
``registry_citizen`` (and those of households and documents) row by row; building an
index afterwards from sorted data is several times cheaper. So when an import is
about to add at least ``BULK_MIN_ROWS`` citizens, and at least ``BULK_RATIO`` times the
citizens already in the table (the index rebuild covers the whole table, every
province), the indexes that the import itself does not use are dropped and re-created
at the end.

Safety:
- The unique keys the upsert relies on (citizen ID number, household number) and the
  lookup index of document numbers stay: only indexes that back no constraint and
  either do not start with a lookup column or are its LIKE-prefix twin
  (``varchar_pattern_ops``) are dropped. The data are never at risk, only speed.
- Each index definition is recorded on the job row before the drop is committed;
  ``BulkLoad.end`` (called in the pipeline's ``finally``) re-creates them, and
  ``restore_dropped_indexes`` (run at the start of every import) re-creates any left
  behind by a process that died mid-import.
- A session advisory lock marks a bulk load in progress: a second import does not
  start another one, nor "restore" the indexes under the running one.
- The drop waits at most ``LOCK_TIMEOUT`` for its short exclusive lock; if readers
  hold the table, the import simply runs without bulk mode.
- The site stays usable meanwhile: reads and writes go on; name searches of the
  affected tables scan instead of using the word index until it is rebuilt.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db import DatabaseError, connection, connections, transaction

from cancuoc.registry.models import Citizen, Household, IdentityDocument, ImportJob

logger = logging.getLogger(__name__)

BULK_MIN_ROWS = 100_000
BULK_RATIO = 0.5
LOCK_TIMEOUT = "2s"
ADVISORY_KEY = 0x43414E43  # "CANC": one bulk load at a time, across processes
JOB_KEY = "dropped_indexes"
DONE_KEY = "bulk_load"

#: table -> columns the import looks rows up by (indexes starting with them stay).
LOOKUPS: dict[str, tuple[str, ...]] = {
    Citizen._meta.db_table: ("id_number",),
    Household._meta.db_table: ("number",),
    IdentityDocument._meta.db_table: ("number",),
}


def available() -> bool:
    return connection.vendor == "postgresql"


def wanted(*, new_rows: int, existing_rows: int) -> bool:
    """Whether rebuilding the indexes beats maintaining them row by row."""
    return new_rows >= BULK_MIN_ROWS and new_rows >= BULK_RATIO * existing_rows


def estimated_citizens() -> int:
    """The planner's row count of the citizen table (no count(*) over millions)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
            [Citizen._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def existing_share(numbers: list[str]) -> float:
    """The share of ``numbers`` already in the registry (a sample of the file)."""
    if not numbers:
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {Citizen._meta.db_table} WHERE id_number = ANY(%s)",
            [numbers],
        )
        found = int(cursor.fetchone()[0])
    return found / len(numbers)


def droppable_indexes(cursor: Any) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes bulk mode may drop."""
    found: list[tuple[str, str]] = []
    for table, lookups in LOOKUPS.items():
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), "
            "pg_get_indexdef(i.indexrelid, 1, true) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
            "AND NOT i.indisprimary AND NOT i.indisunique AND i.indisvalid "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname",
            [table],
        )
        for name, definition, first_column in cursor.fetchall():
            # The unique key answers the lookups; a LIKE-prefix twin of it is dead weight.
            if first_column.strip('"') not in lookups or "_pattern_ops" in definition:
                found.append((name, definition))
    return found


def _create_statement(definition: str) -> str:
    """pg_get_indexdef's statement, made idempotent."""
    for prefix in ("CREATE INDEX ", "CREATE UNIQUE INDEX "):
        if definition.startswith(prefix) and " IF NOT EXISTS " not in definition:
            return prefix + "IF NOT EXISTS " + definition[len(prefix) :]
    return definition


def _create(cursor: Any, definitions: list[str]) -> None:
    # Sorting a table of millions for each index: give the sort room (this session only).
    cursor.execute("SET maintenance_work_mem = '256MB'")
    try:
        for definition in definitions:
            cursor.execute(_create_statement(definition))
    finally:
        cursor.execute("RESET maintenance_work_mem")


def _create_side_by_side(definitions: list[str]) -> None:
    """Build the indexes on two connections at once (CREATE INDEX takes a SHARE lock,
    which two builds hold together): each build is one backend's CPU. Outside a
    transaction only; each index commits as it is built (all are IF NOT EXISTS)."""
    if len(definitions) < 2 or connection.in_atomic_block:
        with connection.cursor() as cursor:
            _create(cursor, definitions)
        return
    failures: list[BaseException] = []

    def build(part: list[str]) -> None:
        try:
            with connection.cursor() as cursor:
                _create(cursor, part)
        except BaseException as exc:  # re-raised on the caller's thread
            failures.append(exc)
        finally:
            connections.close_all()

    # The word (GIN) index is the longest build: it goes alone on the helper thread.
    ordered = sorted(definitions, key=lambda d: " USING gin " not in d)
    helper = threading.Thread(target=build, args=(ordered[:1],), name="import-index")
    helper.start()
    try:
        with connection.cursor() as cursor:
            _create(cursor, ordered[1:])
    finally:
        helper.join()
    if failures:
        raise failures[0]


def _try_lock(cursor: Any) -> bool:
    cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
    return bool(cursor.fetchone()[0])


def _unlock(cursor: Any) -> None:
    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])


class BulkLoad:
    """Drop the droppable indexes for one job; ``end`` puts them back."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.active = False
        self.dropped: list[str] = []

    def begin(self) -> bool:
        """Enter bulk mode if nobody else is in it and the drop's lock comes quickly."""
        if not available() or self.active:
            return False
        with connection.cursor() as cursor:
            if not _try_lock(cursor):
                return False
            try:
                with transaction.atomic():
                    indexes = droppable_indexes(cursor)
                    if not indexes:
                        _unlock(cursor)
                        return False
                    self._remember([d for _, d in indexes])
                    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                    for name, _definition in indexes:
                        cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
            except DatabaseError:
                logger.warning("bulk mode refused (the tables are busy); importing without it")
                _unlock(cursor)
                return False
        self.dropped = [d for _, d in indexes]
        self.active = True
        logger.info("bulk mode: dropped %d indexes", len(indexes))
        return True

    def end(self) -> None:
        """Re-create the dropped indexes (also after a failed import)."""
        if not self.active:
            return
        self.active = False
        started = time.perf_counter()
        try:
            _create_side_by_side(self.dropped)
            self._remember(
                None,
                {
                    "indexes": len(self.dropped),
                    "rebuild_seconds": round(time.perf_counter() - started, 1),
                },
            )
        finally:
            # If the rebuild failed, the definitions stay on the job for
            # restore_dropped_indexes; the lock must not outlive this import.
            with connection.cursor() as cursor:
                _unlock(cursor)

    def _remember(
        self, definitions: list[str] | None, done: dict[str, float] | None = None
    ) -> None:
        mapping = dict(self.job.mapping or {})
        if definitions is None:
            mapping.pop(JOB_KEY, None)
        else:
            mapping[JOB_KEY] = definitions
        if done is not None:
            mapping[DONE_KEY] = done  # shown in the command's summary
        self.job.mapping = mapping
        ImportJob.objects.filter(pk=self.job.pk).update(mapping=mapping)


def restore_dropped_indexes() -> int:
    """Re-create indexes a dead bulk load left dropped; returns how many jobs it fixed."""
    if not available():
        return 0
    jobs = list(ImportJob.objects.filter(mapping__has_key=JOB_KEY).only("pk", "mapping"))
    if not jobs:
        return 0
    with connection.cursor() as cursor:
        if not _try_lock(cursor):
            return 0  # a bulk load is running: its own `end` restores them
        try:
            for job in jobs:
                with transaction.atomic():
                    _create(cursor, list(job.mapping.get(JOB_KEY) or []))
                    mapping = dict(job.mapping)
                    mapping.pop(JOB_KEY, None)
                    ImportJob.objects.filter(pk=job.pk).update(mapping=mapping)
                logger.warning("restored the indexes left dropped by import %s", job.pk)
        finally:
            _unlock(cursor)
    return len(jobs)
