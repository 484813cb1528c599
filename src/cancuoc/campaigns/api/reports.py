"""API: the daily quota report (JSON, Excel, PDF), forecast, ranking, dashboard charts."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from cancuoc.campaigns import exports, reports

router = Router()


class DayQuery(Schema):
    date: dt.date | None = Field(None, description="The day (default today)")
    lang: Literal["vi", "en"] | None = Field(None, description="Language of lines and numbers")


class DailyRowOut(Schema):
    unit_id: int | None
    code: str
    name: str
    label: str
    received: int
    manual: int = Field(description="Of which entered by hand")
    is_manual: bool
    manual_superseded: int = Field(
        0, description="A manual figure replaced by automatic counts of the same day; not counted"
    )
    quota: int
    quota_set: bool = Field(description="Set by hand rather than computed")
    pct: str | None = Field(description="% of the quota, one decimal (half up)")
    cumulative: int
    target: int
    pct_of_target: str | None
    rank: int | None
    text: str = Field(description='As published: "… (thu nhận 718/600 hồ sơ, đạt 119,7%)"')


class CampaignRefOut(Schema):
    id: int
    slug: str
    name: str
    target: int
    deadline: dt.date


class DailyReportOut(Schema):
    campaign: CampaignRefOut
    day: dt.date
    is_open: bool
    partial: bool = Field(description="Some units are outside the caller's scope")
    rows: list[DailyRowOut]
    total: DailyRowOut
    lines: list[str]


class PaceOut(Schema):
    target: int
    cumulative: int
    remaining: int
    pace_days: int
    pace_avg: str
    pace_min: int
    pace_max: int
    finish: dt.date | None
    finish_early: dt.date | None
    finish_late: dt.date | None
    required_pace: int | None
    open_days_left: int
    at_risk: bool


class UnitPaceOut(PaceOut):
    unit_id: int | None
    name: str


class ForecastOut(Schema):
    campaign: str
    on: dt.date
    overall: PaceOut
    units: list[UnitPaceOut]
    at_risk: list[int | None]


class RankRowOut(Schema):
    unit_id: int | None
    label: str
    score: str | None
    rank: int | None
    components: dict[str, str | None]


class RankingOut(Schema):
    campaign: str
    on: dt.date
    weights: dict[str, str]
    rows: list[RankRowOut]


def _day(query: DayQuery) -> dt.date:
    return query.date or timezone.localdate()


@router.get(
    "/{int:campaign_id}/reports/daily",
    response=DailyReportOut,
    summary="The daily quota report (from rollups), rows best first, and the total",
)
def daily(request: HttpRequest, campaign_id: int, query: Query[DayQuery]) -> dict[str, Any]:
    report = reports.daily_report(
        user=request.user, campaign_id=campaign_id, day=_day(query), language=query.lang
    )
    return report.as_dict()


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get(
    "/{int:campaign_id}/reports/daily.xlsx",
    summary="The daily quota report as an Excel file",
)
def daily_xlsx(request: HttpRequest, campaign_id: int, query: Query[DayQuery]) -> HttpResponse:
    report = reports.daily_report(
        user=request.user, campaign_id=campaign_id, day=_day(query), language=query.lang
    )
    return _download(
        exports.daily_report_xlsx(report),
        exports.XLSX_TYPE,
        exports.export_filename(report, "xlsx"),
    )


@router.get(
    "/{int:campaign_id}/reports/daily.pdf",
    summary="The daily quota report as a PDF, with the dashboard's charts",
)
def daily_pdf(request: HttpRequest, campaign_id: int, query: Query[DayQuery]) -> HttpResponse:
    board = reports.dashboard(
        user=request.user, campaign_id=campaign_id, on=_day(query), language=query.lang
    )
    return _download(
        exports.daily_report_pdf(board),
        exports.PDF_TYPE,
        exports.export_filename(board.report, "pdf"),
    )


@router.get(
    "/{int:campaign_id}/forecast",
    response=ForecastOut,
    summary="Finish dates at the 7-day pace (with a range), pace needed, units at risk",
)
def forecast(request: HttpRequest, campaign_id: int, query: Query[DayQuery]) -> dict[str, Any]:
    outlook = reports.forecast(
        user=request.user, campaign_id=campaign_id, on=_day(query), language=query.lang
    )
    return outlook.as_dict()


@router.get(
    "/{int:campaign_id}/ranking",
    response=RankingOut,
    summary="The emulation (thi đua) ranking with the campaign's weights",
)
def ranking(request: HttpRequest, campaign_id: int, query: Query[DayQuery]) -> dict[str, Any]:
    result = reports.ranking_result(
        user=request.user, campaign_id=campaign_id, on=_day(query), language=query.lang
    )
    return result.as_dict()


@router.get(
    "/{int:campaign_id}/charts/{name}.svg",
    summary="A dashboard chart as SVG: cumulative, bars or heat",
)
def chart(
    request: HttpRequest,
    campaign_id: int,
    name: Literal["cumulative", "bars", "heat"],
    query: Query[DayQuery],
) -> HttpResponse:
    board = reports.dashboard(
        user=request.user, campaign_id=campaign_id, on=_day(query), language=query.lang
    )
    drawn = exports.dashboard_charts(board)
    return HttpResponse(getattr(drawn, name), content_type="image/svg+xml; charset=utf-8")
