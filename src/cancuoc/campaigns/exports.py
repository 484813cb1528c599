"""The daily report as Excel and PDF, and the dashboard's charts as SVG.

Excel goes through `core.spreadsheets.xlsx_row` (unit names are data: never formulas).
The PDF is HTML laid out by WeasyPrint with the same server-side SVG charts as the
dashboard, embedded as images so every WeasyPrint version draws them alike.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from cancuoc.campaigns import charts, quotas
from cancuoc.campaigns.reports import DailyReport, Dashboard
from cancuoc.core.spreadsheets import xlsx_row

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TYPE = "application/pdf"


@dataclass(frozen=True)
class DashboardCharts:
    cumulative: str
    bars: str
    heat: str


def dashboard_charts(board: Dashboard, *, language: str | None = None) -> DashboardCharts:
    """The three dashboard charts as SVG strings (the page inlines them; the PDF embeds
    them)."""
    lang = board.report.language if language is None else language
    with translation.override(lang):
        cumulative_title = _("Cumulative dossiers against the target")
        bars_title = _("Dossiers received against the quota, %(day)s") % {
            "day": f"{board.on:%d/%m/%Y}"
        }
        heat_title = _("Percentage of the daily quota, by day and unit")
    return DashboardCharts(
        cumulative=charts.cumulative_chart(
            days=board.days,
            cumulative=board.cumulative,
            target=board.target,
            start=board.campaign.start_date,
            deadline=board.campaign.deadline,
            title=cumulative_title,
            language=lang,
        ),
        bars=charts.unit_bars(
            [(row.name, row.received, row.quota) for row in board.report.rows],
            title=bars_title,
            language=lang,
        ),
        heat=charts.heat_table(
            units=[label for label, _values in board.heat],
            days=board.heat_days,
            values=[values for _label, values in board.heat],
            title=heat_title,
            language=lang,
        ),
    )


def _pct(value: Any) -> float | None:
    return float(value) if value is not None else None


def daily_report_xlsx(report: DailyReport) -> bytes:
    """One sheet: a row per unit (rank order) and the total; numbers stay numbers, with
    percentages formatted with one decimal; then the published lines."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    with translation.override(report.language):
        headers = [
            _("Rank"),
            _("Code"),
            _("Unit"),
            _("Received"),
            _("of which entered by hand"),
            _("Quota"),
            _("% of quota"),
            _("Cumulative"),
            _("Target"),
            _("% of target"),
        ]
        title = _("Daily report of %(campaign)s, %(day)s") % {
            "campaign": report.campaign.name,
            "day": f"{report.day:%d/%m/%Y}",
        }
        sheet_name = _("Daily report")
        total_name = _("Total")
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name[:31]
    sheet.append(xlsx_row(sheet, [title]))
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(xlsx_row(sheet, headers))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    rows = [*report.rows, report.total]
    for row in rows:
        is_total = row is report.total
        sheet.append(
            xlsx_row(
                sheet,
                [
                    None if is_total else row.rank,
                    row.code,
                    total_name if is_total else row.label,
                    row.received,
                    row.manual,
                    row.quota,
                    _pct(row.pct),
                    row.cumulative,
                    row.target,
                    _pct(row.pct_of_target),
                ],
            )
        )
        for column in ("G", "J"):
            sheet[f"{column}{sheet.max_row}"].number_format = "0.0"
        if is_total:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    sheet.append([])
    for line in report.lines:
        sheet.append(xlsx_row(sheet, [line]))
    for column, width in zip("ABCDEFGHIJ", (6, 8, 34, 10, 12, 9, 10, 12, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def daily_report_html(board: Dashboard) -> str:
    """The HTML the PDF is laid out from: title, table, published lines, charts."""
    report = board.report
    drawn = dashboard_charts(board)
    lang = report.language

    def fmt(row: Any) -> dict[str, Any]:
        return {
            "rank": row.rank,
            "label": row.label,
            "received": quotas.format_int(row.received, lang),
            "manual": row.is_manual,
            "quota": quotas.format_int(row.quota, lang),
            "pct": quotas.format_percent(row.pct, lang),
            "cumulative": quotas.format_int(row.cumulative, lang),
            "target": quotas.format_int(row.target, lang),
            "pct_of_target": quotas.format_percent(row.pct_of_target, lang),
        }

    outlook = board.forecast.overall
    with translation.override(lang):
        return render_to_string(
            "campaigns/pdf/daily_report.html",
            {
                "campaign": report.campaign,
                "day": report.day,
                "rows": [fmt(row) for row in report.rows],
                "total": fmt(report.total),
                "lines": report.lines,
                "partial": report.partial,
                "forecast": {
                    "pace": quotas.format_decimal(outlook.pace_avg, lang),
                    "pace_min": quotas.format_int(outlook.pace_min, lang),
                    "pace_max": quotas.format_int(outlook.pace_max, lang),
                    "finish": outlook.finish,
                    "required": (
                        quotas.format_int(outlook.required_pace, lang)
                        if outlook.required_pace is not None
                        else "—"
                    ),
                    "at_risk": [row.label for row in board.forecast.at_risk],
                },
                "charts": {
                    "cumulative": svg_data_uri(drawn.cumulative),
                    "bars": svg_data_uri(drawn.bars),
                    "heat": svg_data_uri(drawn.heat),
                },
            },
        )


def daily_report_pdf(board: Dashboard) -> bytes:
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=daily_report_html(board)).write_pdf()
    return pdf


def export_filename(report: DailyReport, extension: str) -> str:
    return f"bao-cao-ngay-{report.campaign.slug}-{report.day:%Y%m%d}.{extension}"
