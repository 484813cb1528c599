"""Pages: corrections (propose from a citizen, queues, detail with approve/reject/withdraw)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.core.errors import PermissionDenied as Denied
from cancuoc.core.views import querystring_without_page
from cancuoc.registry import corrections as selectors
from cancuoc.registry.forms import CorrectionForm, DecisionForm
from cancuoc.registry.models import Correction
from cancuoc.registry.services import (
    correction_approve,
    correction_propose,
    correction_reject,
    correction_withdraw,
)

_TABS = ("pending", "mine", "all")


def _require(request: HttpRequest, capability: Capability) -> None:
    if not user_can(request.user, capability):
        raise PermissionDenied


@login_required
def correction_list(request: HttpRequest) -> HttpResponse:
    _require(request, Capability.VIEW_REGISTRY)
    can_approve = user_can(request.user, Capability.APPROVE_CORRECTION)
    tab = request.GET.get("tab") or ("pending" if can_approve else "mine")
    if tab not in _TABS:
        raise Http404
    status = request.GET.get("status") or None
    if status is not None and status not in Correction.Status.values:
        raise Http404
    if tab == "pending":
        rows = selectors.corrections_pending_for_approval(user=request.user)
    elif tab == "mine":
        rows = selectors.corrections_mine(user=request.user, status=status)
    else:
        rows = selectors.corrections_visible(user=request.user, status=status)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/corrections/list.html",
        {
            "page": page,
            "tab": tab,
            "status": status or "",
            "statuses": Correction.Status.choices,
            "can_approve": can_approve,
            "query": querystring_without_page(request),
        },
    )


@login_required
def correction_new(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Capability.PROPOSE_CORRECTION)
    try:
        citizen = selectors.correction_citizen_get(user=request.user, citizen_id=pk)
    except OutOfScope:
        raise Http404 from None
    form = CorrectionForm(request.POST or None, citizen=citizen)
    if request.method == "POST" and form.is_valid():
        try:
            correction = correction_propose(
                actor=request.user,
                citizen_id=citizen.pk,
                kind=form.cleaned_data["kind"],
                changes=form.changes(),
                reason=form.cleaned_data["reason"],
                evidence=form.cleaned_data["evidence"],
            )
        except OutOfScope:
            raise Http404 from None
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The proposal was sent for approval."))
            return redirect("registry:correction", pk=correction.pk)
    return render(
        request,
        "registry/corrections/new.html",
        {
            "citizen": citizen,
            "form": form,
            "history": selectors.citizen_corrections(user=request.user, citizen_id=citizen.pk),
        },
    )


def _field_rows(correction: Correction) -> list[dict[str, str]]:
    from cancuoc.registry.services import field_label

    return [
        {"field": field, "label": field_label(field), **pair}
        for field, pair in correction.changes.items()
    ]


@login_required
def correction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Capability.VIEW_REGISTRY)
    try:
        correction = selectors.correction_get(user=request.user, correction_id=pk)
    except OutOfScope:
        raise Http404 from None
    pending = correction.status == Correction.Status.PENDING
    own = correction.proposed_by_id == request.user.pk
    return render(
        request,
        "registry/corrections/detail.html",
        {
            "correction": correction,
            "rows": _field_rows(correction),
            "form": DecisionForm(),
            "can_decide": pending
            and not own
            and user_can(request.user, Capability.APPROVE_CORRECTION),
            "can_withdraw": pending and own,
        },
    )


@login_required
@require_POST
def correction_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """POST action=approve|reject|withdraw with an optional note."""
    action = request.POST.get("action", "")
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        if action == "approve":
            correction_approve(actor=request.user, correction_id=pk, note=note)
            messages.success(request, _("Approved: the record is updated."))
        elif action == "reject":
            correction_reject(actor=request.user, correction_id=pk, note=note)
            messages.success(request, _("The proposal was rejected."))
        elif action == "withdraw":
            correction_withdraw(actor=request.user, correction_id=pk)
            messages.success(request, _("The proposal was withdrawn."))
        else:
            raise Http404
    except OutOfScope:
        raise Http404 from None
    except Denied as exc:
        messages.error(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("registry:correction", pk=pk)


urlpatterns: list[URLPattern] = [
    path("corrections/", correction_list, name="corrections"),
    path("corrections/<int:pk>/", correction_detail, name="correction"),
    path("corrections/<int:pk>/decide/", correction_decide, name="correction_decide"),
    path("citizens/<int:pk>/corrections/new/", correction_new, name="correction_new"),
]
