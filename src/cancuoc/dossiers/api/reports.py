"""API: the timeliness report and the late-dossier list (same selectors as the pages)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from cancuoc.dossiers import reports
from cancuoc.units.models import Unit

router = Router(tags=["reports"])


class ReportQuery(Schema):
    unit_id: int | None = Field(None, description="The unit; default the caller's own unit")
    unit: str = Field("", description='Or the unit\'s code ("42" a province, "VN" the nation)')
    date_from: dt.date | None = Field(None, alias="from", description="Default 1 January")
    date_to: dt.date | None = Field(None, alias="to", description="Default today")
    procedure: str = Field("", description="One procedure code, e.g. 1.000494")


class ChannelCounts(Schema):
    counter: int
    mobile: int
    home_visit: int
    school: int
    post: int
    online_full: int
    online_partial: int
    hamlet: int


class TimelinessRowOut(Schema):
    key: str = Field(description="Unit code or procedure code; empty for the total")
    label: str
    carried_over: int
    received: int
    received_by_channel: ChannelCounts
    resolved: int
    early: int
    on_time: int
    late: int
    withdrawn: int
    open: int
    within_term: int
    overdue: int
    apologised: int
    rejected_intake: int
    on_time_rate: float | None = Field(description="Percent, one decimal; null if none resolved")


class TimelinessOut(Schema):
    unit_id: int
    unit_code: str
    unit_name: str
    date_from: dt.date
    date_to: dt.date
    as_of: dt.date = Field(description="Open dossiers are counted as of this day")
    by_unit: list[TimelinessRowOut]
    by_procedure: list[TimelinessRowOut]
    total: TimelinessRowOut


class LateDossierOut(Schema):
    code: str
    state: str = Field(description='"late" (returned late) or "overdue" (open, past due)')
    procedure_code: str
    procedure: str
    unit: str
    applicant: str
    received_on: dt.date
    due_date: dt.date
    returned_on: dt.date | None
    apology_due_date: dt.date | None
    days_late: int = Field(description="Working days after the due date")
    officer: str


def _unit(request: HttpRequest, query: ReportQuery) -> Unit:
    if query.unit_id is not None:
        return reports.report_unit_get(user=request.user, unit_id=query.unit_id)
    if query.unit:
        return reports.report_unit_by_code(user=request.user, code=query.unit)
    return reports.report_unit_check(user=request.user, unit=request.user.unit)  # type: ignore[union-attr]


def _period(query: ReportQuery) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    return query.date_from or dt.date(today.year, 1, 1), query.date_to or today


def timeliness_payload(report: reports.TimelinessReport) -> dict[str, Any]:
    """The report as plain data: the API's body and the command's JSON."""
    return {
        "unit_id": report.unit.pk,
        "unit_code": report.unit.code,
        "unit_name": report.unit.name,
        "date_from": report.date_from,
        "date_to": report.date_to,
        "as_of": report.as_of,
        "by_unit": [row.as_dict() for row in report.by_unit],
        "by_procedure": [row.as_dict() for row in report.by_procedure],
        "total": report.total.as_dict(),
    }


@router.get(
    "/reports/timeliness",
    response=TimelinessOut,
    summary="Timeliness per child unit and per procedure over a period (from rollups)",
)
def timeliness(request: HttpRequest, query: Query[ReportQuery]) -> dict[str, Any]:
    date_from, date_to = _period(query)
    report = reports.timeliness_report(
        user=request.user,
        unit=_unit(request, query),
        date_from=date_from,
        date_to=date_to,
        procedure_code=query.procedure.strip() or None,
    )
    return timeliness_payload(report)


@router.get(
    "/reports/late",
    response=list[LateDossierOut],
    summary="Dossiers returned late in the period, then the open ones past their due date",
)
def late(request: HttpRequest, query: Query[ReportQuery]) -> list[dict[str, Any]]:
    date_from, date_to = _period(query)
    items = reports.late_dossiers(
        user=request.user,
        unit=_unit(request, query),
        date_from=date_from,
        date_to=date_to,
        procedure_code=query.procedure.strip() or None,
    )
    return [reports.late_dossier_dict(item) for item in items]
