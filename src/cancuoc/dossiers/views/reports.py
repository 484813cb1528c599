"""Pages: the timeliness report and the late-dossier list, on screen and in Excel."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.dossiers import reports
from cancuoc.dossiers.models import Channel, Procedure

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportFilterForm(forms.Form):
    unit = forms.IntegerField(required=False, widget=forms.HiddenInput)
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)
    procedure = forms.CharField(label=_("Procedure"), required=False, max_length=20)


def _filters(request: HttpRequest) -> dict[str, Any]:
    """The unit, period (this year by default) and procedure asked for, checked."""
    if not user_can(request.user, Capability.VIEW_REPORTS):
        raise HttpForbidden
    form = ReportFilterForm(
        {
            "unit": request.GET.get("unit") or None,
            "date_from": request.GET.get("from") or None,
            "date_to": request.GET.get("to") or None,
            "procedure": request.GET.get("procedure", ""),
        }
    )
    data = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    unit_id = data.get("unit")
    try:
        unit = (
            reports.report_unit_get(user=request.user, unit_id=unit_id)
            if unit_id
            else reports.report_unit_check(user=request.user, unit=request.user.unit)  # type: ignore[union-attr]
        )
    except OutOfScope:
        raise Http404 from None
    except PermissionDenied:
        raise HttpForbidden from None
    return {
        "unit": unit,
        "date_from": data.get("date_from") or dt.date(today.year, 1, 1),
        "date_to": data.get("date_to") or today,
        "procedure": (data.get("procedure") or "").strip(),
        "errors": form.errors,
    }


def _context(request: HttpRequest, filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "filters": filters,
        "units": reports.report_units(user=request.user, unit=filters["unit"]),
        "procedures": Procedure.objects.filter(is_active=True).only("code", "name"),
        "query": request.GET.urlencode(),
    }


@login_required
def timeliness(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    context = _context(request, filters)
    try:
        report = reports.timeliness_report(
            user=request.user,
            unit=filters["unit"],
            date_from=filters["date_from"],
            date_to=filters["date_to"],
            procedure_code=filters["procedure"] or None,
        )
    except DomainError as exc:
        context["error"] = exc.message
        return render(request, "dossiers/reports/timeliness.html", context, status=400)
    if request.GET.get("format") == "xlsx":
        return _xlsx_response(_timeliness_workbook(report), "bao-cao-dung-han", report)
    channels = report.channels

    def counts(row: reports.TimelinessRow) -> list[int]:
        return [row.received_by_channel.get(channel, 0) for channel in channels]

    def drill_down(row: reports.TimelinessRow) -> str:
        # A child's own report: same period and procedure, the child as the unit.
        if row.unit_id is None or row.unit_id == report.unit.pk:
            return ""
        params = request.GET.copy()
        params["unit"] = str(row.unit_id)
        return f"?{params.urlencode()}"

    context.update(
        report=report,
        channel_labels=[(c, Channel(c).label) for c in channels],
        unit_rows=[(row, drill_down(row), counts(row)) for row in report.by_unit],
        procedure_rows=[(row, "", counts(row)) for row in report.by_procedure],
        total=report.total,
        total_counts=counts(report.total),
    )
    return render(request, "dossiers/reports/timeliness.html", context)


@login_required
def late(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    context = _context(request, filters)
    try:
        items = reports.late_dossiers(
            user=request.user,
            unit=filters["unit"],
            date_from=filters["date_from"],
            date_to=filters["date_to"],
            procedure_code=filters["procedure"] or None,
        )
    except DomainError as exc:
        context["error"] = exc.message
        return render(request, "dossiers/reports/late.html", context, status=400)
    if request.GET.get("format") == "xlsx":
        return _xlsx_response(_late_workbook(items), "ho-so-tre-han", filters)
    context["items"] = [(item, _detail_url(item.dossier.pk)) for item in items]
    return render(request, "dossiers/reports/late.html", context)


def _detail_url(pk: int) -> str:
    try:
        return reverse("dossiers:detail", args=[pk])
    except NoReverseMatch:  # the desk pages are another module's; the list stands alone
        return ""


# --- Excel ----------------------------------------------------------------------------


def _xlsx_response(workbook: Workbook, stem: str, period: Any) -> HttpResponse:
    buffer = io.BytesIO()
    workbook.save(buffer)
    date_from, date_to = _period_of(period)
    name = f"{stem}-{date_from:%Y%m%d}-{date_to:%Y%m%d}.xlsx"
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _period_of(period: Any) -> tuple[dt.date, dt.date]:
    if isinstance(period, dict):
        return period["date_from"], period["date_to"]
    return period.date_from, period.date_to


def timeliness_headers() -> list[str]:
    return [
        gettext("Code"),
        gettext("Name"),
        gettext("Carried over"),
        gettext("Received"),
        *(str(label) for label in Channel.labels),
        gettext("Resolved"),
        gettext("Early"),
        gettext("On time"),
        gettext("Late"),
        gettext("Withdrawn"),
        gettext("Open"),
        gettext("Within term"),
        gettext("Overdue"),
        gettext("Apologised"),
        gettext("On-time rate (%)"),
    ]


def timeliness_cells(row: reports.TimelinessRow) -> list[Any]:
    rate = row.on_time_rate
    return [
        row.key,
        row.label,
        row.carried_over,
        row.received,
        *(row.received_by_channel.get(channel, 0) for channel in Channel.values),
        row.resolved,
        row.early,
        row.on_time,
        row.late,
        row.withdrawn,
        row.open,
        row.within_term,
        row.overdue,
        row.apologised,
        float(rate) if rate is not None else None,
    ]


def _timeliness_workbook(report: reports.TimelinessReport) -> Workbook:
    # write_only streams rows and keeps memory flat for a nation-wide export.
    workbook = Workbook(write_only=True)
    title = gettext("Timeliness of %(unit)s, %(start)s – %(end)s") % {
        "unit": report.unit.name,
        "start": f"{report.date_from:%d/%m/%Y}",
        "end": f"{report.date_to:%d/%m/%Y}",
    }
    for sheet_title, rows in (
        (gettext("By unit"), report.by_unit),
        (gettext("By procedure"), report.by_procedure),
    ):
        sheet = workbook.create_sheet(sheet_title)
        sheet.append([title])
        sheet.append(timeliness_headers())
        for row in rows:
            sheet.append(timeliness_cells(row))
        sheet.append(timeliness_cells(report.total))
    return workbook


def late_headers() -> list[str]:
    return [
        gettext("Dossier code"),
        gettext("State"),
        gettext("Procedure"),
        gettext("Unit"),
        gettext("Applicant"),
        gettext("Received on"),
        gettext("Due date"),
        gettext("Returned on"),
        gettext("New date after apology"),
        gettext("Working days late"),
        gettext("Officer"),
    ]


def late_cells(item: reports.LateDossier) -> list[Any]:
    d = item.dossier
    return [
        d.code,
        item.state_label,
        f"{d.procedure.code} {d.procedure.name}",
        d.unit.name,
        d.applicant_name,
        reports.local_date(d.received_at),
        d.due_date,
        reports.local_date(d.returned_at) if d.returned_at else None,
        d.apology_due_date,
        item.days_late,
        item.officer,
    ]


def _late_workbook(items: list[reports.LateDossier]) -> Workbook:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("Late dossiers"))
    sheet.append(late_headers())
    for item in items:
        sheet.append(late_cells(item))
    return workbook


urlpatterns = [
    path("reports/timeliness/", timeliness, name="timeliness"),
    path("reports/late/", late, name="late"),
]
