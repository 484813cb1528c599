"""Pages: the enrolment home, stations (list, create, edit, detail) and their sessions."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Capability, Role, user_can
from cancuoc.core.errors import DomainError
from cancuoc.core.scoping import scope_queryset
from cancuoc.enrolment import selectors, services
from cancuoc.enrolment.forms import SessionOpenForm, StationForm
from cancuoc.enrolment.models import ApplicationStatus, Station, StationSession
from cancuoc.enrolment.views.common import can_enrol, can_supervise, require, station_or_404
from cancuoc.units.models import Unit


def _sync(station: Station) -> Any:
    try:
        return services.station_sync_state(station=station)
    except DomainError:
        return None


def open_session(station: Station) -> StationSession | None:
    """Today's open session of the station, which new applications belong to."""
    return (
        station.sessions.filter(closed_at__isnull=True, day=timezone.localdate())
        .order_by("-opened_at")
        .first()
    )


def _station_rows(user: Any, stations: Any) -> list[dict[str, Any]]:
    rows = []
    for station in stations:
        rows.append(
            {
                "station": station,
                # Who may run the intake here: its operators, or a supervisor (as the
                # services decide; the button is only a convenience).
                # Only a station's own operators enrol (the service requires it); a
                # supervisor signs off and approves but does not run the wizard.
                "can_enrol": can_enrol(user)
                and any(o.pk == user.pk for o in station.operators.all()),
                "sync": _sync(station),
                "current": list(selectors.application_current(user=user, station_id=station.pk)),
                "session": open_session(station),
            }
        )
    return rows


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """An operator sees the stations they work at (and what is in progress there, so a cut
    connection resumes in one keypress); a supervisor sees the overview."""
    user = request.user
    require(user, Capability.VIEW_ENROLMENT)
    stations = selectors.stations_for(user=user).filter(is_active=True)
    if can_enrol(user) and not can_supervise(user):
        stations = stations.filter(operators__pk=user.pk or 0)
    rows = _station_rows(user, stations.prefetch_related("operators"))
    context: dict[str, Any] = {
        "rows": rows,
        "operator_view": can_enrol(user) and not can_supervise(user),
        "can_supervise": can_supervise(user),
    }
    if can_supervise(user):
        context["conflicts"] = selectors.conflicts_for(user=user).count()
        context["awaiting"] = list(
            selectors.applications_for(user=user, status=ApplicationStatus.COMPLETED)
            .select_related("citizen", "station", "dossier")
            .order_by("completed_at")[:100]
        )
        context["can_approve"] = user_can(user, Capability.APPROVE_DOSSIER)
        selectors.list_record(user, what="awaiting", shown=len(context["awaiting"]))
    return render(request, "enrolment/home.html", context)


@login_required
def station_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.VIEW_ENROLMENT)
    stations = selectors.stations_for(user=request.user).select_related("unit")
    rows = [{"station": s, "sync": _sync(s), "operators": s.operators.count()} for s in stations]
    return render(
        request,
        "enrolment/stations/list.html",
        {"rows": rows, "can_supervise": can_supervise(request.user)},
    )


def _unit_choices(user: Any) -> list[tuple[int, str]]:
    units = scope_queryset(Unit.objects.filter(valid_to__isnull=True), user=user, lookup="path")
    own = getattr(user, "unit_id", None)
    ordered = sorted(units.order_by("path")[:500], key=lambda u: (u.pk != own, u.path))
    return [(u.pk, u.name) for u in ordered]


def _operator_choices(user: Any) -> list[tuple[int, str]]:
    people = scope_queryset(
        User.objects.filter(role=Role.STATION_OPERATOR, is_active=True),
        user=user,
        lookup="unit__path",
    ).order_by("username")
    return [(p.pk, f"{p.username} · {p.full_name}") for p in people[:500]]


@login_required
def station_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.SUPERVISE_ENROLMENT)
    form = StationForm(
        request.POST or None,
        units=_unit_choices(request.user),
        operators=_operator_choices(request.user),
        initial={"unit_id": getattr(request.user, "unit_id", None), "kind": "fixed"},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            station = services.station_create(
                actor=request.user,
                unit_id=data["unit_id"],
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                operator_ids=tuple(data["operator_ids"]),
                **{f: data[f] for f in StationForm.UPDATE_FIELDS if f not in ("name", "kind")},
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Station %(code)s was created.") % {"code": station.code})
            return redirect("enrolment:station_detail", pk=station.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "enrolment/stations/edit.html", {"form": form, "station": None}, status=status
    )


@login_required
def station_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.SUPERVISE_ENROLMENT)
    station = station_or_404(request.user, pk)
    initial = {f: getattr(station, f) for f in StationForm.UPDATE_FIELDS}
    initial.update(
        code=station.code,
        unit_id=station.unit_id,
        operator_ids=list(station.operators.values_list("pk", flat=True)),
    )
    initial["device_profile"] = json.dumps(station.device_profile or {}, ensure_ascii=False)
    form = StationForm(
        request.POST or None,
        units=[(station.unit_id, station.unit.name)],
        operators=_operator_choices(request.user),
        initial=initial,
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.station_update(
                actor=request.user,
                station_id=station.pk,
                operator_ids=tuple(data["operator_ids"]),
                **{f: data[f] for f in StationForm.UPDATE_FIELDS},
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The station was saved."))
            return redirect("enrolment:station_detail", pk=station.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "enrolment/stations/edit.html", {"form": form, "station": station}, status=status
    )


@login_required
def station_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require(user, Capability.VIEW_ENROLMENT)
    station = station_or_404(user, pk)
    is_operator = station.operators.filter(pk=user.pk or 0).exists()
    recent = (
        selectors.applications_for(user=user, station_id=station.pk)
        .select_related("citizen", "operator", "dossier")
        .order_by("-started_at")[:20]
    )
    recent = list(recent)
    selectors.list_record(user, what="application", shown=len(recent), station=station.code)
    return render(
        request,
        "enrolment/stations/detail.html",
        {
            "station": station,
            "device_profile": json.dumps(station.device_profile or {}, ensure_ascii=False),
            "sync": _sync(station),
            "operators": list(station.operators.order_by("username")),
            "sessions": list(station.sessions.select_related("opened_by")[:20]),
            "session": open_session(station),
            "current": list(selectors.application_current(user=user, station_id=station.pk)),
            "recent": recent,
            "can_enrol": can_enrol(user) and is_operator,
            "can_supervise": can_supervise(user),
            "raw_token": request.session.pop(f"station-token-{station.pk}", None),
        },
    )


@login_required
@require_POST
def session_open(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    station = station_or_404(request.user, pk)
    form = SessionOpenForm(request.POST)
    place = form.cleaned_data["place"] if form.is_valid() else ""
    if open_session(station) is not None:
        # A second click (or a second tab) must not open two sessions for one day.
        messages.info(request, _("A session is already open today."))
        return redirect("enrolment:station_detail", pk=station.pk)
    try:
        services.session_open(actor=request.user, station_id=station.pk, place=place)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The session was opened."))
    return redirect("enrolment:station_detail", pk=station.pk)


@login_required
@require_POST
def session_close(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    session = StationSession.objects.filter(pk=pk).select_related("station").first()
    if session is None:
        raise Http404
    station = station_or_404(request.user, session.station_id)
    if session.closed_at is None:
        try:
            services.session_close(actor=request.user, session_id=session.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The session was closed."))
    return redirect("enrolment:station_detail", pk=station.pk)


@login_required
@require_POST
def station_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue the token an offline station laptop pulls and pushes with (shown once)."""
    require(request.user, Capability.SUPERVISE_ENROLMENT)
    station = station_or_404(request.user, pk)
    try:
        _station, raw = services.station_token_issue(actor=request.user, station_id=station.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        request.session[f"station-token-{station.pk}"] = raw
    return redirect("enrolment:station_detail", pk=station.pk)
