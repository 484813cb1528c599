"""Page: a unit's campaign resources — teams with their members and sets, equipment sets
with their state and team, and shift patterns — with forms to add and move them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Capability, user_can
from cancuoc.campaigns.forms import (
    WEEKDAY_CHOICES,
    EquipmentAssignForm,
    EquipmentSetForm,
    ShiftPatternForm,
    TeamForm,
)
from cancuoc.campaigns.models import EquipmentSet, ShiftPattern, Team
from cancuoc.campaigns.services import resources as services
from cancuoc.campaigns.views.common import guard
from cancuoc.core.errors import DomainError
from cancuoc.core.scoping import scope_queryset
from cancuoc.units.models import Level, Unit

FORMS = {
    "team": TeamForm,
    "equipment": EquipmentSetForm,
    "assign": EquipmentAssignForm,
    "shifts": ShiftPatternForm,
}


def _choices(user: Any) -> dict[str, list[tuple[int, str]]]:
    """Units (own unit and below, down to communes), teams and officers in the user's scope."""
    units = scope_queryset(
        Unit.objects.filter(level__lte=Level.COMMUNE, valid_to__isnull=True),
        user=user,
        lookup="path",
    ).order_by("path")[:2000]
    teams = scope_queryset(Team.objects.filter(is_active=True), user=user, lookup="unit_path")
    members = scope_queryset(
        User.objects.filter(is_active=True), user=user, lookup="unit__path"
    ).order_by("username")[:1000]
    return {
        "units": [(u.pk, u.name) for u in units],
        "teams": [(t.pk, t.name) for t in teams.order_by("name")[:1000]],
        "members": [(m.pk, f"{m.get_full_name() or m.username} ({m.username})") for m in members],
    }


def _form(kind: str, data: Any, choices: dict[str, list]) -> Any:
    if kind == "team":
        return TeamForm(data, units=choices["units"], members=choices["members"])
    if kind == "equipment":
        return EquipmentSetForm(data, units=choices["units"], teams=choices["teams"])
    if kind == "assign":
        return EquipmentAssignForm(data, teams=choices["teams"])
    return ShiftPatternForm(data, units=choices["units"])


def _run(request: HttpRequest, kind: str, data: dict[str, Any]) -> str:
    actor = request.user
    if kind == "team":
        team = services.team_create(actor=actor, **data)
        return _("The team %(name)s was created.") % {"name": team.name}
    if kind == "equipment":
        team_id = data.pop("team_id", None)
        with transaction.atomic():  # a set and its first team, or nothing
            kit = services.equipment_set_create(actor=actor, **data)
            if team_id is not None:
                kit = services.equipment_assign(actor=actor, equipment_id=kit.pk, team_id=team_id)
        return _("The equipment set %(serial)s was added.") % {"serial": kit.serial}
    if kind == "assign":
        kit_id, team_id, state = data["equipment_id"], data["team_id"], data["state"]
        found = (
            scope_queryset(EquipmentSet.objects.all(), user=actor, lookup="unit_path")
            .filter(pk=kit_id)
            .first()
        )
        if found is None:
            raise Http404
        kit = found
        with transaction.atomic():  # the state first: a set going to repair leaves its team
            if state != kit.state:
                kit = services.equipment_state_set(actor=actor, equipment_id=kit_id, state=state)
            if team_id != kit.team_id:
                kit = services.equipment_assign(actor=actor, equipment_id=kit_id, team_id=team_id)
        return _("The equipment set %(serial)s was updated.") % {"serial": kit.serial}
    pattern = services.shift_pattern_create(actor=actor, **data)
    return _("The shift pattern %(name)s was created.") % {"name": pattern.name}


@login_required
@guard
def resources(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Capability.VIEW_CAMPAIGNS):
        raise HttpForbidden
    can_edit = user_can(request.user, Capability.MANAGE_CAMPAIGNS)
    choices = _choices(request.user) if can_edit else {"units": [], "teams": [], "members": []}
    status = 200
    bound: dict[str, Any] = {}
    if request.method == "POST":
        if not can_edit:
            raise HttpForbidden
        kind = request.POST.get("kind", "")
        if kind not in FORMS:
            raise HttpForbidden
        form = _form(kind, request.POST, choices)
        if form.is_valid():
            try:
                text = _run(request, kind, form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, text)
                return redirect(f"{reverse('campaigns:resources')}#{kind}")
        bound[kind] = form
        status = 400
    user = request.user
    teams = (
        scope_queryset(Team.objects.all(), user=user, lookup="unit_path")
        .select_related("unit")
        .prefetch_related("members")
        .annotate(set_count=Count("equipment_sets", distinct=True))
        .order_by("unit__path", "name")[:500]
    )
    kits = list(
        scope_queryset(EquipmentSet.objects.all(), user=user, lookup="unit_path")
        .select_related("unit", "team")
        .order_by("serial")[:1000]
    )
    patterns = (
        scope_queryset(ShiftPattern.objects.all(), user=user, lookup="unit_path")
        .select_related("unit")
        .order_by("unit__path", "name")[:500]
    )
    weekday_names = dict(WEEKDAY_CHOICES)
    context = {
        "teams": teams,
        "kits": [(k, _form("assign", None, choices) if can_edit else None) for k in kits],
        "patterns": [
            (p, ", ".join(str(weekday_names.get(d, d)) for d in p.weekdays)) for p in patterns
        ],
        "can_edit": can_edit,
        "team_form": bound.get("team") or _form("team", None, choices),
        "equipment_form": bound.get("equipment") or _form("equipment", None, choices),
        "shifts_form": bound.get("shifts") or _form("shifts", None, choices),
        "assign_error": bound["assign"].errors if "assign" in bound else None,
        "ready_count": sum(1 for k in kits if k.state == "ready"),
    }
    return render(request, "campaigns/resources.html", context, status=status)


urlpatterns = [
    path("resources/", resources, name="resources"),
]
