"""Pages: the campaign list, a new campaign, and a campaign's plan — the allocation of its
target to child units (which must sum to the target), the daily quotas per unit and day,
and the campaign's own calendar — plus the manual daily counts of units not yet on the
system."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.campaigns import quotas as arithmetic
from cancuoc.campaigns import reports as campaign_reports
from cancuoc.campaigns.forms import (
    AllocationsForm,
    CampaignDayForm,
    CampaignForm,
    ManualCountForm,
    QuotaForm,
)
from cancuoc.campaigns.models import Allocation, CampaignDay, ManualCount, QuotaOverride
from cancuoc.campaigns.services import campaigns as services
from cancuoc.campaigns.views.common import (
    campaign_context,
    campaign_get,
    campaign_today,
    campaign_units,
    campaigns_visible,
    can_manage,
    day_param,
    guard,
    num,
)
from cancuoc.core.errors import DomainError
from cancuoc.core.scoping import scope_queryset
from cancuoc.units.models import Level, Unit

GRID_DAYS = 14  # a fortnight of quotas fits a 1366-pixel screen


def _errors(form: Any) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# --- List and create ----------------------------------------------------------------------


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Capability.VIEW_CAMPAIGNS):
        raise HttpForbidden
    campaigns = list(campaigns_visible(request.user).order_by("-start_date", "name")[:200])
    return render(
        request,
        "campaigns/list.html",
        {
            "rows": [(c, num(c.target)) for c in campaigns],
            "can_create": user_can(request.user, Capability.MANAGE_CAMPAIGNS),
        },
    )


def _creatable_units(user: Any) -> list[tuple[int, str]]:
    """The user's own unit and the provinces and districts below it that are in scope."""
    own = user.unit
    if own is None:
        return []
    below = scope_queryset(
        Unit.objects.filter(path__startswith=own.path, level__lte=Level.DISTRICT),
        user=user,
        lookup="path",
    ).exclude(pk=own.pk)
    units = [own, *below.order_by("path")[:1000]]
    return [(u.pk, u.name) for u in units]


@login_required
@guard
def campaign_create(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Capability.MANAGE_CAMPAIGNS):
        raise HttpForbidden
    units = _creatable_units(request.user)
    status = 200
    if request.method == "POST":
        form = CampaignForm(request.POST, units=units)
        if form.is_valid():
            data = form.cleaned_data
            try:
                campaign = services.campaign_create(actor=request.user, **data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("The campaign %(name)s was created.") % {"name": campaign.name},
                )
                return redirect("campaigns:detail", campaign.slug)
        status = 400
    else:
        form = CampaignForm(units=units)
    return render(request, "campaigns/create.html", {"form": form}, status=status)


# --- Plan: allocations, quotas, calendar ----------------------------------------------------


def _allocation_rows(
    user: Any, campaign: Any, form: AllocationsForm | None
) -> list[dict[str, Any]]:
    saved = {a.unit_id: a for a in Allocation.objects.filter(campaign=campaign)}
    rows = []
    # A commune reading its province's campaign sees its own share, not its neighbours'
    # (whoever manages the campaign has every unit of it in scope).
    for unit in (u for u in campaign_units(campaign) if _in_reach(user, u)):
        allocation = saved.get(unit.pk)
        name = f"unit_{unit.pk}"
        value = (
            form.data.get(name, "")
            if form is not None and form.is_bound
            else (allocation.target if allocation else "")
        )
        rows.append(
            {
                "unit": unit,
                "name": name,
                "value": value,
                "due_text": num(allocation.due_population) if allocation else "—",
                "value_text": num(allocation.target) if allocation else "—",
                "edited": bool(allocation and allocation.edited),
            }
        )
    return rows


def _month_grids(campaign: Any, open_days: set[dt.date], notes: dict[dt.date, str]) -> list:
    """Month grids (Monday first) of the campaign's dates, each day open or closed."""
    months = []
    first = campaign.start_date.replace(day=1)
    while first <= campaign.deadline:
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
            cells = []
            for d in week:
                inside = d.month == first.month and campaign.start_date <= d <= campaign.deadline
                cells.append(
                    {
                        "day": d.day,
                        "iso": d.isoformat(),
                        "cls": ("open" if d in open_days else "closed") if inside else "",
                        "note": notes.get(d, ""),
                        "inside": inside,
                        "other": d.month != first.month,
                    }
                )
            weeks.append(cells)
        months.append({"first": first, "weeks": weeks})
        first = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


@dataclass
class _PlanView:
    grid: list[dict[str, Any]]
    grid_days: list[dict[str, Any]]
    open_days: set[dt.date]
    notes: dict[dt.date, str]


def _plan_view(request: HttpRequest, campaign: Any, grid_from: dt.date) -> _PlanView:
    """The quota grid (the user's units × a fortnight) and the calendar's open days.

    Past days show the quota each day had (`campaigns.reports`); days after today show
    what is left of the unit's share over the open days left, as if each day before met
    its quota, unless set by hand.
    """
    days = [grid_from + dt.timedelta(days=i) for i in range(GRID_DAYS)]
    days = [d for d in days if d <= campaign.deadline]
    today = campaign_today(campaign)
    figures = campaign_reports.campaign_figures(
        user=request.user, campaign=campaign, on=min(days[-1], today)
    )
    calendar = figures.calendar
    notes = dict(CampaignDay.objects.filter(campaign=campaign).values_list("day", "note"))
    future_overrides = {
        (q.unit_id, q.day): q.quota
        for q in QuotaOverride.objects.filter(
            campaign=campaign, day__gt=figures.on, day__lte=days[-1]
        )
    }
    grid = []
    for unit in figures.units:
        past = {d.day: d for d in figures.unit_days(unit)}
        cumulative = max((d.cumulative for d in past.values()), default=0)
        cells = []
        # Days to come are walked from tomorrow, so a later fortnight plans on the same
        # assumption as this one.
        tomorrow = figures.on + dt.timedelta(days=1)
        ahead = [tomorrow + dt.timedelta(days=i) for i in range((days[-1] - tomorrow).days + 1)]
        shown = set(days)
        for day in [d for d in days if d in past] + ahead:
            if day in past:
                value, own = past[day].quota, past[day].quota_set
            elif (unit.unit.pk, day) in future_overrides:
                value, own = future_overrides[(unit.unit.pk, day)], True
            elif calendar.is_open(day):
                value, own = (
                    arithmetic.daily_quota(
                        remaining_target=unit.target - cumulative,
                        remaining_days=calendar.open_days_from(day),
                    ),
                    False,
                )
            else:
                value, own = 0, False
            if day not in past:
                # A day to come is planned as if every day before it met its quota.
                cumulative += value
            if day not in shown:
                continue
            cells.append(
                {
                    "iso": day.isoformat(),
                    "value": value,
                    "override": own,
                    "open": calendar.is_open(day),
                }
            )
        grid.append({"unit": unit.unit, "cells": cells})
    grid_days = [{"day": d, "open": calendar.is_open(d), "note": notes.get(d, "")} for d in days]
    return _PlanView(grid, grid_days, set(calendar.open_days), notes)


def _plan_context(
    request: HttpRequest,
    campaign: Any,
    *,
    allocations_form: AllocationsForm | None = None,
    quota_form: QuotaForm | None = None,
    day_form: CampaignDayForm | None = None,
) -> dict[str, Any]:
    units = campaign_units(campaign)
    grid_from = day_param(request, "from", campaign_today(campaign))
    grid_from = min(max(grid_from, campaign.start_date), campaign.deadline)
    view = _plan_view(request, campaign, grid_from)
    allocation_rows = _allocation_rows(request.user, campaign, allocations_form)
    total = sum(int(r["value"]) for r in allocation_rows if str(r["value"]).isdigit())
    return campaign_context(
        request,
        campaign,
        allocation_rows=allocation_rows,
        allocation_total=total,
        allocation_total_text=num(total),
        allocations_form=allocations_form,
        quota_form=quota_form or QuotaForm(units=[(u.pk, u.name) for u in units]),
        day_form=day_form or CampaignDayForm(),
        grid=view.grid,
        grid_days=view.grid_days,
        grid_prev=(grid_from - dt.timedelta(days=GRID_DAYS)).isoformat()
        if grid_from > campaign.start_date
        else "",
        grid_next=(grid_from + dt.timedelta(days=GRID_DAYS)).isoformat()
        if grid_from + dt.timedelta(days=GRID_DAYS) <= campaign.deadline
        else "",
        months=_month_grids(campaign, view.open_days, view.notes),
        open_day_count=len(view.open_days),
        weekdays=[_("Mo"), _("Tu"), _("We"), _("Th"), _("Fr"), _("Sa"), _("Su")],
    )


@login_required
@guard
def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = campaign_get(request, slug)
    return render(request, "campaigns/detail.html", _plan_context(request, campaign))


def _manage(request: HttpRequest, slug: str) -> Any:
    campaign = campaign_get(request, slug)
    if not can_manage(request.user, campaign):
        raise HttpForbidden
    return campaign


@login_required
@require_POST
@guard
def allocations_save(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _manage(request, slug)
    if request.POST.get("op") == "propose":
        try:
            services.allocation_propose(actor=request.user, campaign_id=campaign.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The target was shared out by due population."))
        return redirect(f"{reverse('campaigns:detail', args=[slug])}#allocations")
    form = AllocationsForm(request.POST, units=campaign_units(campaign))
    if form.is_valid():
        try:
            services.allocations_set(
                actor=request.user, campaign_id=campaign.pk, targets=form.targets()
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The allocations were saved."))
            return redirect(f"{reverse('campaigns:detail', args=[slug])}#allocations")
    context = _plan_context(request, campaign, allocations_form=form)
    context["allocation_error"] = _errors(form)
    return render(request, "campaigns/detail.html", context, status=400)


@login_required
@require_POST
@guard
def quotas_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Either one quota (unit, day, quota) or the changed cells of the quota grid."""
    campaign = _manage(request, slug)
    units = campaign_units(campaign)
    back = f"{reverse('campaigns:detail', args=[slug])}?from={request.POST.get('from', '')}#quotas"
    if request.POST.get("op") == "grid":
        changes = _grid_changes(request, {u.pk for u in units})
        if changes is None:
            messages.error(request, _("Each quota must be a whole number, 0 or more."))
            return redirect(back)
        by_day: dict[dt.date, dict[int, int | None]] = {}
        for unit_id, day, quota in changes:
            by_day.setdefault(day, {})[unit_id] = quota
        try:
            # One grid, one decision: a refused cell leaves every other cell unchanged.
            with transaction.atomic():
                for day, quotas_by_unit in sorted(by_day.items()):
                    services.quotas_set(
                        actor=request.user,
                        campaign_id=campaign.pk,
                        day=day,
                        quotas_by_unit=quotas_by_unit,
                    )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(count)d quotas were saved.") % {"count": len(changes)})
        return redirect(back)
    form = QuotaForm(request.POST, units=[(u.pk, u.name) for u in units])
    if form.is_valid():
        try:
            services.quota_set(actor=request.user, campaign_id=campaign.pk, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The quota was saved."))
            return redirect(back)
    messages.error(request, _errors(form))
    return render(
        request,
        "campaigns/detail.html",
        _plan_context(request, campaign, quota_form=form),
        status=400,
    )


def _grid_changes(request: HttpRequest, unit_ids: set[int]) -> list | None:
    """Cells whose value differs from the one shown: (unit id, day, quota); an emptied
    cell (None) goes back to the computed quota."""
    changes = []
    for key in request.POST:
        if not key.startswith("q-"):
            continue
        try:
            _q, unit_raw, day_raw = key.split("-", 2)
            unit_id, day = int(unit_raw), dt.date.fromisoformat(day_raw)
        except ValueError:
            continue
        if unit_id not in unit_ids:
            continue
        value = request.POST.get(key, "").strip()
        if value == request.POST.get(f"was-{unit_raw}-{day_raw}", "").strip():
            continue
        if value and not value.isdigit():
            return None
        changes.append((unit_id, day, int(value) if value else None))
    return changes


@login_required
@require_POST
@guard
def status_save(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _manage(request, slug)
    try:
        services.campaign_status_set(
            actor=request.user, campaign_id=campaign.pk, status=request.POST.get("status", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The campaign status was changed."))
    return redirect("campaigns:detail", slug)


@login_required
@require_POST
@guard
def day_save(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _manage(request, slug)
    form = CampaignDayForm(request.POST)
    if form.is_valid():
        try:
            services.campaign_day_set(
                actor=request.user, campaign_id=campaign.pk, **form.cleaned_data
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The calendar was saved."))
        return redirect(f"{reverse('campaigns:detail', args=[slug])}#calendar")
    messages.error(request, _errors(form))
    return render(
        request,
        "campaigns/detail.html",
        _plan_context(request, campaign, day_form=form),
        status=400,
    )


# --- Manual daily counts --------------------------------------------------------------------


@login_required
@guard
def manual_counts(request: HttpRequest, slug: str) -> HttpResponse:
    """Results typed in by hand per unit and day, for units not yet on the system."""
    campaign = campaign_get(request, slug)
    if not user_can(request.user, Capability.MANAGE_CAMPAIGNS):
        raise HttpForbidden
    units = [u for u in campaign_units(campaign) if _in_reach(request.user, u)]
    choices = [(u.pk, u.name) for u in units]
    status = 200
    if request.method == "POST":
        form = ManualCountForm(request.POST, units=choices)
        if form.is_valid():
            try:
                services.manual_count_enter(
                    actor=request.user, campaign_id=campaign.pk, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The manual count was saved."))
                return redirect(
                    f"{reverse('campaigns:manual', args=[slug])}"
                    f"?date={form.cleaned_data['day'].isoformat()}"
                )
        status = 400
    else:
        form = ManualCountForm(
            units=choices, initial={"day": day_param(request, "date", campaign_today(campaign))}
        )
    entries = list(
        ManualCount.objects.filter(campaign=campaign, unit__in=units)
        .select_related("unit", "entered_by")
        .order_by("-day", "unit__name")[:200]
    )
    superseded = services.manual_counts_superseded(campaign=campaign, entries=entries)
    for entry in entries:
        entry.superseded_by = superseded.get((entry.unit_id, entry.day))
    return render(
        request,
        "campaigns/manual.html",
        campaign_context(request, campaign, form=form, entries=entries),
        status=status,
    )


def _in_reach(user: Any, unit: Unit) -> bool:
    from cancuoc.core.scoping import unit_in_scope

    return unit_in_scope(user, unit)


urlpatterns = [
    path("", campaign_list, name="home"),
    path("new/", campaign_create, name="create"),
    path("c/<slug:slug>/", campaign_detail, name="detail"),
    path("c/<slug:slug>/allocations/", allocations_save, name="allocations"),
    path("c/<slug:slug>/quotas/", quotas_save, name="quotas"),
    path("c/<slug:slug>/days/", day_save, name="days"),
    path("c/<slug:slug>/status/", status_save, name="status"),
    path("c/<slug:slug>/manual/", manual_counts, name="manual"),
]
