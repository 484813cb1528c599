"""Citizen portal pages (no login) and the officers' complaint pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.core.middleware import request_client_address
from cancuoc.core.views import querystring_without_page
from cancuoc.portal import rules, selectors, services
from cancuoc.portal.forms import ComplaintForm, HandleForm, LookupForm, RatingForm
from cancuoc.portal.models import Complaint, ComplaintStatus

# The dossiers this browser session has proved it may see (code + factor), newest last.
_VERIFIED = "portal_verified"
_VERIFIED_MAX = 10
_FILED = "portal_complaint_filed"


def _verified(request: HttpRequest) -> list[int]:
    return list(request.session.get(_VERIFIED, []))


def _verify(request: HttpRequest, dossier_id: int) -> None:
    ids = [i for i in _verified(request) if i != dossier_id] + [dossier_id]
    request.session[_VERIFIED] = ids[-_VERIFIED_MAX:]


def _verified_dossier_id(request: HttpRequest, code: str) -> int | None:
    dossier = selectors.dossier_by_code(code=rules.code_normalise(code))
    if dossier is None or dossier.pk not in _verified(request):
        return None
    return dossier.pk


# --- Citizen pages --------------------------------------------------------------------


def lookup(request: HttpRequest) -> HttpResponse:
    """Find a dossier by its code and a second factor; throttled per address and per code."""
    form = LookupForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            dossier = services.dossier_lookup(
                code=form.cleaned_data["code"],
                factor=form.cleaned_data["factor"],
                client_address=request_client_address(request),
            )
        except services.LookupThrottled as exc:
            form.add_error(None, exc.message)
            status = 429
        except services.LookupFailed as exc:
            form.add_error(None, exc.message)
        else:
            _verify(request, dossier.pk)
            return redirect("portal:dossier", code=dossier.code)
    return render(request, "portal/lookup.html", {"form": form}, status=status)


def dossier(request: HttpRequest, code: str) -> HttpResponse:
    """The verified dossier's public page; the rating form once it has been returned."""
    dossier_id = _verified_dossier_id(request, code)
    if dossier_id is None:
        response = redirect("portal:lookup")
        response["Location"] += "?" + _code_query(code)
        return response
    form = RatingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.rating_submit(
                dossier_id=dossier_id,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Thank you for rating the service."))
            return redirect("portal:dossier", code=code)
    view = selectors.dossier_public(dossier_id=dossier_id)
    return render(request, "portal/dossier.html", {"d": view, "form": form})


def _code_query(code: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"code": code})


def complaint(request: HttpRequest) -> HttpResponse:
    """File a complaint or feedback, about a dossier (verified) or to an office."""
    data = request.POST if request.method == "POST" else None
    chosen = (data or request.GET).get("province") or ""
    province_id = int(chosen) if chosen.isdigit() else None
    picking = data is not None and "pick" in data
    form = ComplaintForm(
        None if picking else data,
        initial=data.dict() if picking and data is not None else _complaint_initial(request),
        provinces=[(u.pk, u.name) for u in selectors.provinces_public()],
        communes=_offices(province_id),
    )
    status = 200
    if data is not None and not picking and form.is_valid():
        try:
            filed = _complaint_file(request, form.cleaned_data)
        except (services.LookupThrottled, services.ComplaintThrottled) as exc:
            form.add_error(None, exc.message)
            status = 429
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[_FILED] = filed.pk
            return redirect("portal:complaint_sent")
    context = {"form": form, "verified_code": _complaint_initial(request).get("dossier_code")}
    return render(request, "portal/complaint.html", context, status=status)


def _complaint_initial(request: HttpRequest) -> dict[str, Any]:
    code = request.GET.get("dossier", "")
    if code and _verified_dossier_id(request, code) is not None:
        return {"dossier_code": code, "kind": "process"}
    return {}


def _offices(province_id: int | None) -> list[tuple[int, str]]:
    if province_id is None:
        return []
    province = selectors.unit_public(unit_id=province_id)
    if province is None:
        return []
    communes = selectors.communes_public(province_id=province_id)
    return [(province.pk, province.name)] + [(u.pk, u.name) for u in communes]


def _complaint_file(request: HttpRequest, cleaned: dict[str, Any]) -> Complaint:
    dossier_id = None
    code = cleaned.get("dossier_code", "").strip()
    if code:
        dossier_id = _verified_dossier_id(request, code)
        if dossier_id is None:
            found = services.dossier_lookup(
                code=code,
                factor=cleaned.get("factor", ""),
                client_address=request_client_address(request),
            )
            _verify(request, found.pk)
            dossier_id = found.pk
    return services.complaint_file(
        kind=cleaned["kind"],
        text=cleaned["text"],
        contact_name=cleaned["contact_name"],
        contact_phone=cleaned.get("contact_phone", ""),
        officer_named=cleaned.get("officer_named", ""),
        unit_id=cleaned.get("unit") or cleaned.get("province") or None,
        dossier_id=dossier_id,
        client_address=request_client_address(request),
    )


def complaint_sent(request: HttpRequest) -> HttpResponse:
    filed_id = request.session.get(_FILED)
    filed = selectors.complaint_filed(complaint_id=filed_id) if filed_id else None
    if filed is None:
        return redirect("portal:complaint")
    return render(request, "portal/complaint_sent.html", {"complaint": filed})


# --- Officers -------------------------------------------------------------------------


def _require_handler(request: HttpRequest) -> None:
    if not user_can(request.user, Capability.HANDLE_COMPLAINTS):
        raise PermissionDenied


@login_required
def complaints(request: HttpRequest) -> HttpResponse:
    _require_handler(request)
    status = request.GET.get("status", "")
    overdue = request.GET.get("overdue") == "1"
    rows = selectors.complaints_visible(
        user=request.user,
        status=status if status in ComplaintStatus.values else None,
        overdue_on=timezone.localdate() if overdue else None,
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "overdue": overdue,
        "statuses": ComplaintStatus.choices,
        "today": timezone.localdate(),
        "query": querystring_without_page(request),
    }
    return render(request, "portal/complaints.html", context)


@login_required
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_handler(request)
    try:
        item = selectors.complaint_get(user=request.user, complaint_id=pk)
    except OutOfScope:
        raise Http404 from None
    form = HandleForm(request.POST or None, initial={"answer": item.answer})
    if request.method == "POST" and form.is_valid():
        try:
            services.complaint_handle(actor=request.user, complaint_id=pk, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The complaint was updated."))
            return redirect("portal:complaint_detail", pk=pk)
    return render(
        request,
        "portal/complaint_detail.html",
        {"c": item, "form": form, "today": timezone.localdate()},
    )
