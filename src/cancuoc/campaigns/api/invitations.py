"""API: invitations of a session, choosing from the cohort, booking, rescheduling and
marking. The portal's citizen pages use the same services (views/portal.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from cancuoc.campaigns import selectors
from cancuoc.campaigns.models import Invitation
from cancuoc.campaigns.services import invitations as inv
from cancuoc.core.errors import OutOfScope

router = Router()


class InvitationOut(Schema):
    id: int
    code: str
    campaign_id: int
    session_id: int
    slot_id: int
    day: dt.date
    start: dt.time
    end: dt.time
    citizen_id: int
    citizen_name: str
    status: str
    priority: str
    application_id: str | None


class InvitationFilter(Schema):
    session_id: int | None = None
    campaign_id: int | None = None
    status: str | None = None


class InviteIn(Schema):
    citizen_ids: list[int] | None = Field(None, description="These citizens; else the cohort")
    hamlet: str | None = Field(None, description='e.g. "Thôn 3": the first part of the address')
    household_id: int | None = None
    priority: str | None = Field(
        None,
        description="home_visit, school, regular, or one flag: frail_elderly, disability, "
        "serious_illness, living_alone, war_merit",
    )
    school: str | None = None
    age_from: int | None = None
    age_to: int | None = None
    limit: int | None = None


class InviteOut(Schema):
    invited: list[InvitationOut]
    skipped: list[int] = Field(description="Citizens already invited in the campaign")
    not_placed: list[int] = Field(description="Citizens chosen for whom no place was left")


class BookIn(Schema):
    slot_id: int
    citizen_id: int


class RescheduleIn(Schema):
    slot_id: int


class MarkIn(Schema):
    status: str = Field(description="reminded, no_show or cancelled")


def _out(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "code": inv.code_display(invitation.code),
        "campaign_id": invitation.campaign_id,
        "session_id": invitation.session_id,
        "slot_id": invitation.slot_id,
        "day": invitation.session.day,
        "start": invitation.slot.start,
        "end": invitation.slot.end,
        "citizen_id": invitation.citizen_id,
        "citizen_name": invitation.citizen.full_name,
        "status": invitation.status,
        "priority": invitation.priority,
        "application_id": str(invitation.application_id) if invitation.application_id else None,
    }


def _get(request: HttpRequest, invitation_id: int) -> Invitation:
    found = inv.invitations_visible(user=request.user).filter(pk=invitation_id).first()
    if found is None:
        raise OutOfScope()
    return found


@router.get("/invitations", response=list[InvitationOut], summary="Invitations in scope")
def invitation_list(request: HttpRequest, filters: Query[InvitationFilter]) -> list[dict[str, Any]]:
    rows = inv.invitations_visible(
        user=request.user, session_id=filters.session_id, campaign_id=filters.campaign_id
    )
    if filters.status:
        rows = rows.filter(status=filters.status)
    out = [_out(i) for i in rows[:5000]]
    selectors.invitations_list_record(request.user, shown=len(out), **filters.dict())
    return out


@router.get("/invitations/{int:invitation_id}", response=InvitationOut, summary="One invitation")
def invitation_detail(request: HttpRequest, invitation_id: int) -> dict[str, Any]:
    return _out(selectors.invitation_get(request.user, invitation_id))


@router.post(
    "/sessions/{int:session_id}/invitations",
    response=InviteOut,
    summary="Invite citizens (given, or chosen from the cohort) into the session's slots",
)
def invitations_create(request: HttpRequest, session_id: int, body: InviteIn) -> dict[str, Any]:
    result = inv.invitations_create(actor=request.user, session_id=session_id, **body.dict())
    made = {i.pk for i in result.invited}
    rows = inv.invitations_visible(user=request.user).filter(pk__in=made)
    return {
        "invited": [_out(i) for i in rows],
        "skipped": result.skipped,
        "not_placed": result.not_placed,
    }


@router.post("/invitations", response={201: InvitationOut}, summary="Book one citizen")
def invitation_book(request: HttpRequest, body: BookIn) -> Status[dict[str, Any]]:
    made = inv.invitation_book(actor=request.user, slot_id=body.slot_id, citizen_id=body.citizen_id)
    return Status(201, _out(_get(request, made.pk)))


@router.post(
    "/invitations/{int:invitation_id}/reschedule",
    response=InvitationOut,
    summary="Move to another slot (a full slot: 400 and nothing changes)",
)
def invitation_reschedule(
    request: HttpRequest, invitation_id: int, body: RescheduleIn
) -> dict[str, Any]:
    inv.invitation_reschedule(actor=request.user, invitation_id=invitation_id, slot_id=body.slot_id)
    return _out(_get(request, invitation_id))


@router.post(
    "/invitations/{int:invitation_id}/status",
    response=InvitationOut,
    summary="Mark reminded, did not come or cancelled",
)
def invitation_mark(request: HttpRequest, invitation_id: int, body: MarkIn) -> dict[str, Any]:
    inv.invitation_mark(actor=request.user, invitation_id=invitation_id, status=body.status)
    return _out(_get(request, invitation_id))
