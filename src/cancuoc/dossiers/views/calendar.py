"""The working-day calendar page: the official adjustments of a year, and its months.

Everyone who works dossiers may read it (deadlines depend on it); only a catalogue
administrator edits it, through `dossiers.calendar` services, which audit every change.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError
from cancuoc.core.workdays import WorkCalendar
from cancuoc.dossiers import calendar as work
from cancuoc.dossiers import codes, selectors
from cancuoc.dossiers.codes import DEFAULT_PATTERN, desk_area
from cancuoc.dossiers.forms import AdjustmentForm, DeskSettingsForm
from cancuoc.dossiers.models import Area, WorkdayAdjustment

_YEARS = range(2000, 2101)


def _year(raw: str | None) -> int:
    try:
        year = int(raw or "")
    except ValueError:
        return timezone.localdate().year
    return year if year in _YEARS else timezone.localdate().year


def _adjustments(year: int) -> list[WorkdayAdjustment]:
    # National reference data, the same for every unit: no unit scope applies.
    return list(WorkdayAdjustment.objects.filter(day__year=year).order_by("day"))


def _day_class(cal: WorkCalendar, day: dt.date, adjusted: dict[dt.date, bool]) -> str:
    if day in adjusted:
        return "swap-work" if adjusted[day] else "swap-off"
    if cal.is_working_day(day):
        return ""
    return "holiday" if cal.is_public_holiday(day) else "off"


def month_grids(
    cal: WorkCalendar, year: int, adjusted: dict[dt.date, bool]
) -> list[dict[str, Any]]:
    """Twelve month grids (weeks of 7 cells, Monday first) with a CSS class per day."""
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells = [
                {"day": d.day, "cls": _day_class(cal, d, adjusted), "iso": d.isoformat()}
                if d.month == month
                else None
                for d in week
            ]
            weeks.append(cells)
        working = sum(
            1
            for d in pycalendar.Calendar().itermonthdates(year, month)
            if d.month == month and cal.is_working_day(d)
        )
        months.append({"month": month, "weeks": weeks, "working": working})
    return months


def _apply(request: HttpRequest) -> str | None:
    """Run the posted change; return an error message, or None on success."""
    if request.POST.get("op") == "delete":
        try:
            day = dt.date.fromisoformat(request.POST.get("day", ""))
        except ValueError:
            return _("Give the day as a date.")
        work.workday_adjustment_delete(actor=request.user, day=day)
        messages.success(request, _("The adjustment was removed."))
        return None
    form = AdjustmentForm(request.POST)
    if not form.is_valid():
        return " ".join(str(e) for errors in form.errors.values() for e in errors)
    work.workday_adjustment_set(actor=request.user, **form.cleaned_data)
    messages.success(request, _("The adjustment was saved."))
    return None


@login_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Capability.VIEW_DOSSIERS):
        raise HttpForbidden
    can_edit = user_can(request.user, Capability.MANAGE_CATALOGUE)
    year = _year(request.POST.get("year") or request.GET.get("year"))
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise HttpForbidden
        try:
            error = _apply(request)
        except DomainError as exc:
            error = exc.message
        if error is None:
            return redirect(f"{reverse('dossiers:calendar')}?year={year}")
        messages.error(request, error)
        status = 400
    rows = _adjustments(year)
    adjusted = {row.day: row.is_working_day for row in rows}
    edit = next((r for r in rows if r.day.isoformat() == request.GET.get("edit")), None)
    initial = (
        {
            "day": edit.day,
            "is_working_day": str(edit.is_working_day),
            "note": edit.note,
            "source": edit.source,
        }
        if edit
        else {}
    )
    context = {
        "year": year,
        "rows": rows,
        "can_edit": can_edit,
        "form": AdjustmentForm(request.POST if status == 400 else None, initial=initial),
        "editing": edit,
        "months": month_grids(work.work_calendar(), year, adjusted),
        "weekdays": [_("Mo"), _("Tu"), _("We"), _("Th"), _("Fr"), _("Sa"), _("Su")],
    }
    return render(request, "dossiers/calendar/calendar.html", context, status=status)


# --- Desk settings (code identifier, code pattern, area) ---------------------------------


def _settings_rows(user: Any) -> list[dict[str, Any]]:
    rows = []
    for unit, row in selectors.desk_settings_units(user=user):
        own = row.area if row else ""
        inherited = "" if own else desk_area(unit)
        rows.append(
            {
                "unit": unit,
                "identifier": row.identifier if row else unit.code,
                "code_pattern": row.code_pattern if row else DEFAULT_PATTERN,
                "area": str(Area(own).label) if own else "",
                "inherited": str(Area(inherited).label) if inherited else "",
            }
        )
    return rows


@login_required
def desk_settings_page(request: HttpRequest) -> HttpResponse:
    """Each unit's code identifier, code pattern and area; a catalogue administrator edits."""
    if not user_can(request.user, Capability.MANAGE_CATALOGUE):
        raise HttpForbidden
    rows = _settings_rows(request.user)
    units = [(r["unit"].pk, r["unit"].name) for r in rows]
    status = 200
    if request.method == "POST":
        form = DeskSettingsForm(request.POST, units=units)
        if form.is_valid():
            try:
                codes.desk_settings_set(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The desk settings were saved."))
                unit_id = form.cleaned_data["unit_id"]
                return redirect(f"{reverse('dossiers:desk_settings')}?unit={unit_id}")
        status = 400
    else:
        chosen = next((r for r in rows if str(r["unit"].pk) == request.GET.get("unit")), None)
        chosen = chosen or (rows[0] if rows else None)
        initial: dict[str, Any] = {}
        if chosen is not None:
            saved = codes.desk_settings(chosen["unit"])
            initial = {
                "unit_id": chosen["unit"].pk,
                "identifier": saved.identifier,
                "code_pattern": saved.code_pattern,
                "area": saved.area,
            }
        form = DeskSettingsForm(initial=initial, units=units)
    return render(
        request, "dossiers/calendar/settings.html", {"rows": rows, "form": form}, status=status
    )


urlpatterns = [
    path("calendar/", calendar_page, name="calendar"),
    path("settings/", desk_settings_page, name="desk_settings"),
]
