"""API of the intake: the step-by-step calls a station client makes, and the whole
enrolment in one request (``POST /applications/complete``) for bulk clients and the
benchmark.

Thin: schemas check shapes, ``enrolment.services`` decide and write,
``enrolment.selectors`` read within the caller's scope. Every call that writes runs in
one transaction, so a refused capture (a corrupted or oversized image) leaves nothing
half-applied. Images come as base64 in JSON or as multipart files.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ValidationError

from cancuoc.enrolment import selectors, services
from cancuoc.enrolment.api._body import json_body, openapi_body, raw_body
from cancuoc.enrolment.models import Application
from cancuoc.enrolment.services.batch import application_enrol_created

router = Router()

#: Which capture kinds belong to which step (the order the wizard takes them in).
STEP_KINDS = {"fingerprints": ("slap", "rolled"), "face": ("face", "iris"), "sign": ("signature",)}
MAX_CAPTURES = 40


# --- Schemas --------------------------------------------------------------------------


class StartIn(Schema):
    station_id: int
    citizen_id: int
    application_id: uuid.UUID | None = Field(
        None, description="Chosen by the client so a retry creates nothing new"
    )
    kind: str | None = Field(None, description="first, renew or reissue; default: decided")
    session_id: int | None = None
    guardian_name: str = Field("", max_length=200)
    guardian_id_number: str = Field("", max_length=12)


class ConfirmIn(Schema):
    corrections: dict[str, Any] | None = Field(
        None, description="Registry field → corrected value; goes to the correction workflow"
    )
    evidence: str = ""


class CaptureIn(Schema):
    kind: str = Field(description="slap, rolled, face, iris or signature")
    position: str = Field("", max_length=4, description="R1–R5, L1–L5, RS/LS/TS, R/L or empty")
    image: str = Field(description="The image, base64 (PNG or JPEG)")
    content_type: str = Field("image/png", max_length=40)
    quality: int | None = Field(None, ge=0, le=100, description="As the device reported it")
    device: str = Field("", max_length=80)
    metrics: dict[str, Any] | None = None
    attempt: int | None = Field(None, ge=1, le=50)


class CapturesIn(Schema):
    captures: list[CaptureIn] = Field(max_length=MAX_CAPTURES)


class CaptureMeta(Schema):
    """One multipart file's facts (the ``meta`` JSON list, in the files' order)."""

    kind: str
    position: str = Field("", max_length=4)
    quality: int | None = Field(None, ge=0, le=100)
    device: str = Field("", max_length=80)
    metrics: dict[str, Any] | None = None
    attempt: int | None = Field(None, ge=1, le=50)


class DeviceCaptureIn(Schema):
    kind: str
    position: str = Field("", max_length=4)


class ExceptionIn(Schema):
    kind: str = Field("rolled", description='"rolled" (a finger) or "iris" (an eye)')
    position: str = Field(max_length=4)
    reason: str = Field(
        description="a finger: missing, amputated, bandaged or worn; an eye: missing, blind, "
        "injured or unreadable"
    )
    supervisor_username: str
    supervisor_password: str


class CancelIn(Schema):
    reason: str = Field(min_length=1)


class CompleteIn(StartIn):
    application_id: uuid.UUID = Field(description="Chosen by the client: a retry changes nothing")  # type: ignore[assignment]
    corrections: dict[str, Any] | None = None
    evidence: str = ""
    captures: list[CaptureIn] = Field(max_length=MAX_CAPTURES)
    exceptions: list[ExceptionIn] = Field(default_factory=list, max_length=10)


class CaptureOut(Schema):
    id: int
    kind: str
    position: str
    attempt: int
    quality: int | None
    accepted: bool
    exception: str
    digest: str | None = Field(None, alias="blob_id")
    captured_at: dt.datetime


class StepOut(Schema):
    step: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    server_ms: int
    retries: int
    exceptions: int


class ApplicationBriefOut(Schema):
    id: uuid.UUID
    status: str
    step: str
    dossier_id: int | None
    conflict_with_id: uuid.UUID | None


class ApplicationOut(ApplicationBriefOut):
    citizen_id: int
    station_id: int
    session_id: int | None
    operator: str
    kind: str
    law: str
    guardian_name: str
    guardian_id_number: str
    confirmed_data: dict[str, Any]
    started_at: dt.datetime
    completed_at: dt.datetime | None
    offline: bool
    dossier_code: str | None
    note: str
    steps: list[StepOut]
    captures: list[CaptureOut]

    @staticmethod
    def resolve_operator(obj: Application) -> str:
        return obj.operator.get_username()

    @staticmethod
    def resolve_dossier_code(obj: Application) -> str | None:
        return obj.dossier.code if obj.dossier is not None else None

    @staticmethod
    def resolve_steps(obj: Application) -> list[Any]:
        return sorted(obj.steps.all(), key=lambda s: s.started_at)

    @staticmethod
    def resolve_captures(obj: Application) -> list[Any]:
        return sorted(obj.captures.all(), key=lambda c: (c.captured_at, c.pk))


# --- Helpers --------------------------------------------------------------------------


def _decode(image: str) -> bytes:
    try:
        return base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        raise HttpError(400, _("An image is not valid base64.")) from None


def _capture_data(captures: Iterable[tuple[dict[str, Any], bytes]]) -> list[Any]:
    return [
        services.CaptureData(
            kind=meta["kind"],
            position=meta.get("position") or "",
            image=image,
            content_type=meta.get("content_type") or "image/png",
            quality=meta.get("quality"),
            device=meta.get("device") or "",
            metrics=meta.get("metrics"),
            attempt=meta.get("attempt"),
        )
        for meta, image in captures
    ]


def _captures_record(
    *, actor: Any, application_id: uuid.UUID, captures: Iterable[tuple[dict[str, Any], bytes]]
) -> list[Any]:
    # One batch: one lock, the images flushed together, the rows in bulk (services.batch).
    return services.captures_record(
        actor=actor, application_id=application_id, captures=_capture_data(captures)
    )


def _multipart_captures(request: HttpRequest) -> list[tuple[dict[str, Any], bytes]]:
    files = request.FILES.getlist("image")
    try:
        metas = [CaptureMeta.model_validate(m) for m in json.loads(request.POST.get("meta", "[]"))]
    except (ValueError, TypeError, ValidationError):
        raise HttpError(422, _("'meta' must be a JSON list of capture facts.")) from None
    if len(metas) != len(files) or not files or len(files) > MAX_CAPTURES:
        raise HttpError(
            422,
            _("Send 1 to %(max)d 'image' files and a 'meta' list of the same length.")
            % {"max": MAX_CAPTURES},
        )
    out = []
    for meta, upload in zip(metas, files, strict=True):
        facts = meta.dict()
        facts["content_type"] = upload.content_type or "image/png"
        out.append((facts, upload.read()))
    return out


def application_view(user: Any, application_id: uuid.UUID, *, audit: bool = True) -> Application:
    """The application as the API shows it. ``audit=False`` for the echo of a write: the
    service audited the write itself, by the same actor on the same application, so a
    second "viewed" row per request would only double the log (and the request's cost)."""
    return selectors.application_get(user, application_id, audit=audit)


# --- Step by step -----------------------------------------------------------------------


@router.post(
    "/applications",
    response={201: ApplicationOut},
    summary="Start an application for a citizen at a station (step 1 begins)",
)
def application_start(request: HttpRequest, payload: StartIn):  # type: ignore[no-untyped-def]
    application = services.application_start(actor=request.user, **payload.dict())
    return Status(201, application_view(request.user, application.pk, audit=False))


@router.get(
    "/applications/{uuid:application_id}", response=ApplicationOut, summary="One application"
)
def application_get(request: HttpRequest, application_id: uuid.UUID) -> Application:
    return application_view(request.user, application_id)


@router.post(
    "/applications/{uuid:application_id}/confirm",
    response=ApplicationOut,
    summary="Step 1: the citizen confirms the registry data (corrections go for approval)",
)
def application_confirm(request: HttpRequest, application_id: uuid.UUID, payload: ConfirmIn):  # type: ignore[no-untyped-def]
    services.application_confirm(
        actor=request.user, application_id=application_id, **payload.dict()
    )
    return application_view(request.user, application_id, audit=False)


@router.post(
    "/applications/{uuid:application_id}/captures",
    response={201: list[CaptureOut]},
    summary="Record captures: JSON with base64 images, or multipart 'image' files + 'meta'",
    openapi_extra=openapi_body(CapturesIn),
)
def captures_record(request: HttpRequest, application_id: uuid.UUID):  # type: ignore[no-untyped-def]
    if request.content_type == "multipart/form-data":
        raw_body(request)  # the size check
        captures = _multipart_captures(request)
    else:
        payload = json_body(request, CapturesIn)
        captures = [(c.dict(exclude={"image"}), _decode(c.image)) for c in payload.captures]
    with transaction.atomic():
        made = _captures_record(
            actor=request.user, application_id=application_id, captures=captures
        )
    return Status(201, made)


@router.post(
    "/applications/{uuid:application_id}/captures/device",
    response={201: CaptureOut},
    summary="Capture from the station's configured device (the simulator by default)",
)
def capture_from_device(request: HttpRequest, application_id: uuid.UUID, payload: DeviceCaptureIn):  # type: ignore[no-untyped-def]
    capture = services.capture_from_device(
        actor=request.user, application_id=application_id, **payload.dict()
    )
    return Status(201, capture)


@router.post(
    "/applications/{uuid:application_id}/exceptions",
    response={201: CaptureOut},
    summary="A finger exception signed by a supervisor on the spot",
)
def finger_exception(request: HttpRequest, application_id: uuid.UUID, payload: ExceptionIn):  # type: ignore[no-untyped-def]
    capture = services.biometric_exception_sign(
        actor=request.user, application_id=application_id, **payload.dict()
    )
    return Status(201, capture)


@router.post(
    "/applications/{uuid:application_id}/steps/{step}/complete",
    response=ApplicationOut,
    summary="Complete the current step (again: no change); completing 'sign' completes the intake",
)
def step_complete(request: HttpRequest, application_id: uuid.UUID, step: str) -> Application:
    services.step_complete(actor=request.user, application_id=application_id, step=step)
    return application_view(request.user, application_id, audit=False)


@router.post(
    "/applications/{uuid:application_id}/cancel",
    response=ApplicationOut,
    summary="Abandon the intake",
)
def application_cancel(
    request: HttpRequest, application_id: uuid.UUID, payload: CancelIn
) -> Application:
    services.application_cancel(
        actor=request.user, application_id=application_id, reason=payload.reason
    )
    return application_view(request.user, application_id, audit=False)


@router.get(
    "/stations/{int:station_id}/current",
    response=list[ApplicationBriefOut],
    summary="Intakes in progress at the station: where to resume after a cut",
)
def applications_current(request: HttpRequest, station_id: int) -> list[Application]:
    return selectors.application_current(request.user, station_id=station_id)


# --- The whole enrolment in one request ------------------------------------------------


def _complete(actor: Any, payload: CompleteIn) -> tuple[Application, bool]:
    """Start, confirm, capture and complete each step in order (``application_enrol``);
    the application and whether this request created it."""
    kinds = {k for step_kinds in STEP_KINDS.values() for k in step_kinds}
    unknown = {capture.kind for capture in payload.captures} - kinds
    if unknown:
        raise HttpError(
            400, _("Unknown capture kind: %(kind)s.") % {"kind": ", ".join(sorted(unknown))}
        )
    start = payload.dict(include=set(StartIn.model_fields))
    return application_enrol_created(
        actor=actor,
        **start,
        corrections=payload.corrections,
        evidence=payload.evidence,
        captures=_capture_data(
            (capture.dict(exclude={"image"}), _decode(capture.image))
            for capture in payload.captures
        ),
        exceptions=[exception.dict() for exception in payload.exceptions],
    )


@router.post(
    "/applications/complete",
    response={201: ApplicationBriefOut, 200: ApplicationBriefOut},
    summary="A whole enrolment in one request: start, confirm, every capture, every step",
    openapi_extra=openapi_body(CompleteIn),
)
def application_complete(request: HttpRequest):  # type: ignore[no-untyped-def]
    payload = json_body(request, CompleteIn)
    application, created = _complete(request.user, payload)  # one transaction
    return Status(201 if created else 200, application)
