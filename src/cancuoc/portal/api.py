"""Portal API (mounted at /api/v1/portal).

The citizen endpoints need no login (`auth=None`): each call carries the dossier code and
the second factor, and goes through the same throttled lookup as the page. The complaint
endpoints for officers use the API's normal authentication and the unit scope.
"""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import PermissionDenied
from cancuoc.core.middleware import request_client_address
from cancuoc.dossiers.models import Dossier
from cancuoc.portal import selectors, services
from cancuoc.portal.models import Complaint

router = Router(tags=["portal"])


class LookupIn(Schema):
    code: str = Field(..., max_length=60, description="The dossier code on the receipt")
    factor: str = Field(
        ..., max_length=6, description="Last 4 digits of the phone or last 6 of the ID number"
    )


class StepOut(Schema):
    at: dt.datetime
    label: str
    details: list[str]


class PublicDossierOut(Schema):
    code: str
    procedure_code: str
    procedure_name: str
    status: str
    status_label: str
    received_at: dt.datetime
    due_date: dt.date | None
    apology_due_date: dt.date | None
    returned_at: dt.datetime | None
    timeliness: str
    timeliness_label: str
    steps: list[StepOut]
    can_rate: bool
    rating: str
    delivery_status: str = Field(
        "", description="Postal return: '', waiting, in_transit, delivered or failed"
    )
    delivery_status_label: str
    tracking_number: str = Field("", description="Postal tracking number, when posted")
    delivered_on: dt.date | None


class RatingIn(LookupIn):
    score: Literal["very_satisfied", "satisfied", "not_satisfied"]
    comment: str = Field("", max_length=4000)


class RatingOut(Schema):
    code: str
    score: str


class ComplaintIn(Schema):
    kind: Literal["process", "officer", "feedback"]
    text: str = Field(..., max_length=4000)
    contact_name: str = Field(..., max_length=200)
    contact_phone: str = Field("", max_length=15)
    officer_named: str = Field("", max_length=200)
    dossier_code: str = Field("", max_length=60, description="With `factor`, for a dossier")
    factor: str = Field("", max_length=6)
    unit_id: int | None = Field(None, description="The office, when not about a dossier")


class ComplaintFiledOut(Schema):
    code: str
    unit_name: str
    due_date: dt.date
    status: str


class ComplaintOut(Schema):
    id: int
    code: str
    unit_id: int
    dossier_id: int | None
    kind: str
    officer_named: str
    text: str
    contact_name: str
    contact_phone: str
    status: str
    received_at: dt.datetime
    due_date: dt.date
    answer: str
    answered_at: dt.datetime | None


class ComplaintFilter(Schema):
    status: str | None = None


class HandleIn(Schema):
    status: Literal["in_progress", "answered", "closed"]
    answer: str = Field("", max_length=4000)


def _lookup(request: HttpRequest, code: str, factor: str) -> Dossier:
    try:
        return services.dossier_lookup(
            code=code, factor=factor, client_address=request_client_address(request), channel="api"
        )
    except services.LookupThrottled as exc:
        raise HttpError(429, exc.message) from None
    except services.LookupFailed as exc:
        raise HttpError(404, exc.message) from None


@router.post(
    "/lookup",
    auth=None,
    response=PublicDossierOut,
    summary="Look up a dossier by code and second factor (public, throttled)",
)
def lookup(request: HttpRequest, payload: LookupIn) -> selectors.PublicDossier:
    dossier = _lookup(request, payload.code, payload.factor)
    return selectors.dossier_public(dossier_id=dossier.pk)


@router.post(
    "/ratings",
    auth=None,
    response={201: RatingOut},
    summary="Rate a returned dossier, once (public)",
)
def rate(request: HttpRequest, payload: RatingIn) -> Status[dict[str, str]]:
    dossier = _lookup(request, payload.code, payload.factor)
    rating = services.rating_submit(
        dossier_id=dossier.pk, score=payload.score, comment=payload.comment
    )
    return Status(201, {"code": dossier.code, "score": rating.score})


@router.post(
    "/complaints",
    auth=None,
    response={201: ComplaintFiledOut},
    summary="File a complaint or feedback (public)",
)
def complaint_file(request: HttpRequest, payload: ComplaintIn) -> Status[dict[str, object]]:
    dossier_id = None
    if payload.dossier_code.strip():
        dossier_id = _lookup(request, payload.dossier_code, payload.factor).pk
    try:
        filed = services.complaint_file(
            kind=payload.kind,
            text=payload.text,
            contact_name=payload.contact_name,
            contact_phone=payload.contact_phone,
            officer_named=payload.officer_named,
            unit_id=payload.unit_id,
            dossier_id=dossier_id,
            client_address=request_client_address(request),
        )
    except services.ComplaintThrottled as exc:
        raise HttpError(429, exc.message) from None
    return Status(
        201,
        {
            "code": filed.code,
            "unit_name": filed.unit.name,
            "due_date": filed.due_date,
            "status": filed.status,
        },
    )


def _require_handler(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.HANDLE_COMPLAINTS):
        raise PermissionDenied()


@router.get("/complaints", response=list[ComplaintOut], summary="Complaints in the caller's scope")
@paginate(LimitOffsetPagination)
def complaints(request: HttpRequest, filters: Query[ComplaintFilter]):  # type: ignore[no-untyped-def]
    _require_handler(request)
    # The rows carry the citizens' names and phones: the selector audits the read.
    return selectors.complaints_visible(user=request.user, status=filters.status, audit=True)


@router.get("/complaints/{complaint_id}", response=ComplaintOut, summary="One complaint")
def complaint_get(request: HttpRequest, complaint_id: int) -> Complaint:
    _require_handler(request)
    return selectors.complaint_get(user=request.user, complaint_id=complaint_id)


@router.post(
    "/complaints/{complaint_id}/handle",
    response=ComplaintOut,
    summary="Move a complaint on: in progress, answered (with the answer), closed",
)
def complaint_handle(request: HttpRequest, complaint_id: int, payload: HandleIn) -> Complaint:
    return services.complaint_handle(
        actor=request.user,
        complaint_id=complaint_id,
        status=payload.status,
        answer=payload.answer,
    )
