"""Pages: printed forms (Mẫu 01–05 per dossier) and the tracking log (Mẫu 06)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, re_path, reverse
from django.utils import timezone

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.dossiers import printing
from cancuoc.dossiers.models import Dossier


def lookup_url(request: HttpRequest, code: str) -> str:
    """The public lookup page with the code filled in, as an absolute URL for the QR code."""
    return request.build_absolute_uri(reverse("portal:lookup")) + "?" + urlencode({"code": code})


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _require_viewer(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.VIEW_DOSSIERS):
        raise PermissionDenied


def dossier_for_print(*, user: object, dossier_id: int) -> Dossier:
    """The dossier through the scoped selector; OutOfScope when the user may not see it."""
    from cancuoc.dossiers import selectors

    return selectors.dossier_get(user=user, dossier_id=dossier_id)  # type: ignore[no-any-return]


@login_required
def form_pdf(request: HttpRequest, pk: str, form: str) -> HttpResponse:
    _require_viewer(request)
    try:
        dossier = dossier_for_print(user=request.user, dossier_id=int(pk))
        content = printing.form_print(
            actor=request.user,
            dossier=dossier,
            form=form,
            lookup_url=lookup_url(request, dossier.code),
        )
    except (OutOfScope, printing.FormNotApplicable):
        raise Http404 from None
    return pdf_response(content, f"{dossier.code}-mau{form}.pdf")


@login_required
def tracking_log(request: HttpRequest) -> HttpResponse:
    """Mẫu 06 for the user's unit: the form page, or the file when a format is asked for."""
    _require_viewer(request)
    today = timezone.localdate()
    raw_from = request.GET.get("from") or today.replace(day=1).isoformat()
    raw_to = request.GET.get("to") or today.isoformat()
    fmt = request.GET.get("format", "")
    context = {"date_from": raw_from, "date_to": raw_to, "error": ""}
    if fmt not in ("pdf", "xlsx"):
        return render(request, "dossiers/forms/tracking_log.html", context)
    try:
        date_from, date_to = printing.period_parse(raw_from, raw_to)
        content, filename = printing.tracking_log_export(
            user=request.user, date_from=date_from, date_to=date_to, fmt=fmt
        )
    except DomainError as exc:
        context["error"] = exc.message
        return render(request, "dossiers/forms/tracking_log.html", context, status=400)
    if fmt == "pdf":
        return pdf_response(content, filename)
    response = HttpResponse(content, content_type=printing.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


urlpatterns: list[URLPattern] = [
    re_path(
        r"^dossiers/(?P<pk>\d+)/forms/(?P<form>0[1-5])\.pdf$",
        form_pdf,
        name="form_pdf",
    ),
    path("tracking-log/", tracking_log, name="tracking_log"),
]
