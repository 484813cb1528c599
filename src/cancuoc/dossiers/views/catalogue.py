"""The public listing of procedures (niêm yết công khai): no login, printable.

The law requires the one-stop desk to publish each procedure's processing time, fee and
documents, so these pages are open to anyone, like the portal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cancuoc.core.text import fold
from cancuoc.dossiers import selectors
from cancuoc.dossiers.models import ProcedureVersion


def fee_text(amount: int | None) -> str:
    """Integer đồng as printed in Vietnam: 50.000 đ; zero is "free of charge"."""
    if not amount:
        return _("free of charge")
    return f"{amount:,}".replace(",", ".") + " đ"


def days_text(days: int) -> str:
    return ngettext("%(n)d working day", "%(n)d working days", days) % {"n": days}


def _areas_text(versions: list[ProcedureVersion]) -> str:
    """The processing time, per area when the law sets it per area (2014 ID law)."""
    if len(versions) == 1 or all(v.area == "" for v in versions):
        return days_text(versions[0].processing_days)
    return "; ".join(
        f"{days_text(v.processing_days)} ({v.get_area_display()})"
        if v.area
        else days_text(v.processing_days)
        for v in sorted(versions, key=lambda v: v.processing_days)
    )


def primary_version(versions: list[ProcedureVersion]) -> ProcedureVersion | None:
    """The row shown as "in force": the same choice as intake and the API."""
    return selectors.version_pick(versions)


def catalogue_rows(*, on: dt.date, q: str = "") -> list[dict[str, Any]]:
    """One row per active procedure with its versions in force on `on`, by field then code."""
    rows = []
    key = fold(q)
    for procedure in selectors.procedure_catalogue(on=on):
        if key and key not in procedure.search_name and key not in procedure.code.lower():
            continue
        versions: list[ProcedureVersion] = list(getattr(procedure, "versions_in_force", []))
        version = primary_version(versions)
        rows.append(
            {
                "procedure": procedure,
                "version": version,
                "days_text": _areas_text(versions) if versions else "",
                "fee_text": fee_text(version.fee) if version else "",
            }
        )
    return rows


def catalogue(request: HttpRequest) -> HttpResponse:
    on = timezone.localdate()
    q = request.GET.get("q", "").strip()
    return render(
        request,
        "dossiers/catalogue/list.html",
        {"rows": catalogue_rows(on=on, q=q), "q": q, "on": on},
    )


def procedure(request: HttpRequest, code: str) -> HttpResponse:
    on = timezone.localdate()
    found = selectors.procedure_get(code=code)
    if found is None:
        raise Http404
    versions: list[ProcedureVersion] = list(found.versions.order_by("valid_from", "area"))
    current = selectors.procedure_version_in_force(procedure=found, on=on)
    return render(
        request,
        "dossiers/catalogue/detail.html",
        {
            "procedure": found,
            "current": current,
            "current_days": days_text(current.processing_days) if current else "",
            "current_fee": fee_text(current.fee) if current else "",
            "versions": [{"row": v, "fee_text": fee_text(v.fee)} for v in versions],
        },
    )


urlpatterns = [
    path("procedures/", catalogue, name="catalogue"),
    path("procedures/<str:code>/", procedure, name="procedure"),
]
