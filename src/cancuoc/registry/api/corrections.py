"""API: corrections of citizen records (propose, list, approve, reject, withdraw)."""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import PermissionDenied
from cancuoc.registry import corrections as selectors
from cancuoc.registry.models import Correction
from cancuoc.registry.services import (
    correction_approve,
    correction_propose,
    correction_reject,
    correction_withdraw,
)

router = Router(tags=["registry"])


class ChangeOut(Schema):
    before: str
    after: str


class CorrectionOut(Schema):
    id: int
    citizen_id: int
    kind: str
    status: str
    changes: dict[str, ChangeOut]
    reason: str
    evidence: str
    proposed_by: str = Field(..., alias="proposed_by.username")
    proposed_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None
    decision_note: str

    @staticmethod
    def resolve_decided_by(obj: Correction) -> str | None:
        return obj.decided_by.username if obj.decided_by else None


class CorrectionIn(Schema):
    citizen_id: int
    kind: str = Field(..., description="change | correct | supplement | death")
    changes: dict[str, str | None] = Field(
        ...,
        description='New values by field, dates ISO: {"birth_date": "1990-05-17"}',
    )
    reason: str
    evidence: str = ""


class DecisionIn(Schema):
    note: str = ""


class CorrectionFilter(Schema):
    status: str | None = Field(None, description="pending | approved | rejected | withdrawn")
    citizen_id: int | None = None
    mine: bool = Field(False, description="Only the caller's proposals")
    to_decide: bool = Field(False, description="Only proposals the caller may approve")


def _require_view(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.VIEW_REGISTRY):
        raise PermissionDenied


@router.get("/corrections", response=list[CorrectionOut], summary="Corrections in scope")
@paginate(LimitOffsetPagination)
def correction_list(request: HttpRequest, filters: Query[CorrectionFilter]):  # type: ignore[no-untyped-def]
    _require_view(request)
    if filters.to_decide:
        rows = selectors.corrections_pending_for_approval(user=request.user)
    elif filters.mine:
        rows = selectors.corrections_mine(user=request.user, status=filters.status)
    else:
        rows = selectors.corrections_visible(user=request.user, status=filters.status)
    if filters.citizen_id is not None:
        rows = rows.filter(citizen_id=filters.citizen_id)
    # The rows carry before/after personal data: the list read is audited.
    selectors.corrections_list_record(user=request.user, query=filters.dict(exclude_none=True))
    return rows


@router.get("/corrections/{correction_id}", response=CorrectionOut, summary="One correction")
def correction_detail(request: HttpRequest, correction_id: int) -> Correction:
    _require_view(request)
    return selectors.correction_get(user=request.user, correction_id=correction_id)


def _fresh(request: HttpRequest, correction_id: int) -> Correction:
    return selectors.correction_get(user=request.user, correction_id=correction_id)


@router.post("/corrections", response={201: CorrectionOut}, summary="Propose a correction")
def correction_create(request: HttpRequest, payload: CorrectionIn) -> Status[Correction]:
    correction = correction_propose(
        actor=request.user,
        citizen_id=payload.citizen_id,
        kind=payload.kind,
        changes=dict(payload.changes),
        reason=payload.reason,
        evidence=payload.evidence,
    )
    return Status(201, _fresh(request, correction.pk))


@router.post(
    "/corrections/{correction_id}/approve",
    response=CorrectionOut,
    summary="Approve (not your own) and update the record",
)
def correction_approve_endpoint(
    request: HttpRequest, correction_id: int, payload: DecisionIn
) -> Correction:
    correction_approve(actor=request.user, correction_id=correction_id, note=payload.note)
    return _fresh(request, correction_id)


@router.post("/corrections/{correction_id}/reject", response=CorrectionOut, summary="Reject")
def correction_reject_endpoint(
    request: HttpRequest, correction_id: int, payload: DecisionIn
) -> Correction:
    correction_reject(actor=request.user, correction_id=correction_id, note=payload.note)
    return _fresh(request, correction_id)


@router.post(
    "/corrections/{correction_id}/withdraw", response=CorrectionOut, summary="Withdraw your own"
)
def correction_withdraw_endpoint(request: HttpRequest, correction_id: int) -> Correction:
    correction_withdraw(actor=request.user, correction_id=correction_id)
    return _fresh(request, correction_id)
