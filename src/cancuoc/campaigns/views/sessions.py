"""Pages: the sessions calendar (a week per team or per unit), a new session, a session's
page (capacity, slots, inviting citizens, printing notices, the SMS file, attendance),
the progress of a batch of notices, and planning home visits and school sessions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db.models import Count, Q, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.campaigns import notices, selectors
from cancuoc.campaigns.forms import (
    MARK_CHOICES,
    HomeVisitForm,
    InviteForm,
    MarkForm,
    NoticeForm,
    SchoolSessionForm,
    SessionChangeForm,
    SessionForm,
)
from cancuoc.campaigns.models import (
    EquipmentSet,
    EquipmentState,
    InvitationStatus,
    NoticeJob,
    Session,
    SessionStatus,
    ShiftPattern,
    SiteKind,
    Team,
)
from cancuoc.campaigns.services import invitations as invitation_services
from cancuoc.campaigns.services import sessions as session_services
from cancuoc.campaigns.views.common import (
    campaign_context,
    campaign_get,
    campaign_today,
    can_schedule,
    day_param,
    guard,
    num,
    session_get,
    units_for_user,
)
from cancuoc.core.errors import DomainError
from cancuoc.core.scoping import scope_queryset
from cancuoc.registry.cohort import GROUP_LABELS
from cancuoc.registry.models import Household
from cancuoc.units.models import Unit

ATTENDANCE_PAGE = 500  # a session rarely invites more; the rest is one click away


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _teams(user: Any) -> list[Team]:
    return list(
        scope_queryset(Team.objects.filter(is_active=True), user=user, lookup="unit_path")
        .select_related("unit")
        .order_by("name")[:500]
    )


def _week(request: HttpRequest, default: dt.date) -> tuple[dt.date, list[dt.date]]:
    start = _week_start(day_param(request, "week", default))
    return start, [start + dt.timedelta(days=i) for i in range(7)]


def _chips(sessions: list[Session]) -> dict[tuple[Any, dt.date], list[Session]]:
    cells: dict[tuple[Any, dt.date], list[Session]] = defaultdict(list)
    for s in sessions:
        cells[(s.team_id, s.day)].append(s)
        cells[(f"u{s.unit_id}", s.day)].append(s)
    return cells


def _week_rows(sessions: list[Session], by: str, days: list[dt.date]) -> list[dict[str, Any]]:
    """One row per team (or unit) that has a session this week, one cell per day."""
    cells = _chips(sessions)
    keyed: dict[Any, Any] = {}
    for s in sessions:
        if by == "unit":
            keyed.setdefault(f"u{s.unit_id}", s.unit)
        else:
            keyed.setdefault(s.team_id, s.team)
    rows = []
    for key, owner in sorted(keyed.items(), key=lambda kv: kv[1].name):
        rows.append(
            {
                "owner": owner,
                "key": key,
                "cells": [{"day": d, "sessions": cells.get((key, d), [])} for d in days],
            }
        )
    return rows


def _week_sessions(user: Any, days: list[dt.date], **filters: Any) -> list[Session]:
    sessions = scope_queryset(
        Session.objects.filter(day__gte=days[0], day__lte=days[-1], **filters),
        user=user,
        lookup="unit_path",
    )
    return list(
        sessions.select_related("team", "unit", "campaign")
        .annotate(booked=Sum("slots__booked"))
        .order_by("day", "start_time")[:2000]
    )


def _week_context(request: HttpRequest, start: dt.date, days: list[dt.date]) -> dict[str, Any]:
    return {
        "days": days,
        "week_prev": (start - dt.timedelta(days=7)).isoformat(),
        "week_next": (start + dt.timedelta(days=7)).isoformat(),
        "week_label": f"{days[0]:%d/%m} – {days[-1]:%d/%m/%Y}",
        "today": dt.date.today(),
    }


@login_required
@guard
def sessions_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    """The campaign's sessions in a week, one row per team (or per unit with ?by=unit)."""
    campaign = campaign_get(request, slug)
    by = "unit" if request.GET.get("by") == "unit" else "team"
    start, days = _week(request, campaign_today(campaign))
    sessions = _week_sessions(request.user, days, campaign=campaign)
    context = campaign_context(
        request,
        campaign,
        by=by,
        rows=_week_rows(sessions, by, days),
        session_count=len(sessions),
        **_week_context(request, start, days),
    )
    return render(request, "campaigns/sessions/calendar.html", context)


@login_required
@guard
def team_calendar(request: HttpRequest, team_id: int) -> HttpResponse:
    """One team's week, whatever campaign each session belongs to."""
    if not user_can(request.user, Capability.VIEW_CAMPAIGNS):
        raise HttpForbidden
    team = (
        scope_queryset(Team.objects.all(), user=request.user, lookup="unit_path")
        .select_related("unit")
        .filter(pk=team_id)
        .first()
    )
    if team is None:
        raise Http404
    start, days = _week(request, dt.date.today())
    sessions = _week_sessions(request.user, days, team=team)
    context = {
        "team": team,
        "by": "team",
        "rows": _week_rows(sessions, "team", days)
        or [{"owner": team, "key": team.pk, "cells": [{"day": d, "sessions": []} for d in days]}],
        "session_count": len(sessions),
        "members": list(team.members.all()),
        "kits": list(team.equipment_sets.all()),
        **_week_context(request, start, days),
    }
    return render(request, "campaigns/sessions/team.html", context)


# --- Creating a session ----------------------------------------------------------------------


def _session_choices(user: Any, campaign: Any) -> dict[str, list[tuple[int, str]]]:
    teams = _teams(user)
    kits = scope_queryset(
        EquipmentSet.objects.exclude(state__in=[EquipmentState.REPAIR, EquipmentState.RETIRED]),
        user=user,
        lookup="unit_path",
    ).select_related("team")[:500]
    patterns = scope_queryset(
        ShiftPattern.objects.select_related("unit"), user=user, lookup="unit_path"
    ).order_by("name")[:200]
    return {
        "units": [(u.pk, u.name) for u in units_for_user(user, campaign)],
        "teams": [(t.pk, f"{t.name} ({t.unit.name})") for t in teams],
        "equipment": [
            (k.pk, f"{k.serial}" + (f" · {k.team.name}" if k.team else "")) for k in kits
        ],
        "patterns": [(p.pk, f"{p.name} ({p.unit.name})") for p in patterns],
    }


def _service_proposal(
    user: Any, campaign: Any, units: list[tuple[int, str]], raw: Any
) -> session_services.ServiceMinutes | None:
    """The service time proposed for the unit picked (else the first of the form's units):
    the stations' measured median or the campaign's figure, with its source."""
    ids = [choice[0] for choice in units]
    if not ids:
        return None
    picked = int(raw) if str(raw or "").isdigit() and int(raw) in ids else ids[0]
    unit = Unit.objects.filter(pk=picked).first()
    if unit is None:
        return None
    return session_services.service_minutes_default(user=user, campaign=campaign, unit=unit)


@login_required
@guard
def session_create(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = campaign_get(request, slug)
    if not can_schedule(request.user):
        raise HttpForbidden
    choices = _session_choices(request.user, campaign)
    status = 200
    picked = request.POST.get("unit_id") if request.method == "POST" else request.GET.get("unit")
    proposal = _service_proposal(request.user, campaign, choices["units"], picked)
    if request.method == "POST":
        form = SessionForm(request.POST, **choices)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                session = session_services.session_create(
                    actor=request.user, campaign_id=campaign.pk, **data
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("The session was created: %(count)s places.")
                    % {"count": num(session.capacity)},
                )
                return redirect("campaigns:session", session.pk)
        status = 400
    else:
        initial = {
            "day": day_param(request, "day", campaign_today(campaign)),
            "start_time": dt.time(7, 30),
            "end_time": dt.time(11, 30),
            "site_kind": SiteKind.COMMUNE_OFFICE,
        }
        if request.GET.get("team", "").isdigit():
            initial["team_id"] = int(request.GET["team"])
        if request.GET.get("unit", "").isdigit():
            initial["unit_id"] = int(request.GET["unit"])
        if proposal is not None:
            initial["service_minutes"] = proposal.minutes
        form = SessionForm(initial=initial, **choices)
    if proposal is not None:
        form.fields["service_minutes"].help_text = " ".join(
            (proposal.describe(), _("Left empty: the figure for the unit chosen."))
        )
    context = campaign_context(
        request,
        campaign,
        form=form,
        service_minutes=proposal.minutes if proposal else campaign.service_minutes,
        service_proposal=proposal,
    )
    return render(request, "campaigns/sessions/create.html", context, status=status)


# --- A session's page ---------------------------------------------------------------------------


def _counts(session: Session) -> dict[str, int]:
    rows = session.invitations.values("status").annotate(n=Count("id"))
    counts = {r["status"]: r["n"] for r in rows}
    return {status: counts.get(status, 0) for status in InvitationStatus.values}


def _session_context(request: HttpRequest, session: Session, **extra: Any) -> dict[str, Any]:
    slots = list(session.slots.all())
    booked = sum(s.booked for s in slots)
    capacity = sum(s.capacity for s in slots)
    invitations = session.invitations.select_related("citizen", "slot").order_by(
        "slot__start", "citizen__full_name"
    )[:ATTENDANCE_PAGE]
    counts = _counts(session)
    job = (
        NoticeJob.objects.filter(session=session).order_by("-created_at").first()
        if can_schedule(request.user)
        else None
    )
    status_labels = dict(InvitationStatus.choices)
    context = campaign_context(
        request,
        session.campaign,
        session=session,
        slots=[
            {
                "slot": s,
                "percent": round(100 * s.booked / s.capacity) if s.capacity else 100,
                "full": s.booked >= s.capacity,
            }
            for s in slots
        ],
        booked=booked,
        slot_capacity=capacity,
        capacity_text=num(session.capacity),
        invitations=[(i, str(GROUP_LABELS.get(i.priority, i.priority))) for i in invitations],
        invitation_total=sum(counts.values()),
        counts=[(status_labels[k], k, v) for k, v in counts.items()],
        attended=counts[InvitationStatus.ATTENDED],
        invite_form=extra.pop("invite_form", None) or InviteForm(),
        notice_form=NoticeForm(),
        change_form=extra.pop("change_form", None)
        or SessionChangeForm(
            initial={
                "start_time": session.start_time,
                "end_time": session.end_time,
                "sets": session.sets,
            }
        ),
        mark_choices=MARK_CHOICES,
        job=job,
        **extra,
    )
    return context


@login_required
@guard
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(request, pk)
    context = _session_context(request, session)
    # The attendance list shows the invited citizens' names: one audit row per view.
    selectors.invitations_list_record(
        request.user, shown=len(context["invitations"]), session=session.pk
    )
    return render(request, "campaigns/sessions/detail.html", context)


def _schedule(request: HttpRequest, pk: int) -> Session:
    session = session_get(request, pk)
    if not can_schedule(request.user):
        raise HttpForbidden
    return session


def _household_id(request: HttpRequest, number: str) -> int | None:
    """A household number typed on the form → its id, within the user's scope."""
    household = (
        scope_queryset(Household.objects.all(), user=request.user, lookup="unit_path")
        .filter(number=number.strip())
        .values_list("pk", flat=True)
        .first()
    )
    return household


@login_required
@require_POST
@guard
def session_invite(request: HttpRequest, pk: int) -> HttpResponse:
    session = _schedule(request, pk)
    form = InviteForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        household = data.pop("household", "")
        filters: dict[str, Any] = {k: v for k, v in data.items() if v not in (None, "")}
        if household:
            household_id = _household_id(request, household)
            if household_id is None:
                form.add_error("household", _("No household with this number in your units."))
            filters["household_id"] = household_id
        if form.is_valid():
            try:
                result = invitation_services.invitations_create(
                    actor=request.user, session_id=session.pk, **filters
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _invite_message(result))
                return redirect(f"{reverse('campaigns:session', args=[pk])}#invitations")
    return render(
        request,
        "campaigns/sessions/detail.html",
        _session_context(request, session, invite_form=form),
        status=400,
    )


def _invite_message(result: Any) -> str:
    invited, skipped = len(result.invited), len(result.skipped)
    text = _("%(count)s citizens were invited.") % {"count": num(invited)}
    if skipped:
        text += " " + _("%(count)s already invited were skipped.") % {"count": num(skipped)}
    unplaced = len(result.not_placed)
    if unplaced:
        text += " " + _("%(count)s did not fit in the free places.") % {"count": num(unplaced)}
    return text


@login_required
@require_POST
@guard
def session_change(request: HttpRequest, pk: int) -> HttpResponse:
    """New times or sets: the citizens who no longer fit are re-invited with new notices."""
    session = _schedule(request, pk)
    form = SessionChangeForm(request.POST)
    if form.is_valid():
        try:
            result = session_services.session_change(
                actor=request.user, session_id=session.pk, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            moved = len(result.moved)
            messages.success(
                request,
                _("The session was changed; %(count)s citizens were re-invited.")
                % {"count": num(moved)},
            )
            return redirect("campaigns:session", pk)
    return render(
        request,
        "campaigns/sessions/detail.html",
        _session_context(request, session, change_form=form),
        status=400,
    )


@login_required
@require_POST
@guard
def invitation_mark(request: HttpRequest, pk: int) -> HttpResponse:
    """Reminded, did not come or cancelled, from the attendance list."""
    session = _schedule(request, pk)
    form = MarkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what happened."))
        return redirect(f"{reverse('campaigns:session', args=[pk])}#attendance")
    invitation = session.invitations.filter(pk=form.cleaned_data["invitation_id"]).first()
    if invitation is None:
        raise Http404
    try:
        invitation_services.invitation_mark(
            actor=request.user, invitation_id=invitation.pk, status=form.cleaned_data["status"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s: %(status)s.")
            % {
                "name": invitation.citizen.full_name,
                "status": InvitationStatus(form.cleaned_data["status"]).label,
            },
        )
    return redirect(f"{reverse('campaigns:session', args=[pk])}#attendance")


@login_required
@guard
def session_messages(request: HttpRequest, pk: int) -> HttpResponse:
    """The SMS/Zalo message file of a session: CSV with phone and text."""
    session = _schedule(request, pk)
    body = invitation_services.messages_export(user=request.user, session_id=session.pk)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"tin-nhan-{session.day:%Y%m%d}-{session.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Notices -----------------------------------------------------------------------------------


@login_required
@require_POST
@guard
def notices_start(request: HttpRequest, pk: int) -> HttpResponse:
    session = _schedule(request, pk)
    form = NoticeForm(request.POST)
    per_page = form.cleaned_data["per_page"] if form.is_valid() else 1
    try:
        job = notices.notices_start(
            actor=request.user,
            campaign_id=session.campaign_id,
            session_id=session.pk,
            per_page=per_page,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('campaigns:session', args=[pk])}#notices")
    return redirect("campaigns:notice_job", job.pk)


def _job(request: HttpRequest, job_id: Any) -> NoticeJob:
    if not can_schedule(request.user):
        raise HttpForbidden
    return notices.notice_job_get(user=request.user, job_id=job_id)  # OutOfScope: 404


def _job_state(job: NoticeJob) -> dict[str, Any]:
    percent = (
        100
        if job.status == NoticeJob.Status.DONE
        else (int(100 * job.done / job.total) if job.total else 0)
    )
    return {
        "status": job.status,
        "status_label": str(NoticeJob.Status(job.status).label),
        "done": job.done,
        "total": job.total,
        "percent": percent,
        "finished": job.status in (NoticeJob.Status.DONE, NoticeJob.Status.FAILED),
        "download": reverse("campaigns:notice_pdf", args=[job.pk])
        if job.status == NoticeJob.Status.DONE
        else "",
        "error": job.error_message,
    }


@login_required
@guard
def notice_job(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = _job(request, job_id)
    state = _job_state(job)
    if "application/json" in request.headers.get("Accept", "") or request.GET.get("format") == (
        "json"
    ):
        return JsonResponse(state)
    context = campaign_context(request, job.campaign, job=job, state=state)
    return render(request, "campaigns/sessions/notices.html", context)


@login_required
@guard
def notice_pdf(request: HttpRequest, job_id: Any) -> FileResponse:
    job = _job(request, job_id)
    if job.status != NoticeJob.Status.DONE or not job.stored_path:
        raise Http404
    stored = Path(job.stored_path)
    if not stored.is_absolute():
        stored = Path(settings.MEDIA_ROOT) / stored
    if not stored.exists():
        raise Http404
    selectors.notices_download_record(request.user, job)
    name = f"giay-moi-{job.session.day:%Y%m%d}.pdf" if job.session else "giay-moi.pdf"
    return FileResponse(
        stored.open("rb"), content_type="application/pdf", as_attachment=True, filename=name
    )


# --- Home visits and school sessions ---------------------------------------------------------


@login_required
@guard
def home_visits(request: HttpRequest, slug: str) -> HttpResponse:
    """Plan home visits from the cohort's priority groups (bedridden, disabled, alone…)
    and school sessions for the students of a school."""
    campaign = campaign_get(request, slug)
    if not can_schedule(request.user):
        raise HttpForbidden
    choices = {
        "units": [(u.pk, u.name) for u in units_for_user(request.user, campaign)],
        "teams": [(t.pk, f"{t.name} ({t.unit.name})") for t in _teams(request.user)],
    }
    initial = {"day": day_param(request, "day", campaign_today(campaign))}
    form = HomeVisitForm(initial=initial, **choices)
    school_form = SchoolSessionForm(initial=initial, **choices)
    status = 200
    if request.method == "POST":
        school = request.POST.get("kind") == "school"
        bound = (SchoolSessionForm if school else HomeVisitForm)(request.POST, **choices)
        if bound.is_valid():
            plan = (
                session_services.school_session_plan
                if school
                else (session_services.home_visits_plan)
            )
            try:
                session = plan(actor=request.user, campaign_id=campaign.pk, **bound.cleaned_data)
            except DomainError as exc:
                bound.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("The session was planned: %(count)s citizens invited.")
                    % {"count": num(session.invitations.count())},
                )
                return redirect("campaigns:session", session.pk)
        if school:
            school_form = bound
        else:
            form = bound
        status = 400
    planned = list(
        scope_queryset(
            Session.objects.filter(
                campaign=campaign, site_kind__in=[SiteKind.HOME, SiteKind.SCHOOL]
            ),
            user=request.user,
            lookup="unit_path",
        )
        .select_related("unit", "team")
        .annotate(
            visits=Count("invitations", distinct=True),
            done=Count(
                "invitations",
                filter=Q(invitations__status=InvitationStatus.ATTENDED),
                distinct=True,
            ),
        )
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("-day")[:200]
    )
    context = campaign_context(
        request, campaign, form=form, school_form=school_form, planned=planned
    )
    return render(request, "campaigns/sessions/home_visits.html", context, status=status)


urlpatterns = [
    path("c/<slug:slug>/sessions/", sessions_calendar, name="sessions"),
    path("c/<slug:slug>/sessions/new/", session_create, name="session_create"),
    path("c/<slug:slug>/home-visits/", home_visits, name="home_visits"),
    path("teams/<int:team_id>/", team_calendar, name="team_calendar"),
    path("sessions/<int:pk>/", session_detail, name="session"),
    path("sessions/<int:pk>/invite/", session_invite, name="session_invite"),
    path("sessions/<int:pk>/change/", session_change, name="session_change"),
    path("sessions/<int:pk>/mark/", invitation_mark, name="invitation_mark"),
    path("sessions/<int:pk>/messages.csv", session_messages, name="session_messages"),
    path("sessions/<int:pk>/notices/", notices_start, name="notices_start"),
    path("notices/<uuid:job_id>/", notice_job, name="notice_job"),
    path("notices/<uuid:job_id>/pdf/", notice_pdf, name="notice_pdf"),
]
