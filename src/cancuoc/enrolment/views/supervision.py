"""Pages for supervisors: timing statistics, cards and the production export, offline
conflicts, and approving completed applications."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.core.views import querystring_without_page
from cancuoc.enrolment import selectors, services
from cancuoc.enrolment.forms import CardActionForm, ExportForm, ResolveForm, StatsForm
from cancuoc.enrolment.models import CardStatus, Step
from cancuoc.enrolment.views.common import application_or_404, attachment, require
from cancuoc.enrolment.views.stations import _unit_choices

PAGE_SIZE = 50
NORM_MINUTES = 6


@login_required
def stats(request: HttpRequest) -> HttpResponse:
    """Per step median and p90, per station and per operator, against the 6-minute norm."""
    user = request.user
    require(user, Capability.VIEW_ENROLMENT)
    stations = list(selectors.stations_for(user=user))
    operator_ids: set[int] = set()
    for station in stations:
        operator_ids.update(station.operators.values_list("pk", flat=True))
    operators = User.objects.filter(pk__in=operator_ids).order_by("username")
    form = StatsForm(
        request.GET or None,
        stations=[(s.pk, f"{s.code} · {s.name}") for s in stations],
        operators=[(o.pk, o.username) for o in operators],
    )
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {
            "station_id": form.cleaned_data["station"],
            "operator_id": form.cleaned_data["operator"],
            "date_from": form.cleaned_data["date_from"],
            "date_to": form.cleaned_data["date_to"],
        }
    try:
        result = selectors.timing_stats(user=user, **filters)
    except OutOfScope:
        raise Http404 from None
    norm = result.norm_minutes or NORM_MINUTES
    return render(
        request,
        "enrolment/stats.html",
        {
            "form": form,
            "stats": result,
            "norm_minutes": norm,
            "median": mmss(result.median_min * 60),
            "p90": mmss(result.p90_min * 60),
            "over_norm": result.p90_min > norm,
            "within_share": round(100 * result.within_norm / result.count) if result.count else 0,
            "steps": [
                {
                    "row": s,
                    "label": Step(s.step).label,
                    "median": mmss(s.median_s),
                    "p90": mmss(s.p90_s),
                }
                for s in result.steps
            ],
            "by_station": _groups(result.by_station, norm),
            "by_operator": _groups(result.by_operator, norm),
        },
    )


def mmss(seconds: float) -> str:
    """A duration as m:ss, the way the 6-minute norm is spoken of."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _groups(rows: list[Any], norm: int) -> list[dict[str, Any]]:
    return [
        {
            "row": g,
            "median": mmss(g.median_min * 60),
            "p90": mmss(g.p90_min * 60),
            "share": round(100 * g.within_norm_share),
            "bar": min(100, round(100 * g.median_min / (2 * norm))) if norm else 0,
            "over": g.median_min > norm,
        }
        for g in rows
    ]


@login_required
def cards(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, Capability.VIEW_ENROLMENT)
    status = request.GET.get("status") or None
    if status is not None and status not in CardStatus.values:
        raise Http404
    rows = selectors.cards_for(user=user, status=status).select_related("citizen", "batch")
    page = Paginator(rows.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    selectors.list_record(
        user, what="card", shown=len(page.object_list), status=status, page=page.number
    )
    supervise = user_can(user, Capability.SUPERVISE_ENROLMENT)
    return render(
        request,
        "enrolment/cards.html",
        {
            "page": page,
            "status": status or "",
            "statuses": CardStatus.choices,
            "can_supervise": supervise,
            # Ready and handed over are the desk's result steps (dossier_result_ready,
            # dossier_return): whoever receives dossiers moves the card with them.
            "can_act": user_can(user, Capability.RECEIVE_DOSSIER),
            "export_form": ExportForm(units=_unit_choices(user)) if supervise else None,
            "query": querystring_without_page(request),
        },
    )


@login_required
@require_POST
def card_action(request: HttpRequest) -> HttpResponse:
    """Mark cards ready (several at once) or hand one over; the dossier follows."""
    user = request.user
    require(user, Capability.RECEIVE_DOSSIER)
    visible = list(selectors.cards_for(user=user).values_list("pk", flat=True))
    data = request.POST.copy()
    if data.get("hand_over"):
        # The per-row button names its card.
        data.setlist("card_ids", [str(data["hand_over"])])
        data["action"] = "hand_over"
    form = CardActionForm(data, card_choices=visible)
    back = request.POST.get("next") or ""
    if not back.startswith("/enrolment/"):
        back = "enrolment:cards"
    if not form.is_valid():
        messages.error(request, _("Choose the cards and the action."))
        return redirect(back)
    ids = form.cleaned_data["card_ids"]
    try:
        if form.cleaned_data["action"] == "mark_ready":
            services.card_mark_ready(actor=user, card_ids=ids)
            messages.success(
                request,
                ngettext(
                    "%(n)d card is ready for collection.",
                    "%(n)d cards are ready for collection.",
                    len(ids),
                )
                % {"n": len(ids)},
            )
        else:
            for card_id in ids:
                services.card_hand_over(actor=user, card_id=card_id)
            messages.success(request, _("The card was handed over."))
    except OutOfScope:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(back)


@login_required
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    """The production file for the printing centre: every in-production card in scope not
    yet sent, as one batch."""
    user = request.user
    require(user, Capability.SUPERVISE_ENROLMENT)
    form = ExportForm(request.POST, units=_unit_choices(user))
    if not form.is_valid():
        messages.error(request, _("Choose the unit and the format."))
        return redirect("enrolment:cards")
    fmt = form.cleaned_data["file_format"]
    try:
        batch, content = services.production_export(
            actor=user, unit_id=form.cleaned_data["unit_id"], file_format=fmt
        )
    except OutOfScope:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("enrolment:cards")
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    filename = f"production-{batch.created_at:%Y%m%d-%H%M%S}-{str(batch.pk)[:8]}.{fmt}"
    return attachment(content, filename=filename, content_type=content_type)


@login_required
def conflicts(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, Capability.VIEW_ENROLMENT)
    rows = (
        selectors.conflicts_for(user=user)
        .select_related("citizen", "station", "operator", "conflict_with__station")
        .order_by("received_at")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.list_record(user, what="conflict", shown=len(page.object_list), page=page.number)
    return render(
        request,
        "enrolment/conflicts.html",
        {
            "page": page,
            "can_supervise": user_can(user, Capability.SUPERVISE_ENROLMENT),
            "query": querystring_without_page(request),
        },
    )


@login_required
@require_POST
def conflict_resolve(request: HttpRequest, pk: Any) -> HttpResponse:
    user = request.user
    require(user, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(user, pk, audit=False)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to keep or to discard the enrolment."))
        return redirect("enrolment:conflicts")
    keep = form.cleaned_data["keep"]
    try:
        services.application_resolve_conflict(
            actor=user, application_id=application.pk, keep=keep, note=form.cleaned_data["note"]
        )
    except OutOfScope:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("enrolment:conflicts")
    messages.success(
        request,
        _("The enrolment was kept and its dossier received.")
        if keep
        else _("The enrolment was discarded."),
    )
    return redirect("enrolment:conflicts")


@login_required
@require_POST
def approve(request: HttpRequest) -> HttpResponse:
    """Approve and sign completed applications: their cards go to production."""
    user = request.user
    require(user, Capability.APPROVE_DOSSIER)
    ids = request.POST.getlist("application_ids")
    if not ids:
        messages.error(request, _("Choose the applications to approve."))
        return redirect("enrolment:home")
    try:
        made = services.application_approve(actor=user, application_ids=ids)
    except OutOfScope:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("enrolment:home")
    messages.success(
        request,
        ngettext(
            "%(n)d application was approved; its card is in production.",
            "%(n)d applications were approved; their cards are in production.",
            len(made),
        )
        % {"n": len(made)},
    )
    return redirect("enrolment:home")
