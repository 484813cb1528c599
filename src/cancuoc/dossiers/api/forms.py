"""API: printed forms as PDF bytes (Mẫu 01–05 per dossier) and the tracking log (Mẫu 06)."""

from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import PermissionDenied
from cancuoc.dossiers import printing
from cancuoc.dossiers.views.forms import dossier_for_print, lookup_url, pdf_response

router = Router()

FormNumber = Literal["01", "02", "03", "04", "05"]


class TrackingLogQuery(Schema):
    date_from: str = Field(..., alias="from", description="First day (YYYY-MM-DD)")
    date_to: str = Field(..., alias="to", description="Last day (YYYY-MM-DD), inclusive")
    format: Literal["pdf", "xlsx"] = "xlsx"


def _require_viewer(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.VIEW_DOSSIERS):
        raise PermissionDenied()


@router.get(
    "/{dossier_id}/forms/{form}",
    summary="A printed form of a dossier (PDF)",
    description="Form 01 receipt and appointment slip, 02 request for more documents, "
    "03 refusal, 04 apology and new date, 05 processing control sheet; in the layout in "
    "force on the day the dossier was received. 404 when the form does not apply.",
)
def form_pdf(request: HttpRequest, dossier_id: int, form: FormNumber) -> HttpResponse:
    _require_viewer(request)
    dossier = dossier_for_print(user=request.user, dossier_id=dossier_id)
    try:
        content = printing.form_print(
            actor=request.user,
            dossier=dossier,
            form=form,
            lookup_url=lookup_url(request, dossier.code),
        )
    except printing.FormNotApplicable as exc:
        raise HttpError(404, exc.message) from None
    return pdf_response(content, f"{dossier.code}-mau{form}.pdf")


@router.get(
    "/tracking-log",
    summary="The tracking log (form 06) of the caller's unit, PDF or Excel",
    description="One row per dossier received in the period (ISO dates, inclusive), "
    "for the caller's unit and the units below it.",
)
def tracking_log(request: HttpRequest, query: Query[TrackingLogQuery]) -> HttpResponse:
    _require_viewer(request)
    date_from, date_to = printing.period_parse(query.date_from, query.date_to)
    content, filename = printing.tracking_log_export(
        user=request.user, date_from=date_from, date_to=date_to, fmt=query.format
    )
    if query.format == "pdf":
        return pdf_response(content, filename)
    response = HttpResponse(content, content_type=printing.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
