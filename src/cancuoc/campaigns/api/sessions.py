"""API: sessions (the calendar, planning, changes, status), their slots, home visits and
school sessions, notice jobs and the SMS/Zalo file. Services decide and write; reads are
scoped to the caller's units."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from cancuoc.campaigns import notices, selectors
from cancuoc.campaigns.models import Session
from cancuoc.campaigns.services import sessions as svc

router = Router()


class SlotOut(Schema):
    id: int
    start: dt.time
    end: dt.time
    capacity: int = Field(description="Invitation capacity: what the team serves ÷ show-up rate")
    booked: int


class SessionOut(Schema):
    id: int
    campaign_id: int
    unit_id: int
    unit_name: str
    team_id: int
    team_name: str
    site_kind: str
    site_name: str
    mobile: bool
    day: dt.date
    start_time: dt.time
    end_time: dt.time
    shifts: list[dict[str, Any]]
    sets: int
    service_minutes: float
    capacity: int = Field(description="Citizens the session can serve: sets × minutes ÷ service")
    status: str


class SessionDetailOut(SessionOut):
    slots: list[SlotOut]


class SessionFilter(Schema):
    campaign_id: int | None = None
    team_id: int | None = None
    unit_id: int | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None


class SessionIn(Schema):
    campaign_id: int
    unit_id: int
    team_id: int
    site_kind: str = Field(description="commune_office, school, enterprise, agency, village_hall")
    site_name: str
    day: dt.date
    start_time: str | None = Field(None, description="HH:MM (not needed with pattern_id)")
    end_time: str | None = Field(None, description="HH:MM (not needed with pattern_id)")
    sets: int = 1
    shifts: list[dict[str, Any]] | None = Field(
        None, description='[{"start": "07:00", "end": "11:00", "staff": 6}, ...]'
    )
    equipment_ids: list[int] = Field(default_factory=list)
    slot_minutes: int = 30
    service_minutes: float | None = Field(
        None,
        description="Default: the median measured at the unit's stations over 30 days "
        "(at least 30 intakes), else the campaign's",
    )
    pattern_id: int | None = Field(
        None,
        description="A shift pattern: its shifts set the hours and staff; a day it does not "
        "run on is refused",
    )


class SessionChangeIn(Schema):
    start_time: str | None = None
    end_time: str | None = None
    sets: int | None = None
    shifts: list[dict[str, Any]] | None = None


class MoveOut(Schema):
    citizen_id: int
    old_invitation_id: int
    new_invitation_id: int
    new_session_id: int
    new_day: dt.date
    new_start: dt.time


class ChangeOut(Schema):
    session: SessionDetailOut
    capacity_before: int
    capacity_after: int
    moved: list[MoveOut]
    unplaced: list[int] = Field(description="Invitations cancelled with nowhere to go")
    notice_job_id: str | None


class StatusIn(Schema):
    status: str = Field(description="open, closed or cancelled")


class HomeVisitsIn(Schema):
    campaign_id: int
    unit_id: int
    team_id: int
    day: dt.date
    start_time: str = "08:00"
    end_time: str = "17:00"
    visit_minutes: int = 30


class SchoolSessionIn(Schema):
    campaign_id: int
    unit_id: int
    team_id: int
    school: str
    day: dt.date
    start_time: str = "07:30"
    end_time: str = "11:00"
    sets: int = 1
    slot_minutes: int = 30


class NoticesIn(Schema):
    per_page: int = Field(1, description="1, 2 or 4 notices to an A4 page")


class NoticeJobOut(Schema):
    id: str
    campaign_id: int
    session_id: int | None
    per_page: int
    status: str
    done: int
    total: int
    error_message: str
    ready: bool


def _session(session: Session, *, slots: bool = True) -> dict[str, Any]:
    data = {
        "id": session.pk,
        "campaign_id": session.campaign_id,
        "unit_id": session.unit_id,
        "unit_name": session.unit.name,
        "team_id": session.team_id,
        "team_name": session.team.name,
        "site_kind": session.site_kind,
        "site_name": session.site_name,
        "mobile": session.mobile,
        "day": session.day,
        "start_time": session.start_time,
        "end_time": session.end_time,
        "shifts": session.shifts,
        "sets": session.sets,
        "service_minutes": float(session.service_minutes),
        "capacity": session.capacity,
        "status": session.status,
    }
    if slots:
        data["slots"] = list(
            session.slots.filter(capacity__gt=0)
            .order_by("start")
            .values("id", "start", "end", "capacity", "booked")
        )
    return data


def _job(job: Any) -> dict[str, Any]:
    return {
        "id": str(job.pk),
        "campaign_id": job.campaign_id,
        "session_id": job.session_id,
        "per_page": job.per_page,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "error_message": job.error_message,
        "ready": job.status == "done" and bool(job.stored_path),
    }


@router.get("/sessions", response=list[SessionOut], summary="Sessions in the caller's units")
def session_list(request: HttpRequest, filters: Query[SessionFilter]) -> list[dict[str, Any]]:
    rows = svc.sessions_visible(user=request.user, **filters.dict())
    return [_session(s, slots=False) for s in rows[:1000]]


@router.post("/sessions", response={201: SessionDetailOut}, summary="Plan a session")
def session_create(request: HttpRequest, body: SessionIn) -> Status[dict[str, Any]]:
    session = svc.session_create(actor=request.user, **body.dict())
    return Status(201, _session(svc.session_get(user=request.user, session_id=session.pk)))


@router.get("/sessions/{int:session_id}", response=SessionDetailOut, summary="One session")
def session_detail(request: HttpRequest, session_id: int) -> dict[str, Any]:
    return _session(svc.session_get(user=request.user, session_id=session_id))


@router.patch(
    "/sessions/{int:session_id}",
    response=ChangeOut,
    summary="Change hours, shifts or sets; whoever no longer fits is re-invited",
)
def session_change(request: HttpRequest, session_id: int, body: SessionChangeIn) -> dict[str, Any]:
    result = svc.session_change(
        actor=request.user, session_id=session_id, **body.dict(exclude_unset=True)
    )
    return {
        "session": _session(svc.session_get(user=request.user, session_id=session_id)),
        "capacity_before": result.capacity_before,
        "capacity_after": result.capacity_after,
        "moved": [m.__dict__ for m in result.moved],
        "unplaced": result.unplaced,
        "notice_job_id": str(result.notice_job.pk) if result.notice_job else None,
    }


@router.post(
    "/sessions/{int:session_id}/status", response=SessionOut, summary="Open, close or cancel"
)
def session_status(request: HttpRequest, session_id: int, body: StatusIn) -> dict[str, Any]:
    svc.session_status_set(actor=request.user, session_id=session_id, status=body.status)
    return _session(svc.session_get(user=request.user, session_id=session_id), slots=False)


@router.post(
    "/home-visits",
    response={201: SessionDetailOut},
    summary="Plan home visits for the cohort's priority groups",
)
def home_visits(request: HttpRequest, body: HomeVisitsIn) -> Status[dict[str, Any]]:
    session = svc.home_visits_plan(actor=request.user, **body.dict())
    return Status(201, _session(svc.session_get(user=request.user, session_id=session.pk)))


@router.post(
    "/school-sessions",
    response={201: SessionDetailOut},
    summary="Plan a session at a school and invite its students",
)
def school_session(request: HttpRequest, body: SchoolSessionIn) -> Status[dict[str, Any]]:
    session = svc.school_session_plan(actor=request.user, **body.dict())
    return Status(201, _session(svc.session_get(user=request.user, session_id=session.pk)))


@router.post(
    "/sessions/{int:session_id}/notices",
    response={202: NoticeJobOut},
    summary="Print the session's notices (a background job)",
)
def notices_start(request: HttpRequest, session_id: int, body: NoticesIn) -> Status[dict[str, Any]]:
    session = svc.session_get(user=request.user, session_id=session_id)
    job = notices.notices_start(
        actor=request.user,
        campaign_id=session.campaign_id,
        session_id=session.pk,
        per_page=body.per_page,
    )
    return Status(202, _job(job))


@router.get("/notice-jobs/{job_id}", response=NoticeJobOut, summary="A notice job's progress")
def notice_job(request: HttpRequest, job_id: uuid.UUID) -> dict[str, Any]:
    return _job(notices.notice_job_get(user=request.user, job_id=job_id))


@router.get("/notice-jobs/{job_id}/pdf", summary="The notices, once printed (PDF)")
def notice_job_pdf(request: HttpRequest, job_id: uuid.UUID) -> FileResponse:

    job = notices.notice_job_get(user=request.user, job_id=job_id)
    if job.status != "done" or not job.stored_path:
        raise Http404
    selectors.notices_download_record(request.user, job)
    return FileResponse(
        open(job.stored_path, "rb"),
        content_type="application/pdf",
        filename=f"giay-moi-{job.pk}.pdf",
    )


@router.get(
    "/sessions/{int:session_id}/messages.csv",
    summary="The session's SMS or Zalo file (CSV phone,text)",
)
def messages_csv(request: HttpRequest, session_id: int, channel: str = "sms") -> HttpResponse:
    data = notices.messages_export(user=request.user, session_id=session_id, channel=channel)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tin-nhan-{session_id}-{channel}.csv"'
    return response
