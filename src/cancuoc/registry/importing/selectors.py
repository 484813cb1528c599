"""Reads of import jobs and their row errors, always within the user's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import scope_queryset
from cancuoc.registry.models import ImportJob, ImportRowError


def import_list(*, user: Any) -> QuerySet[ImportJob]:
    """Jobs of the user's unit subtree; only importers see them (the reports hold IDs)."""
    if not user_can(user, Capability.IMPORT_CITIZENS):
        return ImportJob.objects.none()
    return scope_queryset(ImportJob.objects.select_related("created_by", "unit"), user=user)


def import_get(*, user: Any, job_id: Any) -> ImportJob:
    job = import_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise OutOfScope
    return job


def import_errors(*, user: Any, job_id: Any) -> QuerySet[ImportRowError]:
    """The rejected rows of a job. They hold personal data (ID numbers, names) of people
    the file named, so every read (page download or API call) is audited here."""
    job = import_get(user=user, job_id=job_id)
    audit_record(
        actor=user,
        action="import.errors.view",
        obj=job,
        unit=job.unit,
        detail={"job": str(job.pk), "file": job.original_name, "rejected": job.rejected},
    )
    return ImportRowError.objects.filter(job=job).order_by("row_number", "id")


def import_percent(job: ImportJob) -> int:
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return 100
    if not job.total_rows:
        return 0
    return min(99, job.processed_rows * 100 // job.total_rows)
