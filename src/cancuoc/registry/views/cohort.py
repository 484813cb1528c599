"""Page: who is due for a card on a date, in a unit subtree; list and CSV/XLSX export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.core.spreadsheets import csv_row, xlsx_row
from cancuoc.core.views import querystring_without_page
from cancuoc.registry import cohort_rules as rules
from cancuoc.registry.cohort import (
    BUCKET_LABELS,
    EXPORT_HEADER,
    GROUP_LABELS,
    REASON_LABELS,
    REGIME_TITLES,
    CohortCounts,
    birth_text,
    cohort_counts,
    cohort_list,
    cohort_units,
    export_values,
    unit_names,
)
from cancuoc.units.models import Unit

PAGE_SIZE = 50
_VN = ZoneInfo("Asia/Ho_Chi_Minh")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _parse(request: HttpRequest) -> dict:
    raw = request.GET.get("on", "")
    try:
        on = dt.date.fromisoformat(raw) if raw else dt.datetime.now(_VN).date()
    except ValueError:
        on = dt.datetime.now(_VN).date()
    bucket = request.GET.get("bucket", "must")
    return {
        "on": on,
        "bucket": bucket if bucket in rules.BUCKETS else "must",
        "reason": request.GET.get("reason", "")
        if request.GET.get("reason") in REASON_LABELS
        else "",
        "group": request.GET.get("group", "") if request.GET.get("group") in GROUP_LABELS else "",
        "band": request.GET.get("band", ""),
    }


def _total(result: CohortCounts, bucket: str, reason: str, group: str, band: str) -> int | None:
    """The list's length from the counts, when one filter at most is set besides the bucket."""
    t = result.tally
    if sum(map(bool, (reason, group, band))) > 1:
        return None
    if reason:
        return t.reasons.get(f"{bucket}:{reason}", 0)
    if group:
        return t.groups.get(group, {}).get(bucket, 0)
    if band:
        return t.bands.get(band, {}).get(bucket, 0)
    return t.buckets.get(bucket, 0)


def _export(
    request: HttpRequest, unit: Unit, params: dict, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    rows = cohort_list(
        user=request.user, unit=unit, audit_action="registry.cohort.export", **params
    )
    names = unit_names(unit)
    header = [str(h) for h in EXPORT_HEADER]
    filename = f"cohort-{unit.code}-{params['on'].isoformat()}-{params['bucket']}"
    if fmt == "csv":
        writer = csv.writer(_Echo())
        lines = itertools.chain(
            ["\ufeff" + writer.writerow(csv_row(header))],
            (writer.writerow(csv_row(export_values(row, names))) for row in rows),
        )
        stream = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        stream["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return stream
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Cohort"))
    sheet.append(xlsx_row(sheet, header))
    for row in rows:
        # Names come from uploaded files: always string cells, never formulas.
        sheet.append(xlsx_row(sheet, export_values(row, names)))
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


@login_required
def cohort_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if not user_can(request.user, Capability.VIEW_REGISTRY):
        raise PermissionDenied
    units = cohort_units(user=request.user)
    chosen = request.GET.get("unit", "")
    unit = next((u for u in units if str(u.pk) == chosen), None) if chosen else units[0]
    if unit is None:
        raise Http404
    params = _parse(request)
    fmt = request.GET.get("format", "")
    context: dict = {
        "units": units,
        "unit": unit,
        "params": params,
        "buckets": [(b, BUCKET_LABELS[b]) for b in rules.BUCKETS],
        "reason_labels": REASON_LABELS,
        "group_labels": GROUP_LABELS,
        "query": querystring_without_page(request),
    }
    try:
        if fmt in ("csv", "xlsx"):
            return _export(request, unit, params, fmt)
        result = cohort_counts(user=request.user, unit=unit, on=params["on"])
        page_number = max(1, int(request.GET.get("page", "1") or 1))
        # One page (and one more row, to know if there is a next) with the codes the counts
        # found: the list reads no more of the subtree than the page needs.
        shown = list(
            cohort_list(
                user=request.user,
                unit=unit,
                **params,
                offset=(page_number - 1) * PAGE_SIZE,
                limit=PAGE_SIZE + 1,
                codes=result.codes,
            )
        )
    except OutOfScope:
        raise Http404 from None
    except (DomainError, ValueError) as exc:
        context["error"] = getattr(exc, "message", str(exc))
        return render(request, "registry/cohort/page.html", context, status=400)
    total = _total(result, **{k: params[k] for k in ("bucket", "reason", "group", "band")})
    t = result.tally
    names = unit_names(unit)
    context.update(
        result=result,
        regime_title=REGIME_TITLES.get(result.regime.code, result.regime.title),
        bucket_totals=[(b, BUCKET_LABELS[b], t.buckets.get(b, 0)) for b in rules.BUCKETS],
        reasons=[
            (b, r, REASON_LABELS.get(r, r), t.reasons[f"{b}:{r}"])
            for b in rules.BUCKETS
            for r in rules.REASONS[b]
            if f"{b}:{r}" in t.reasons
        ],
        bands=[
            (label, [t.bands.get(label, {}).get(b, 0) for b in rules.BUCKETS])
            for label in [band[0] for band in rules.AGE_BANDS] + [rules.AGE_UNKNOWN]
            if label in t.bands
        ],
        groups=[
            (g, GROUP_LABELS[g], [t.groups.get(g, {}).get(b, 0) for b in rules.BUCKETS])
            for g in GROUP_LABELS
            if g in t.groups
        ],
        by_unit=[
            (u, path, [counts.get(b, 0) for b in rules.BUCKETS])
            for u, path, counts in result.by_unit
        ],
        rows=[
            (row, birth_text(row), names.get(row.unit_path, row.unit_path))
            for row in shown[:PAGE_SIZE]
        ],
        page_number=page_number,
        has_next=len(shown) > PAGE_SIZE,
        total=total,
    )
    return render(request, "registry/cohort/page.html", context)


urlpatterns = [path("cohort/", cohort_page, name="cohort")]
