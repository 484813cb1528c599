"""API: citizen imports (upload a file, follow its progress, read its rejected rows)."""

import datetime as dt
import uuid

from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from cancuoc.registry.importing.messages import file_error_text
from cancuoc.registry.importing.selectors import (
    import_errors,
    import_get,
    import_list,
    import_percent,
)
from cancuoc.registry.importing.services import import_start
from cancuoc.registry.models import ImportJob

router = Router(tags=["registry"])


class ImportOut(Schema):
    id: uuid.UUID
    original_name: str
    status: str
    file_format: str
    encoding: str
    percent: int
    total_rows: int
    processed_rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_percent(job: ImportJob) -> int:
        return import_percent(job)

    @staticmethod
    def resolve_error(job: ImportJob) -> str:
        return file_error_text(job.error_message)


class RowErrorOut(Schema):
    row_number: int
    field: str
    value: str
    code: str
    message_vi: str
    message_en: str


class ImportIn(Schema):
    encoding: str = "auto"


@router.post("/imports", response={201: ImportOut}, summary="Upload a CSV/XLSX file to import")
def create_import(
    request: HttpRequest, options: Form[ImportIn], file: File[UploadedFile]
) -> tuple[int, ImportJob]:
    job = import_start(actor=request.user, upload=file, encoding=options.encoding)
    job.refresh_from_db()
    return 201, job


@router.get("/imports", response=list[ImportOut], summary="Imports in the caller's scope")
@paginate(LimitOffsetPagination)
def list_imports(request: HttpRequest):  # type: ignore[no-untyped-def]
    return import_list(user=request.user)


@router.get("/imports/{job_id}", response=ImportOut, summary="One import and its progress")
def get_import(request: HttpRequest, job_id: uuid.UUID) -> ImportJob:
    return import_get(user=request.user, job_id=job_id)


@router.get(
    "/imports/{job_id}/errors", response=list[RowErrorOut], summary="Rejected rows of an import"
)
@paginate(LimitOffsetPagination)
def list_import_errors(request: HttpRequest, job_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return import_errors(user=request.user, job_id=job_id)
