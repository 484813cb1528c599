"""Pages: citizen imports (upload, progress, error report, template)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.registry.importing import reports
from cancuoc.registry.importing.columns import BY_KEY
from cancuoc.registry.importing.messages import file_error_text
from cancuoc.registry.importing.selectors import (
    import_errors,
    import_get,
    import_list,
    import_percent,
)
from cancuoc.registry.importing.services import import_start
from cancuoc.registry.models import ImportJob

ENCODING_LABELS = [
    ("auto", _("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("utf-16", "UTF-16"),
    ("cp1258", "Windows-1258"),
    ("tcvn3", _("TCVN3 (ABC)")),
    ("vni", "VNI"),
]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File (CSV or XLSX)"))
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODING_LABELS, initial="auto")
    mapping = forms.CharField(
        label=_("Column mapping (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Số CMND = cmnd_cu"}),
        help_text=_("One line per column whose heading differs from the template: heading = key."),
    )

    def clean_mapping(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for line in self.cleaned_data["mapping"].splitlines():
            if not line.strip():
                continue
            heading, sep, key = line.partition("=")
            key = key.strip()
            if not sep or (key and key not in BY_KEY):
                raise forms.ValidationError(
                    _("Line “%(line)s”: write heading = column key from the template."),
                    params={"line": line.strip()},
                )
            mapping[heading.strip()] = key
        return mapping


def _require_importer(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.IMPORT_CITIZENS):
        raise HttpForbidden


def _job(request: HttpRequest, pk: object) -> ImportJob:
    try:
        return import_get(user=request.user, job_id=pk)
    except OutOfScope as exc:
        raise Http404 from exc


def _progress_data(job: ImportJob) -> dict[str, object]:
    return {
        "id": str(job.pk),
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "percent": import_percent(job),
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "inserted": job.inserted,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
        "error": file_error_text(job.error_message),
        "finished": job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
    }


@login_required
def import_list_view(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_start(
                    actor=request.user,
                    upload=form.cleaned_data["file"],
                    encoding=form.cleaned_data["encoding"],
                    mapping=form.cleaned_data["mapping"],
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("registry:import", pk=job.pk)
    page = Paginator(import_list(user=request.user), 20).get_page(request.GET.get("page"))
    return render(request, "registry/imports/list.html", {"form": form, "page": page})


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: object) -> HttpResponse:
    job = _job(request, pk)
    return render(
        request,
        "registry/imports/detail.html",
        {
            "job": job,
            "progress": _progress_data(job),
            "progress_url": reverse("registry:import_progress", args=[job.pk]),
            "columns": (job.mapping or {}).get("columns", {}),
            "ignored": (job.mapping or {}).get("ignored", []),
        },
    )


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: object) -> JsonResponse:
    return JsonResponse(_progress_data(_job(request, pk)))


@login_required
@require_GET
def import_error_report(request: HttpRequest, pk: object) -> HttpResponse:
    job = _job(request, pk)
    errors = import_errors(user=request.user, job_id=job.pk)
    stem = f"loi-nhap-{str(job.pk)[:8]}"
    if request.GET.get("format") == "xlsx":
        return FileResponse(
            reports.error_report_xlsx(errors),
            as_attachment=True,
            filename=f"{stem}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response = StreamingHttpResponse(
        reports.error_report_csv(errors), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    if request.GET.get("format") == "csv":
        response = HttpResponse(reports.template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="mau-nhap-cong-dan.csv"'
        return response
    response = HttpResponse(
        reports.template_xlsx(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="mau-nhap-cong-dan.xlsx"'
    return response


urlpatterns: list[URLPattern] = [
    path("imports/", import_list_view, name="imports"),
    path("imports/template/", import_template, name="import_template"),
    path("imports/<uuid:pk>/", import_detail, name="import"),
    path("imports/<uuid:pk>/progress/", import_progress, name="import_progress"),
    path("imports/<uuid:pk>/errors/", import_error_report, name="import_errors"),
]
