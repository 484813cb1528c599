"""Citizen import use cases: start an import (upload or server file) and run it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Capability, Role, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, PermissionDenied
from cancuoc.core.scoping import scope_prefixes
from cancuoc.registry.importing import bulkload, pipeline
from cancuoc.registry.importing.columns import BY_KEY, map_header
from cancuoc.registry.importing.encodings import STREAM_CODECS
from cancuoc.registry.importing.messages import file_error
from cancuoc.registry.importing.readers import FileProblem, open_source
from cancuoc.registry.importing.validation import RowValidator, UnitRef
from cancuoc.registry.importing.writers import Writer
from cancuoc.registry.models import ImportJob
from cancuoc.units.models import Edition, Level, Unit

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")
ENCODING_CHOICES = ("auto", *STREAM_CODECS)


class ImportRefused(DomainError):
    default_message = _("The file cannot be imported.")


def _check_actor(actor: Any) -> None:
    if not user_can(actor, Capability.IMPORT_CITIZENS):
        raise PermissionDenied(str(_("You are not allowed to import citizens.")))


def _clean_options(encoding: str, mapping: dict[str, str] | None) -> tuple[str, dict[str, str]]:
    if encoding not in ENCODING_CHOICES:
        raise ImportRefused(str(_("Unknown encoding %(encoding)s.") % {"encoding": encoding}))
    mapping = dict(mapping or {})
    unknown = sorted(v for v in mapping.values() if v and v not in BY_KEY)
    if unknown:
        raise ImportRefused(
            str(_("Unknown column keys in the mapping: %(keys)s.") % {"keys": ", ".join(unknown)})
        )
    return ("" if encoding == "auto" else encoding), mapping


def import_start(
    *,
    actor: Any,
    upload: UploadedFile,
    encoding: str = "auto",
    mapping: dict[str, str] | None = None,
) -> ImportJob:
    """Store the uploaded file under MEDIA_ROOT/imports/ and queue its import.

    The file is copied in chunks (a multi-gigabyte upload never sits in memory) and
    the task is enqueued after commit, so the worker always finds the job row.
    """
    _check_actor(actor)
    stored_encoding, overrides = _clean_options(encoding, mapping)
    name = Path(upload.name or "upload.csv").name
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ImportRefused(str(_("Upload a .csv or .xlsx file.")))
    if not upload.size:
        raise ImportRefused(str(_("The file is empty.")))
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        job = ImportJob(
            unit=actor.unit,
            unit_path=actor.unit.path,
            created_by=actor,
            original_name=name[:255],
            file_format=suffix.lstrip(".")[:4],
            encoding=stored_encoding,
            mapping={"overrides": overrides},
        )
        target = folder / f"{job.id}{suffix}"
        with target.open("wb") as out:
            for part in upload.chunks():
                out.write(part)
        job.stored_path = str(target)
        job.save()
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def import_start_from_path(
    *,
    actor: Any,
    path: str | Path,
    encoding: str = "auto",
    mapping: dict[str, str] | None = None,
    unit: Unit | None = None,
) -> ImportJob:
    """A job for a file already on the server (the CLI): no copy, run by the caller.

    Without ``actor`` (an operator on the server) the import may write anywhere under
    ``unit`` (default: the nation).
    """
    if actor is not None:
        _check_actor(actor)
        unit = actor.unit
    if unit is None:
        unit = Unit.objects.get(path="/")
    stored_encoding, overrides = _clean_options(encoding, mapping)
    source = Path(path)
    return ImportJob.objects.create(
        unit=unit,
        unit_path=unit.path,
        created_by=actor,
        original_name=source.name[:255],
        stored_path=str(source.resolve()),
        file_format=source.suffix.lower().lstrip(".")[:4],
        encoding=stored_encoding,
        # Run on the server by an operator: may use bulk-load mode (see _bulk_allowed).
        mapping={"overrides": overrides, "origin": SERVER_ORIGIN},
    )


SERVER_ORIGIN = "server"


def _bulk_allowed(job: ImportJob) -> bool:
    """Bulk-load mode drops indexes of the whole national registry: only an operator's
    server-side job (the import-citizens command) or a system administrator's may use
    it, never a commune officer's web upload, however large."""
    if job.created_by is None or (job.mapping or {}).get("origin") == SERVER_ORIGIN:
        return True
    return bool(job.created_by.role == Role.SYSTEM_ADMIN)


def _enqueue(job_id: Any) -> None:
    from cancuoc.registry.importing.tasks import import_citizens_task

    import_citizens_task.enqueue(str(job_id))


def _units(prefixes: tuple[str, ...]) -> dict[str, UnitRef]:
    rows = Unit.objects.filter(edition=Edition.Y2025, level=Level.COMMUNE).values_list(
        "id", "code", "path", "province_code"
    )
    return {
        code: UnitRef(pk, path, province, any(path.startswith(p) for p in prefixes))
        for pk, code, path, province in rows
    }


def _fail(job: ImportJob, code: str, params: dict[str, Any] | None = None) -> ImportJob:
    job.status = ImportJob.Status.FAILED
    job.error_message = file_error(code, params)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error_message", "finished_at"])
    _audit(job)
    return job


def _audit(job: ImportJob) -> None:
    audit_record(
        actor=job.created_by,
        action="registry.import",
        obj=job,
        unit=job.unit,
        detail={
            "file": job.original_name,
            "status": job.status,
            "rows": job.processed_rows,
            "inserted": job.inserted,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "rejected": job.rejected,
        },
    )


def import_run(
    *,
    job_id: Any,
    progress: Callable[[ImportJob], None] | None = None,
    parallel: bool | None = None,
) -> ImportJob:
    """Run (or re-run: every step is idempotent) the import of one job.

    File-level problems fail the job before any row is written; row problems are
    stored as ImportRowError and the valid rows are applied.
    """
    # A bulk load that died (killed worker) left indexes dropped: put them back first.
    bulkload.restore_dropped_indexes()
    job = ImportJob.objects.select_related("created_by", "unit").get(pk=job_id)
    actor = job.created_by
    job.row_errors.all().delete()
    job.status = ImportJob.Status.RUNNING
    job.started_at, job.finished_at, job.error_message = timezone.now(), None, ""
    job.processed_rows = job.inserted = job.updated = job.unchanged = job.rejected = 0
    job.save()
    if actor is not None and not user_can(actor, Capability.IMPORT_CITIZENS):
        return _fail(job, "permission")
    prefixes = scope_prefixes(actor) if actor is not None else (job.unit_path,)
    try:
        return _execute(job, prefixes, progress, parallel)
    except Exception:
        logger.exception("import %s failed", job.pk)
        return _fail(job, "internal")


def _execute(
    job: ImportJob,
    prefixes: tuple[str, ...],
    progress: Callable[[ImportJob], None] | None,
    parallel: bool | None,
) -> ImportJob:
    try:
        source = open_source(job.stored_path, encoding=job.encoding or "auto")
    except FileProblem as problem:
        return _fail(job, problem.code, problem.params)
    bulk = bulkload.available() and _bulk_allowed(job)
    origin = (job.mapping or {}).get("origin")
    with source:
        mapping = map_header(source.header, job.mapping.get("overrides") or {})
        job.encoding = source.encoding[:20]
        job.file_format = source.format
        job.total_rows = source.total_rows
        job.mapping = {
            "overrides": job.mapping.get("overrides") or {},
            "columns": mapping.as_json(source.header),
            "ignored": list(mapping.ignored),
            "header_row": source.header_row,
        }
        if origin:
            job.mapping["origin"] = origin
        job.save(update_fields=["encoding", "file_format", "total_rows", "mapping"])
        if mapping.missing_required:
            return _fail(job, "missing_columns", {"columns": ", ".join(mapping.missing_required)})
        if mapping.duplicates:
            return _fail(job, "duplicate_columns", {"columns": ", ".join(mapping.duplicates)})
        units = _units(prefixes)
        validator = RowValidator(fields=mapping.fields, units=units, today=pipeline.today())
        writer = Writer(
            mapped_keys=list(mapping.fields),
            scope_prefixes=prefixes,
            unit_paths={u.id: (u.path, u.province_code) for u in units.values()},
        )
        pipeline.run(
            job=job,
            source=source,
            validator=validator,
            writer=writer,
            progress=progress,
            parallel=parallel,
            bulk=bulk,
        )
    if job.processed_rows == 0:
        return _fail(job, "no_rows")
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "total_rows"])
    _audit(job)
    return job
