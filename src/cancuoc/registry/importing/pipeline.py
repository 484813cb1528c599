"""The streaming import loop: read -> validate -> de-duplicate -> write in chunks.

Memory is bounded by the chunk size (and the spilling ID set), never by the file. On
PostgreSQL outside a caller's transaction, a writer thread with its own connection
applies chunk N while this thread validates chunk N+1 (libpq releases the GIL), so
the database and Python work side by side on two cores.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, connections

from cancuoc.registry.importing.dedupe import SeenIds
from cancuoc.registry.importing.messages import issue_messages
from cancuoc.registry.importing.readers import RowProblem, Source
from cancuoc.registry.importing.validation import CleanRow, Issue, RowValidator
from cancuoc.registry.importing.writers import ChunkResult, Writer
from cancuoc.registry.models import ImportJob, ImportRowError

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


class _ThreadedWriter:
    """Runs Writer.write_chunk on its own thread and database connection."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.inbox: queue.Queue[tuple[Sequence[CleanRow], int] | None] = queue.Queue(maxsize=1)
        self.outbox: queue.Queue[tuple[int, ChunkResult]] = queue.Queue()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self.thread.start()

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
        self.inbox.put(None)
        self.thread.join()
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
) -> ImportJob:
    """Import every row of ``source``; update ``job``'s counters as chunks complete."""
    if parallel is None:
        # A caller's open transaction (a test) must see our writes: no second connection.
        parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    sink = _ErrorSink(job)
    seen = SeenIds()
    pipe: Any = _ThreadedWriter(writer) if parallel else _InlineWriter(writer)
    size = chunk_size()
    chunk: list[CleanRow] = []
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
            chunk.append(outcome)
            if len(chunk) >= size:
                pipe.submit(chunk, processed)
                chunk = []
                _account(job, pipe.collect(), sink)
                if time.monotonic() - last_report > 0.5:
                    last_report = _report(job, sink, processed, progress)
        pipe.submit(chunk, processed)
        _account(job, pipe.finish(), sink)
    finally:
        seen.close()
    _report(job, sink, processed, progress)
    return job


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
