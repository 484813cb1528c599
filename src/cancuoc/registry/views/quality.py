"""Pages: the data-quality report of a unit, drill-down per rule, exports, recomputation."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.core.errors import PermissionDenied as Denied
from cancuoc.core.scoping import prefix_q, unit_in_scope
from cancuoc.core.spreadsheets import csv_row, xlsx_row
from cancuoc.core.views import querystring_without_page
from cancuoc.registry.models import QualityFinding, QualityRun
from cancuoc.registry.quality import (
    RULES,
    Rule,
    finding_detail_display,
    quality_findings,
    quality_latest_run,
    quality_pending_run,
    quality_run_start,
    quality_unit_choices,
    rule_get,
)
from cancuoc.units.models import Unit


def _require_view(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.VIEW_REGISTRY):
        raise PermissionDenied


def _unit(request: HttpRequest, raw: str | None) -> Unit:
    """The unit asked for (default: the user's own); 404 outside the user's scope."""
    if not raw:
        return request.user.unit  # type: ignore[union-attr]  # login_required
    try:
        unit = Unit.objects.filter(pk=int(raw)).first()
    except ValueError:
        unit = None
    if unit is None or not unit_in_scope(request.user, unit):
        raise Http404
    return unit


def _rule(code: str) -> Rule:
    rule = rule_get(code)
    if rule is None:
        raise Http404
    return rule


def _can_recompute(user: Any) -> bool:
    return user_can(user, Capability.IMPORT_CITIZENS) or user_can(
        user, Capability.APPROVE_CORRECTION
    )


@login_required
def quality(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    unit = _unit(request, request.GET.get("unit"))
    run = quality_latest_run(user=request.user, unit=unit)
    counts = run.counts if run else {}
    rows = [{"rule": rule, "count": counts.get(rule.code, 0)} for rule in RULES]
    return render(
        request,
        "registry/quality/report.html",
        {
            "unit": unit,
            "units": quality_unit_choices(user=request.user),
            "run": run,
            "pending": quality_pending_run(user=request.user, unit=unit),
            "rows": rows,
            "total": sum(row["count"] for row in rows),
            "can_recompute": _can_recompute(request.user),
        },
    )


@login_required
@require_POST
def quality_start(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, request.POST.get("unit"))
    try:
        quality_run_start(actor=request.user, unit_id=unit.pk)
    except OutOfScope:
        raise Http404 from None
    except Denied:
        raise PermissionDenied from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The check has started; this page shows the result when done."))
    return redirect(f"{reverse('registry:quality')}?unit={unit.pk}")


def _findings(
    request: HttpRequest, code: str, **audit: Any
) -> tuple[Unit, Rule, QualityRun | None, Any]:
    _require_view(request)
    rule = _rule(code)
    unit = _unit(request, request.GET.get("unit"))
    run = quality_latest_run(user=request.user, unit=unit)
    findings: QuerySet[QualityFinding] | list[QualityFinding] = (
        quality_findings(user=request.user, run=run, rule=code, **audit) if run else []
    )
    return unit, rule, run, findings


@login_required
def quality_rule(request: HttpRequest, rule: str) -> HttpResponse:
    unit, found_rule, run, findings = _findings(request, rule)
    page = Paginator(findings, 50).get_page(request.GET.get("page"))
    names = _unit_names(page)
    for finding in page:
        finding.detail_display = finding_detail_display(finding.rule, finding.detail)
        finding.unit_name = names.get(finding.unit_path, finding.unit_path)
    return render(
        request,
        "registry/quality/rule.html",
        {
            "unit": unit,
            "rule": found_rule,
            "run": run,
            "page": page,
            "query": querystring_without_page(request),
        },
    )


def _unit_names(findings: Any) -> dict[str, str]:
    paths = {finding.unit_path for finding in findings}
    return dict(Unit.objects.filter(path__in=paths).values_list("path", "name"))


def _export_header() -> list[str]:
    return [
        _("Rule"),
        _("personal ID number"),
        _("full name"),
        _("birth date"),
        _("sex"),
        _("Household"),
        _("Unit"),
        _("Detail"),
    ]


def _export_rows(rule: Rule, findings: Any, *, unit: Unit) -> Iterator[list[str]]:
    names = dict(Unit.objects.filter(prefix_q("path", unit.path)).values_list("path", "name"))
    for finding in findings.iterator(2000) if hasattr(findings, "iterator") else findings:
        citizen, household = finding.citizen, finding.household
        yield [
            str(rule.name),
            citizen.id_number if citizen else "",
            citizen.full_name if citizen else "",
            citizen.birth_date.strftime("%d/%m/%Y") if citizen and citizen.birth_date else "",
            citizen.get_sex_display() if citizen and citizen.sex else "",
            household.number if household else "",
            names.get(finding.unit_path, finding.unit_path),
            finding_detail_display(finding.rule, finding.detail),
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(name: str, header: list[str], rows: Iterator[list[str]]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # Excel reads UTF-8 only with a byte-order mark
        yield writer.writerow(csv_row(header))
        for row in rows:
            # Names and raw values come from uploaded files: a spreadsheet must not run them.
            yield writer.writerow(csv_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _xlsx_response(name: str, header: list[str], rows: Iterator[list[str]]) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(name[:31])
    sheet.append(xlsx_row(sheet, header))
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@login_required
def quality_export(request: HttpRequest, rule: str) -> HttpResponse | StreamingHttpResponse:
    """One rule's findings as CSV or Excel. Personal data leaves the system: audited."""
    file_format = request.GET.get("format", "csv")
    if file_format not in ("csv", "xlsx"):
        raise Http404
    unit, found_rule, _run, findings = _findings(
        request, rule, audit_action="quality.export", audit_detail={"format": file_format}
    )
    name = f"chat-luong-{unit.code}-{rule}"
    rows = _export_rows(found_rule, findings, unit=unit)
    if file_format == "xlsx":
        return _xlsx_response(name, _export_header(), rows)
    return _csv_response(name, _export_header(), rows)


urlpatterns: list[URLPattern] = [
    path("quality/", quality, name="quality"),
    path("quality/recompute/", quality_start, name="quality_start"),
    path("quality/<slug:rule>/", quality_rule, name="quality_rule"),
    path("quality/<slug:rule>/export/", quality_export, name="quality_export"),
]
