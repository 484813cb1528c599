"""The one-stop desk pages: the dossier list, the receipt form, a dossier and its actions.

Thin: forms check shapes, `dossiers.services` decide and write, `dossiers.selectors`
read within the user's unit scope. A DomainError's message is shown as is and, because
every service runs in one transaction, a refused action has changed nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import unit_in_scope
from cancuoc.core.views import querystring_without_page
from cancuoc.core.workdays import WorkCalendar
from cancuoc.dossiers import lifecycle, selectors, services
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.forms import DOSSIER_ACTIONS, ActForm, ReceiveForm, action_kwargs
from cancuoc.dossiers.models import DeliveryStatus, Dossier, DossierStatus, ReturnMethod
from cancuoc.dossiers.printing import forms_applicable
from cancuoc.dossiers.views.catalogue import catalogue_rows, fee_text

PAGE_SIZE = 50

# One table of action labels for services, pages and the API (``services.ACTION_LABELS``).
ACTION_LABELS = services.ACTION_LABELS
DONE_MESSAGES = {
    "transfer": gettext_lazy("The dossier was transferred for processing."),
    "appraise": gettext_lazy("Appraisal started."),
    "supplement_request": gettext_lazy("More documents were requested; the clock is paused."),
    "supplement_receive": gettext_lazy("The documents were received; the clock runs again."),
    "approve": gettext_lazy("The dossier was approved."),
    "refuse": gettext_lazy("The dossier was refused."),
    "sign": gettext_lazy("The result was signed and stamped."),
    "result_ready": gettext_lazy("The result is ready to be returned."),
    "return": gettext_lazy("The result was returned."),
    "withdraw": gettext_lazy("The dossier was withdrawn."),
    "apologise": gettext_lazy("The apology and the new date were recorded."),
    "route": gettext_lazy("The dossier was routed to the competent unit."),
    "fee_pay": gettext_lazy("The payment was recorded."),
    "fee_exempt": gettext_lazy("The fee exemption was recorded."),
    "delivery_update": gettext_lazy("The delivery was updated."),
}
# The main path: its buttons are drawn as primary buttons.
_PRIMARY = {"transfer", "appraise", "approve", "sign", "result_ready", "return"}
# Keys of DossierTransition.data shown on the timeline, with their labels.
_DETAIL_LABELS = {
    "missing": gettext_lazy("Missing documents"),
    "reason": gettext_lazy("Reason"),
    "new_date": gettext_lazy("New return date"),
    "method": gettext_lazy("Return method"),
    "tracking_number": gettext_lazy("Tracking number"),
    "receipt_number": gettext_lazy("Receipt number"),
    "from_unit": gettext_lazy("From unit"),
    "to_unit": gettext_lazy("To unit"),
    "due_date": gettext_lazy("Due date"),
}
FORM_TITLES = {
    "01": gettext_lazy("Mẫu 01 · Receipt and appointment slip"),
    "02": gettext_lazy("Mẫu 02 · Request for more documents"),
    "03": gettext_lazy("Mẫu 03 · Refusal"),
    "04": gettext_lazy("Mẫu 04 · Apology and new date"),
    "05": gettext_lazy("Mẫu 05 · Processing control sheet"),
}


# --- Access ----------------------------------------------------------------------------


def _require(user: Any, capability: Capability) -> None:
    if not user_can(user, capability):
        raise HttpForbidden


def _dossier_or_404(user: Any, pk: int, *, view: bool = False) -> Dossier:
    """The dossier if it is in the user's scope; another unit's dossier does not exist.

    ``view``: the page shows the applicant's personal data, so the read is audited.
    """
    try:
        if view:
            return selectors.dossier_view(user=user, dossier_id=pk)
        return selectors.dossier_get(user=user, dossier_id=pk)
    except OutOfScope:
        raise Http404 from None
    except PermissionDenied:
        raise HttpForbidden from None


# --- Deadline badge ----------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    colour: str  # red | amber | green | grey
    label: str


def deadline_badge(dossier: Dossier, *, today: dt.date, calendar: WorkCalendar) -> Badge:
    """Red when late, amber when due within one working day, green otherwise."""
    if dossier.status == DossierStatus.RETURNED:
        colour = "red" if dossier.timeliness == "late" else "green"
        return Badge(colour, dossier.get_timeliness_display() or dossier.get_status_display())
    if lifecycle.is_terminal(dossier.status):
        return Badge("grey", dossier.get_status_display())
    if dossier.status == DossierStatus.SUPPLEMENT_REQUESTED:
        return Badge("grey", _("Clock paused"))
    if lifecycle.is_overdue(dossier.due_date, today):
        late = max(calendar.working_days_between(dossier.due_date, today), 1)
        label = ngettext("Overdue by %(n)d working day", "Overdue by %(n)d working days", late) % {
            "n": late
        }
        return Badge("red", label)
    left = calendar.working_days_between(today, dossier.due_date)
    if left == 0:
        return Badge("amber", _("Due today"))
    label = ngettext("%(n)d working day left", "%(n)d working days left", left) % {"n": left}
    return Badge("amber" if left <= 1 else "green", label)


# --- List -------------------------------------------------------------------------------


def _filters(request: HttpRequest) -> dict[str, str]:
    get = request.GET
    return {
        "q": get.get("q", "").strip(),
        "status": get.get("status", "") if get.get("status") in DossierStatus.values else "",
        "procedure": get.get("procedure", "").strip(),
        "term": get.get("term", "") if get.get("term") in ("overdue", "within") else "",
    }


def desk_dossiers(*, user: Any, filters: dict[str, str], today: dt.date) -> Any:
    dossiers = selectors.dossier_list(
        user=user,
        q=filters["q"],
        status=filters["status"] or None,
        procedure_code=filters["procedure"] or None,
    )
    # A dossier waiting for documents has its clock paused: it is neither overdue nor
    # counted by due day (the reports' due_open rollup leaves it out the same way).
    running = lifecycle.OPEN - {lifecycle.SUPPLEMENT}
    if filters["term"] == "overdue":
        dossiers = dossiers.filter(status__in=running, due_date__lt=today)
    elif filters["term"] == "within":
        dossiers = dossiers.filter(status__in=running, due_date__gte=today)
    return dossiers.select_related("procedure")


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    _require(request.user, Capability.VIEW_DOSSIERS)
    today = timezone.localdate()
    filters = _filters(request)
    page = Paginator(desk_dossiers(user=request.user, filters=filters, today=today), PAGE_SIZE)
    page_obj = page.get_page(request.GET.get("page"))
    selectors.dossier_list_record(
        user=request.user, filters=filters, page=page_obj.number, shown=len(page_obj.object_list)
    )
    calendar = work_calendar()
    rows = [
        {"dossier": d, "badge": deadline_badge(d, today=today, calendar=calendar)} for d in page_obj
    ]
    return render(
        request,
        "dossiers/desk/list.html",
        {
            "page": page_obj,
            "rows": rows,
            "filters": filters,
            "statuses": DossierStatus.choices,
            "procedures": [r["procedure"] for r in catalogue_rows(on=today)],
            "can_receive": user_can(request.user, Capability.RECEIVE_DOSSIER),
            "query": querystring_without_page(request),
        },
    )


# --- Receive ----------------------------------------------------------------------------


def _procedure_options(today: dt.date) -> list[dict[str, Any]]:
    return [
        {
            "code": r["procedure"].code,
            "name": r["procedure"].name,
            "days": r["version"].processing_days,
            "fee": r["version"].fee,
            "on_the_spot": r["procedure"].on_the_spot,
        }
        for r in catalogue_rows(on=today)
        if r["version"] is not None and r["procedure"].is_active
    ]


def _unit_options(user: Any) -> list[tuple[int, str]]:
    """The units the user's desk may receive for (Decree 118/2025), own unit first."""
    own = getattr(user, "unit_id", None)
    units = sorted(selectors.competent_units(user=user), key=lambda u: u.pk != own)
    return [(u.pk, u.name) for u in units]


def _default_unit(user: Any, units: list[tuple[int, str]]) -> int | None:
    """The user's own unit when it can resolve dossiers, else the first valid one."""
    own = getattr(user, "unit_id", None)
    if any(pk == own for pk, _name in units):
        return own
    return units[0][0] if units else None


def _chosen_text(options: list[dict[str, Any]], code: Any) -> str:
    for p in options:
        if p["code"] == code:
            text = _("Processing time: {days} working days · Fee: {fee}").format(
                days=p["days"], fee=fee_text(p["fee"])
            )
            return f"{text} {_('Can be resolved on the spot.')}" if p["on_the_spot"] else text
    return ""


def _render_receive(
    request: HttpRequest,
    form: ReceiveForm,
    options: list[dict[str, Any]],
    *,
    status: int = 200,
    lookup_message: str = "",
) -> HttpResponse:
    context = {
        "form": form,
        "procedures": options,
        "chosen_text": _chosen_text(options, form["procedure_code"].value()),
        "lookup_message": lookup_message,
    }
    return render(request, "dossiers/desk/receive.html", context, status=status)


def _registry_applicant(user: Any, id_number: str) -> Any:
    """The citizen with this ID number in the user's scope (an audited read), or None."""
    from cancuoc.registry import selectors as registry

    pk = (
        registry.citizens_visible(user=user)
        .filter(id_number=id_number)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        return None
    return registry.citizen_view(user=user, citizen_id=pk)


def _lookup(
    request: HttpRequest, options: list[dict[str, Any]], units: list[tuple[int, str]]
) -> HttpResponse:
    """Fill the applicant from the registry; the clerk keeps typing if nobody is found."""
    data = request.POST.copy()
    id_number = "".join(ch for ch in data.get("applicant_id_number", "") if ch.isdigit())
    message = _(
        "Nobody with this ID number in the registry of your unit: enter the applicant by hand."
    )
    citizen = None
    if len(id_number) == 12 and user_can(request.user, Capability.VIEW_REGISTRY):
        try:
            citizen = _registry_applicant(request.user, id_number)
        except DomainError:
            citizen = None
    if citizen is not None:
        data["citizen_id"] = str(citizen.pk)
        data["applicant_name"] = citizen.full_name
        data["applicant_phone"] = citizen.phone or data.get("applicant_phone", "")
        data["applicant_address"] = (
            citizen.current_address
            or citizen.permanent_address
            or data.get("applicant_address", "")
        )
        message = _("Found in the registry: %(name)s.") % {"name": citizen.full_name}
    else:
        data["citizen_id"] = ""
    form = ReceiveForm(data, procedures=_choices(options), units=units)
    form.errors.clear()  # a lookup is not a submission: no error until the clerk submits
    return _render_receive(request, form, options, lookup_message=message)


def _choices(options: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(p["code"], f"{p['code']} {p['name']}") for p in options]


def _receive_with(user: Any, form: ReceiveForm, intent: str) -> Dossier:
    kwargs = form.service_kwargs()
    if intent == "reject":
        reason = form.cleaned_data.get("intake_refusal_reason", "")
        if not reason:
            raise DomainError(_("Give the reason for refusing the dossier at intake."))
        for unused in ("return_method", "delivery_address", "fee_exemption_reason"):
            kwargs.pop(unused)  # a refused dossier returns nothing and owes nothing
        return services.dossier_reject_at_intake(actor=user, reason=reason, **kwargs)
    if form.cleaned_data.get("on_the_spot"):
        return services.dossier_on_the_spot(actor=user, **kwargs)
    return services.dossier_receive(actor=user, **kwargs)


@login_required
def receive(request: HttpRequest) -> HttpResponse:
    _require(request.user, Capability.RECEIVE_DOSSIER)
    options = _procedure_options(timezone.localdate())
    units = _unit_options(request.user)
    if request.method != "POST":
        form = ReceiveForm(
            procedures=_choices(options),
            units=units,
            initial={"competent_unit_id": _default_unit(request.user, units)},
        )
        return _render_receive(request, form, options)
    intent = request.POST.get("intent", "receive")
    if intent == "lookup":
        return _lookup(request, options, units)
    existing = selectors.dossier_by_submission_key(
        user=request.user, key=request.POST.get("submission_key", "")
    )
    if existing is not None:
        messages.warning(
            request, _("This form was already submitted: here is the dossier it created.")
        )
        return redirect("dossiers:detail", pk=existing.pk)
    form = ReceiveForm(request.POST, procedures=_choices(options), units=units)
    if not form.is_valid():
        return _render_receive(request, form, options, status=400)
    try:
        dossier = _receive_with(request.user, form, intent)
    except DomainError as exc:
        # A concurrent second submission loses on the unique key inside the service.
        existing = selectors.dossier_by_submission_key(
            user=request.user, key=form.cleaned_data["submission_key"]
        )
        if existing is not None:
            messages.warning(
                request, _("This form was already submitted: here is the dossier it created.")
            )
            return redirect("dossiers:detail", pk=existing.pk)
        form.add_error(None, exc.message)
        return _render_receive(request, form, options, status=400)
    messages.success(request, _received_message(dossier))
    return redirect("dossiers:detail", pk=dossier.pk)


def _received_message(dossier: Dossier) -> str:
    if dossier.status == DossierStatus.REJECTED_AT_INTAKE:
        return _("Dossier %(code)s was refused at intake.") % {"code": dossier.code}
    if dossier.status == DossierStatus.RETURNED:
        return _("Dossier %(code)s was resolved on the spot.") % {"code": dossier.code}
    return _("Dossier %(code)s was received; the result is due on %(due)s.") % {
        "code": dossier.code,
        "due": dossier.due_date.strftime("%d/%m/%Y"),
    }


# --- Detail -----------------------------------------------------------------------------


def user_actions(user: Any, dossier: Dossier) -> list[str]:
    """Lifecycle actions legal in the dossier's status that the user's role may take.

    None for an officer of the unit that only received it for another unit (Decree
    118/2025): they may read it and reprint the slip, but the competent unit acts.
    """
    if not unit_in_scope(user, dossier.unit):
        return []
    return [
        action
        for action in lifecycle.allowed_actions(dossier.status)
        if action in DOSSIER_ACTIONS and user_can(user, lifecycle.ACTION_CAPABILITY[action])
    ]


def _form_url(dossier: Dossier, number: str) -> str | None:
    try:
        return reverse("dossiers:form_pdf", kwargs={"pk": dossier.pk, "form": number})
    except NoReverseMatch:
        return None


def _form_links(dossier: Dossier, history: list[Any]) -> list[dict[str, Any]]:
    links = []
    for number in forms_applicable(dossier=dossier, transitions=history):
        url = _form_url(dossier, number)
        if url:
            links.append({"number": number, "title": FORM_TITLES[number], "url": url})
    return links


def _detail_value(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    try:  # ISO dates in the control-sheet data are shown as officers write them
        return dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def _details(data: Any) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return []
    shown = []
    for key, label in _DETAIL_LABELS.items():
        value = data.get(key)
        if value in (None, "", []):
            continue
        shown.append((str(label), _detail_value(value)))
    return shown


def _to_label(step: Any, statuses: dict[str, Any]) -> str:
    """The status a step led to, unless it says nothing new (same status, same words)."""
    if step.to_status == step.from_status:
        return ""
    label = str(statuses.get(step.to_status, ""))
    return "" if label == str(ACTION_LABELS.get(step.action, "")) else label


def _timeline(rows: Any) -> list[dict[str, Any]]:
    statuses = dict(DossierStatus.choices)
    return [
        {
            "row": t,
            "action": t.action,
            "label": ACTION_LABELS.get(t.action, t.action),
            "to_label": _to_label(t, statuses),
            "details": _details(t.data),
        }
        for t in rows
    ]


def detail_context(request: HttpRequest, dossier: Dossier) -> dict[str, Any]:
    user = request.user
    history = list(selectors.dossier_history(user=user, dossier_id=dossier.pk))
    names = user_actions(user, dossier)
    receive_cap = user_can(user, Capability.RECEIVE_DOSSIER) and unit_in_scope(user, dossier.unit)
    return {
        "dossier": dossier,
        "badge": deadline_badge(dossier, today=timezone.localdate(), calendar=work_calendar()),
        "history": _timeline(history),
        "actions": [
            {"name": n, "label": ACTION_LABELS[n], "primary": n in _PRIMARY} for n in names
        ],
        "route_units": [u for u in _unit_options(user) if u[0] != dossier.unit_id]
        if "route" in names
        else [],
        "return_methods": ReturnMethod.choices,
        "delivery_statuses": [c for c in DeliveryStatus.choices if c[0]],
        "can_fee": receive_cap and dossier.fee_status == "due",
        "can_delivery": receive_cap
        and dossier.return_method == ReturnMethod.POST
        and dossier.status in (DossierStatus.RESULT_READY, DossierStatus.RETURNED),
        "fee_text": fee_text(dossier.fee_amount),
        "slip_url": None
        if dossier.status == DossierStatus.REJECTED_AT_INTAKE
        else _form_url(dossier, "01"),
        "form_links": _form_links(dossier, history),
    }


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    dossier = _dossier_or_404(request.user, pk, view=True)
    return render(request, "dossiers/desk/detail.html", detail_context(request, dossier))


# --- Act --------------------------------------------------------------------------------


_SIDE_SERVICES = {
    "fee_pay": "dossier_fee_pay",
    "fee_exempt": "dossier_fee_exempt",
    "delivery_update": "dossier_delivery_update",
}


def perform_action(*, user: Any, dossier_id: int, action: str, fields: dict[str, Any]) -> Dossier:
    """Call the one service the action names; raises DomainError on any refusal.

    Used by the page and by the API, so both refuse and accept exactly the same things.
    """
    kwargs = action_kwargs(action, fields)
    if action in _SIDE_SERVICES:
        service = getattr(services, _SIDE_SERVICES[action])
        return service(actor=user, dossier_id=dossier_id, **kwargs)  # type: ignore[no-any-return]
    if action not in DOSSIER_ACTIONS:
        raise DomainError(_("Unknown action: %(action)s.") % {"action": action})
    return services.dossier_act(
        actor=user, dossier_id=dossier_id, action=action, note=fields.get("note") or "", **kwargs
    )


def _form_error(form: ActForm) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else None
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return _("The action was refused.")


@login_required
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    dossier = _dossier_or_404(request.user, pk)
    form = ActForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error(form))
        return redirect("dossiers:detail", pk=dossier.pk)
    try:
        perform_action(
            user=request.user,
            dossier_id=dossier.pk,
            action=form.cleaned_data["action"],
            fields=form.cleaned_data,
        )
    except OutOfScope:
        raise Http404 from None
    except PermissionDenied as exc:
        messages.error(request, exc.message)
        return render(
            request, "dossiers/desk/detail.html", detail_context(request, dossier), status=403
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dossiers:detail", pk=dossier.pk)
    messages.success(request, str(DONE_MESSAGES[form.cleaned_data["action"]]))
    return redirect("dossiers:detail", pk=dossier.pk)


urlpatterns = [
    path("", desk, name="desk"),
    path("receive/", receive, name="receive"),
    path("dossiers/<int:pk>/", detail, name="detail"),
    path("dossiers/<int:pk>/act/", act, name="act"),
]
