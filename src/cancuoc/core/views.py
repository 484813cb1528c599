import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core import selectors
from cancuoc.units.selectors import unit_ancestors, unit_children


@login_required
def home(request: HttpRequest) -> HttpResponse:
    unit = request.user.unit  # type: ignore[union-attr]  # login_required
    return render(
        request,
        "core/home.html",
        {
            "unit": unit,
            "ancestors": unit_ancestors(unit=unit),
            "children": unit_children(user=request.user, unit=unit),
        },
    )


def querystring_without_page(request: HttpRequest) -> str:
    """The current filters, for pagination links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _parse_date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Capability.VIEW_AUDIT):
        raise PermissionDenied
    action, actor = request.GET.get("action", ""), request.GET.get("actor", "").strip()
    date_from, date_to = _parse_date(request.GET.get("from")), _parse_date(request.GET.get("to"))
    filters = {"action": action, "actor": actor, "date_from": date_from, "date_to": date_to}
    entries = selectors.audit_entries(
        user=request.user, action=action, actor=actor, date_from=date_from, date_to=date_to
    ).select_related("unit")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit.html",
        {
            "page": page,
            "filters": filters,
            "actions": selectors.audit_actions(user=request.user),
            "query": querystring_without_page(request),
        },
    )
