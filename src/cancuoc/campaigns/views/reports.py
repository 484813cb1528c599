"""Pages: the daily quota report (with its Excel and PDF), the campaign dashboard with
server-side SVG charts, the forecast and the units at risk, the leader's morning
inspection, and the emulation ranking (thi đua). Every figure comes from
`campaigns.reports`, which reads rollups only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from cancuoc.campaigns import exports
from cancuoc.campaigns import reports as campaign_reports
from cancuoc.campaigns.models import (
    InvitationStatus,
    ManualCount,
    NoticeJob,
    Session,
    SessionStatus,
)
from cancuoc.campaigns.views.common import (
    campaign_context,
    campaign_get,
    campaign_today,
    day_param,
    guard,
    language,
    num,
    pct,
)
from cancuoc.core.scoping import scope_queryset

HEAT_DAYS = 21  # three weeks of day × unit fit a laptop screen


def _day(request: HttpRequest, campaign: Any) -> dt.date:
    day = day_param(request, "date", campaign_today(campaign))
    return min(max(day, campaign.start_date), campaign.deadline)


def _day_nav(campaign: Any, day: dt.date) -> dict[str, str]:
    one = dt.timedelta(days=1)
    return {
        "prev_day": (day - one).isoformat() if day > campaign.start_date else "",
        "next_day": (day + one).isoformat() if day < campaign.deadline else "",
    }


def _row(row: Any) -> dict[str, Any]:
    """A report row with its numbers written the way the language writes them."""
    return {
        "row": row,
        "received": num(row.received),
        "manual": num(row.manual) if row.manual else "",
        "superseded": num(row.manual_superseded) if row.manual_superseded else "",
        "quota": num(row.quota),
        "pct": pct(row.pct),
        "cumulative": num(row.cumulative),
        "target": num(row.target),
        "pct_of_target": pct(row.pct_of_target),
        "below": row.pct is not None and row.pct < 100,
    }


def _attachment(body: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@guard
def daily_report(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = campaign_get(request, slug)
    day = _day(request, campaign)
    report = campaign_reports.daily_report(
        user=request.user, campaign_id=campaign.pk, day=day, language=language()
    )
    fmt = request.GET.get("format")
    if fmt == "xlsx":
        return _attachment(
            exports.daily_report_xlsx(report),
            exports.XLSX_TYPE,
            exports.export_filename(report, "xlsx"),
        )
    if fmt == "pdf":
        # The PDF carries the dashboard's charts: one more load of the same rollups.
        board = campaign_reports.dashboard(
            user=request.user, campaign_id=campaign.pk, on=day, language=language()
        )
        return _attachment(
            exports.daily_report_pdf(board),
            exports.PDF_TYPE,
            exports.export_filename(report, "pdf"),
        )
    context = campaign_context(
        request,
        campaign,
        day=day,
        report=report,
        rows=[_row(r) for r in report.rows],
        total=_row(report.total),
        **_day_nav(campaign, day),
    )
    return render(request, "campaigns/reports/daily.html", context)


def _kpis(dashboard: Any) -> list[dict[str, str]]:
    total, outlook = dashboard.report.total, dashboard.forecast.overall
    finish = outlook.finish.strftime("%d/%m/%Y") if outlook.finish else "—"
    return [
        {
            "id": "kpi-cumulative",
            "value": num(total.cumulative),
            "label": _("received of %(target)s") % {"target": num(total.target)},
        },
        {"id": "kpi-target", "value": pct(total.pct_of_target), "label": _("of the target")},
        {
            "id": "kpi-today",
            "value": f"{num(total.received)}/{num(total.quota)}",
            "label": _("received / quota on %(day)s") % {"day": f"{dashboard.on:%d/%m}"},
        },
        {"id": "kpi-pct", "value": pct(total.pct), "label": _("of the day's quota")},
        {
            "id": "kpi-pace",
            "value": num(outlook.required_pace),
            "label": _("a day needed to meet the deadline"),
        },
        {"id": "kpi-finish", "value": finish, "label": _("finish at the recent pace")},
    ]


@login_required
@guard
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = campaign_get(request, slug)
    day = _day(request, campaign)
    board = campaign_reports.dashboard(
        user=request.user,
        campaign_id=campaign.pk,
        on=day,
        heat_days=HEAT_DAYS,
        language=language(),
    )
    context = campaign_context(
        request,
        campaign,
        day=day,
        board=board,
        kpis=_kpis(board),
        charts=exports.dashboard_charts(board, language=language()),
        at_risk=board.forecast.at_risk,
        **_day_nav(campaign, day),
    )
    return render(request, "campaigns/reports/dashboard.html", context)


def _forecast_row(name: str, f: Any) -> dict[str, Any]:
    def date(value: dt.date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else "—"

    return {
        "name": name,
        "f": f,
        "cumulative": num(f.cumulative),
        "target": num(f.target),
        "remaining": num(f.remaining),
        "pace": pct(f.pace_avg).rstrip("%") if f.pace_avg is not None else "—",
        "pace_range": f"{num(f.pace_min)}–{num(f.pace_max)}",
        "required": num(f.required_pace),
        "finish": date(f.finish),
        "finish_range": f"{date(f.finish_early)} – {date(f.finish_late)}",
        "at_risk": f.at_risk,
        "days_late": getattr(f, "days_late", None),
    }


@login_required
@guard
def forecast(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = campaign_get(request, slug)
    day = _day(request, campaign)
    outlook = campaign_reports.forecast(
        user=request.user, campaign_id=campaign.pk, on=day, language=language()
    )
    context = campaign_context(
        request,
        campaign,
        day=day,
        overall=_forecast_row(campaign.unit.name, outlook.overall),
        rows=[_forecast_row(r.name, r.forecast) for r in outlook.units],
        at_risk=[_forecast_row(r.name, r.forecast) for r in outlook.at_risk],
        **_day_nav(campaign, day),
    )
    return render(request, "campaigns/reports/forecast.html", context)


@login_required
@guard
def ranking(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = campaign_get(request, slug)
    day = _day(request, campaign)
    rows = campaign_reports.ranking(
        user=request.user, campaign_id=campaign.pk, on=day, language=language()
    )

    def score(value: Decimal | None) -> str:
        return pct(value).rstrip("%") if value is not None else "—"

    context = campaign_context(
        request,
        campaign,
        day=day,
        rows=[
            {
                "row": r,
                "score": score(r.score),
                "quota": pct(r.components.get("quota")),
                "on_time": pct(r.components.get("on_time")),
                "satisfaction": pct(r.components.get("satisfaction")),
            }
            for r in rows
        ],
        weights=campaign.ranking_weights or {},
        **_day_nav(campaign, day),
    )
    return render(request, "campaigns/reports/ranking.html", context)


@login_required
@guard
def inspection(request: HttpRequest, slug: str) -> HttpResponse:
    """The leader's morning page: yesterday against the quota, who is behind and at risk,
    today's sessions, and what is still to do (notices, counts not in)."""
    campaign = campaign_get(request, slug)
    today = _day(request, campaign)
    yesterday = max(today - dt.timedelta(days=1), campaign.start_date)
    board = campaign_reports.dashboard(
        user=request.user, campaign_id=campaign.pk, on=yesterday, heat_days=7, language=language()
    )
    report = board.report
    sessions = scope_queryset(
        Session.objects.filter(campaign=campaign, day=today).exclude(
            status=SessionStatus.CANCELLED
        ),
        user=request.user,
        lookup="unit_path",
    )
    today_sessions = list(
        sessions.select_related("unit", "team")
        .annotate(
            booked=Sum("slots__booked", distinct=False),
            invited=Count("invitations", distinct=True),
            attended=Count(
                "invitations",
                filter=Q(invitations__status=InvitationStatus.ATTENDED),
                distinct=True,
            ),
        )
        .order_by("start_time")[:200]
    )
    pending_jobs = scope_queryset(
        NoticeJob.objects.filter(
            campaign=campaign, status__in=[NoticeJob.Status.QUEUED, NoticeJob.Status.RUNNING]
        ),
        user=request.user,
        lookup="unit_path",
    ).count()
    silent = [r for r in report.rows if r.is_open and r.received == 0 and r.quota > 0]
    manual_yesterday = ManualCount.objects.filter(campaign=campaign, day=yesterday).count()
    context = campaign_context(
        request,
        campaign,
        day=today,
        yesterday=yesterday,
        report=report,
        total=_row(report.total),
        behind=[_row(r) for r in report.rows if r.pct is not None and r.pct < 100],
        silent=silent,
        at_risk=[_forecast_row(r.name, r.forecast) for r in board.forecast.at_risk],
        overall=_forecast_row(campaign.unit.name, board.forecast.overall),
        today_sessions=today_sessions,
        pending_jobs=pending_jobs,
        manual_yesterday=manual_yesterday,
        **_day_nav(campaign, today),
    )
    return render(request, "campaigns/reports/inspection.html", context)


urlpatterns = [
    path("c/<slug:slug>/report/", daily_report, name="report"),
    path("c/<slug:slug>/dashboard/", dashboard, name="dashboard"),
    path("c/<slug:slug>/forecast/", forecast, name="forecast"),
    path("c/<slug:slug>/ranking/", ranking, name="ranking"),
    path("c/<slug:slug>/inspection/", inspection, name="inspection"),
]
