"""The streaming import loop: read -> validate -> de-duplicate -> write in chunks.

Memory is bounded by the chunk size (and the spilling ID set), never by the file. On
PostgreSQL outside a caller's transaction, two writer threads, each with its own
connection, apply chunks while this thread validates the next (libpq releases the
GIL), so the database and Python work side by side on every core. A large first load
runs in bulk-load mode (bulkload.py).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, connections

from cancuoc.registry.importing import bulkload
from cancuoc.registry.importing.dedupe import SeenIds
from cancuoc.registry.importing.messages import issue_messages
from cancuoc.registry.importing.readers import RowProblem, Source
from cancuoc.registry.importing.validation import CITIZEN_COLUMNS, CleanRow, Issue, RowValidator
from cancuoc.registry.importing.writers import ChunkResult, Writer
from cancuoc.registry.models import ImportJob, ImportRowError

logger = logging.getLogger(__name__)
_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ERROR_BATCH = 2000


def chunk_size() -> int:
    # SQLite has one writer at a time: short transactions keep the site responsive.
    return 20_000 if connection.vendor == "postgresql" else 2_000


def today() -> dt.date:
    return dt.datetime.now(_TIMEZONE).date()


class _ErrorSink:
    """Row errors, stored in batches as they come (the report may be large)."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.pending: list[ImportRowError] = []
        self.count = 0  # rejected rows (a row may carry several issues)

    def reject(self, issues: Sequence[Issue]) -> None:
        self.count += 1
        for issue in issues:
            self.add(issue)

    def add(self, issue: Issue) -> None:
        vi, en = issue_messages(issue)
        self.pending.append(
            ImportRowError(
                job=self.job,
                row_number=issue.row_number,
                field=issue.field[:50],
                value=str(issue.value)[:255],
                code=issue.code[:40],
                message_vi=vi,
                message_en=en,
            )
        )
        if len(self.pending) >= ERROR_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            ImportRowError.objects.bulk_create(self.pending)
            self.pending = []


class _InlineWriter:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.done: list[tuple[int, ChunkResult]] = []

    def submit(self, rows: Sequence[CleanRow], processed: int) -> None:
        self.done.append((processed, self.writer.write_chunk(rows)))

    def collect(self) -> list[tuple[int, ChunkResult]]:
        done, self.done = self.done, []
        return done

    def finish(self) -> list[tuple[int, ChunkResult]]:
        return self.collect()


def writer_threads() -> int:
    """Writer connections merging chunks side by side. The merge of a chunk is mostly
    one PostgreSQL backend's CPU (foreign-key checks, index and heap inserts) while this
    thread needs a third of a core to validate the next one, so a second writer lets
    the database use the second core. Chunks touch distinct citizens (an ID number is
    accepted once per file); a household split across two chunks is merged by
    ``ON CONFLICT`` whichever commits first."""
    return 2


class _ThreadedWriter:
    """Runs Writer.write_chunk on ``threads`` threads, each with its own connection."""

    def __init__(self, writer: Writer, threads: int = 1) -> None:
        self.writer = writer
        # One chunk waiting: with one being filled and one per writer, memory stays a
        # few chunks whatever the file's size.
        self.inbox: queue.Queue[tuple[Sequence[CleanRow], int] | None] = queue.Queue(maxsize=1)
        self.outbox: queue.Queue[tuple[int, ChunkResult]] = queue.Queue()
        self.failure: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._run, name=f"import-writer-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        try:
            while (item := self.inbox.get()) is not None:
                if self.failure is None:
                    rows, processed = item
                    self.outbox.put((processed, self.writer.write_chunk(rows)))
        except BaseException as exc:  # handed to the caller's thread by finish()
            self.failure = exc
            while self.inbox.get() is not None:
                pass
        finally:
            connections.close_all()

    def submit(self, rows: Sequence[CleanRow], processed: int) -> None:
        if self.failure is not None:
            raise self.failure
        self.inbox.put((rows, processed))

    def collect(self) -> list[tuple[int, ChunkResult]]:
        done = []
        while True:
            try:
                done.append(self.outbox.get_nowait())
            except queue.Empty:
                return done

    def finish(self) -> list[tuple[int, ChunkResult]]:
        for _ in self.threads:
            self.inbox.put(None)
        for thread in self.threads:
            thread.join()
        if self.failure is not None:
            raise self.failure
        return self.collect()


def run(
    *,
    job: ImportJob,
    source: Source,
    validator: RowValidator,
    writer: Writer,
    progress: Callable[[ImportJob], None] | None = None,
    parallel: bool | None = None,
    bulk: bool | None = None,
) -> ImportJob:
    """Import every row of ``source``; update ``job``'s counters as chunks complete.

    ``bulk``: allow bulk-load mode (bulkload.py) when the file is large against the
    registry (None: on PostgreSQL). It is decided on the first chunk, before anything
    is written, and always undone before this function returns.
    """
    if parallel is None:
        # A caller's open transaction (a test) must see our writes: no second connection.
        parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    if bulk is None:
        bulk = bulkload.available()
    bulk_load = bulkload.BulkLoad(job)
    # Millions of short-lived row tuples trigger a full cyclic-GC pass every few
    # thousand rows (~12 % of validation time); none of them form cycles.
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        _stream(job, source, validator, writer, progress, parallel, bulk_load if bulk else None)
    finally:
        gc.set_threshold(*thresholds)
        if bulk_load.active:
            # Also after a failure; if the rebuild itself fails, the definitions stay
            # on the job and the next import restores them (bulkload.py).
            bulk_load.end()
    return job


_HOUSEHOLD = CITIZEN_COLUMNS.index("household_number")


def _same_household(a: CleanRow, b: CleanRow) -> bool:
    number = a.citizen[_HOUSEHOLD]
    return bool(number) and number == b.citizen[_HOUSEHOLD]


def _decide_bulk(job: ImportJob, bulk_load: bulkload.BulkLoad, chunk: list[CleanRow]) -> None:
    """Bulk mode if the file (sampled by its first chunk) adds many citizens."""
    sample = [row.citizen[1] for row in chunk[:2000]]
    expected = max(job.total_rows, len(chunk))
    new_rows = round(expected * (1 - bulkload.existing_share(sample)))
    if bulkload.wanted(new_rows=new_rows, existing_rows=bulkload.estimated_citizens()):
        bulk_load.begin()


def _stream(
    job: ImportJob,
    source: Source,
    validator: RowValidator,
    writer: Writer,
    progress: Callable[[ImportJob], None] | None,
    parallel: bool,
    bulk_load: bulkload.BulkLoad | None,
) -> None:
    sink = _ErrorSink(job)
    # ~100 bytes a number: 1.5 M in memory keeps the process under 500 MB beside the
    # chunks in flight; past that the set spills to disk (dedupe.py).
    seen = SeenIds(limit=1_500_000)
    pipe: Any = _ThreadedWriter(writer, writer_threads()) if parallel else _InlineWriter(writer)
    size = chunk_size()
    chunk: list[CleanRow] = []
    submitted = False
    processed = 0
    last_report = time.monotonic()
    try:
        for row_number, cells in source.rows():
            processed += 1
            if isinstance(cells, RowProblem):
                sink.reject([Issue(row_number, "", "", cells.code, cells.params)])
                continue
            outcome = validator.validate(row_number, cells)
            if isinstance(outcome, list):
                sink.reject(outcome)
                continue
            first = seen.first_row(outcome.citizen[1], row_number)
            if first is not None:
                duplicate = Issue(
                    row_number,
                    "so_dinh_danh",
                    outcome.citizen[1],
                    "duplicate_in_file",
                    {"first": first},
                )
                sink.reject([duplicate])
                continue
            # A full chunk goes when the household changes: a household kept in one chunk
            # is never merged by two writers at once (one would wait for the other).
            if len(chunk) >= size and not _same_household(chunk[-1], outcome):
                if bulk_load is not None and not submitted:
                    _decide_bulk(job, bulk_load, chunk)
                submitted = True
                pipe.submit(chunk, processed - 1)
                chunk = []
                _account(job, pipe.collect(), sink)
                if time.monotonic() - last_report > 0.5:
                    last_report = _report(job, sink, processed, progress)
            chunk.append(outcome)
        if bulk_load is not None and not submitted and chunk:
            _decide_bulk(job, bulk_load, chunk)
        pipe.submit(chunk, processed)
        _account(job, pipe.finish(), sink)
    finally:
        seen.close()
    _report(job, sink, processed, progress)


def _account(job: ImportJob, done: list[tuple[int, ChunkResult]], sink: _ErrorSink) -> None:
    for _, result in done:
        job.inserted += result.inserted
        job.updated += result.updated
        job.unchanged += result.unchanged
        for issue in result.issues:
            sink.reject([issue])


def _report(
    job: ImportJob,
    sink: _ErrorSink,
    processed: int,
    progress: Callable[[ImportJob], None] | None,
) -> float:
    sink.flush()
    job.processed_rows = processed
    job.rejected = sink.count
    if job.total_rows < processed:
        job.total_rows = processed
    ImportJob.objects.filter(pk=job.pk).update(
        processed_rows=job.processed_rows,
        total_rows=job.total_rows,
        inserted=job.inserted,
        updated=job.updated,
        unchanged=job.unchanged,
        rejected=job.rejected,
    )
    if progress is not None:
        progress(job)
    return time.monotonic()
