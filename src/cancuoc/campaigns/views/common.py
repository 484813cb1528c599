"""What every campaign page shares: finding the campaign in the user's reach, turning
domain errors into HTTP answers, the campaign's tab bar and the day asked for.

Who sees a campaign: anyone whose scope covers its unit (the province manager sees the
province's campaign), and the officers of the units inside it (a commune works on its
province's campaign and reads its own rows; the services decide what each may change).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.campaigns import quotas as arithmetic
from cancuoc.campaigns import selectors
from cancuoc.campaigns.models import Campaign, Session
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.scoping import scope_queryset
from cancuoc.units.models import Unit


def campaigns_visible(user: Any) -> QuerySet[Campaign]:
    return selectors.campaigns_for(user)


def campaign_get(request: HttpRequest, slug: str) -> Campaign:
    """The campaign by its short name, or 404 when it does not exist or lies out of reach."""
    if not user_can(request.user, Capability.VIEW_CAMPAIGNS):
        raise HttpForbidden
    if slug.isdigit():  # the selector also takes ids; addresses use short names only
        raise Http404
    try:
        return selectors.campaign_get(request.user, slug)
    except OutOfScope:
        raise Http404 from None


def can_manage(user: Any, campaign: Campaign) -> bool:
    """Edits the campaign itself (allocations, quotas, calendar): its own unit in scope."""
    return selectors.campaign_manageable(user, campaign)


def can_schedule(user: Any) -> bool:
    return user_can(user, Capability.SCHEDULE_SESSIONS)


def session_get(request: HttpRequest, pk: int) -> Session:
    """A session whose unit is in the user's scope, else 404."""
    if not user_can(request.user, Capability.VIEW_CAMPAIGNS):
        raise HttpForbidden
    session = (
        scope_queryset(Session.objects.all(), user=request.user, lookup="unit_path")
        .select_related("campaign", "unit", "team")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise Http404
    return session


def campaign_units(campaign: Campaign) -> list[Unit]:
    """The units the campaign allocates to and reports on (its child units)."""
    from cancuoc.campaigns.services.campaigns import reporting_units

    return reporting_units(campaign)


def units_for_user(user: Any, campaign: Campaign) -> list[Unit]:
    """The campaign's units (its own unit and below) that the user may schedule in."""
    units = Unit.objects.filter(
        Q(pk=campaign.unit_id) | Q(path__startswith=campaign.unit_path)
    ).order_by("path")
    return list(scope_queryset(units, user=user, lookup="path")[:500])


def guard(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Out of scope becomes 404, not allowed 403: the domain's own refusals, as HTTP."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except OutOfScope:
            raise Http404 from None
        except PermissionDenied:
            raise HttpForbidden from None

    return wrapped


def day_param(request: HttpRequest, name: str = "date", default: dt.date | None = None) -> dt.date:
    """A day from the query string: ISO (2024-03-16) or as typed here (16/03/2024)."""
    raw = (request.GET.get(name) or "").strip()
    for parse in (dt.date.fromisoformat, lambda s: dt.datetime.strptime(s, "%d/%m/%Y").date()):
        try:
            return parse(raw)
        except ValueError:
            continue
    return default or timezone.localdate()


def campaign_today(campaign: Campaign) -> dt.date:
    """Today, held inside the campaign's dates: a finished campaign shows its last day."""
    today = timezone.localdate()
    return min(max(today, campaign.start_date), campaign.deadline)


# The tabs of a campaign's pages: (url name, label, capability).
TABS = [
    ("campaigns:detail", _("Plan"), Capability.VIEW_CAMPAIGNS),
    ("campaigns:dashboard", _("Dashboard"), Capability.VIEW_CAMPAIGNS),
    ("campaigns:report", _("Daily report"), Capability.VIEW_CAMPAIGNS),
    ("campaigns:forecast", _("Forecast"), Capability.VIEW_CAMPAIGNS),
    ("campaigns:inspection", _("Daily inspection"), Capability.VIEW_CAMPAIGNS),
    ("campaigns:ranking", _("Ranking"), Capability.VIEW_CAMPAIGNS),
    ("campaigns:sessions", _("Enrolment sessions"), Capability.VIEW_CAMPAIGNS),
    ("campaigns:home_visits", _("Home visits"), Capability.SCHEDULE_SESSIONS),
    ("campaigns:manual", _("Manual counts"), Capability.MANAGE_CAMPAIGNS),
]


def tabs(request: HttpRequest, campaign: Campaign) -> list[dict[str, Any]]:
    current = request.resolver_match.view_name if request.resolver_match else ""
    return [
        {
            "label": label,
            "url": reverse(name, args=[campaign.slug]),
            "current": name == current,
            "id": "tab-" + name.split(":")[1],
        }
        for name, label, capability in TABS
        if user_can(request.user, capability)
    ]


def language() -> str:
    return get_language() or "vi"


def num(value: int | None) -> str:
    """9020 → "9.020" in Vietnamese, "9,020" in English; None → "—"."""
    return "—" if value is None else arithmetic.format_int(int(value), language())


def pct(value: Any) -> str:
    """Decimal("119.7") → "119,7%" in Vietnamese, "119.7%" in English; None → "—"."""
    return arithmetic.format_percent(value, language())


def campaign_context(request: HttpRequest, campaign: Campaign, **extra: Any) -> dict[str, Any]:
    return {
        "campaign": campaign,
        "tabs": tabs(request, campaign),
        "can_manage": can_manage(request.user, campaign),
        "can_schedule": can_schedule(request.user),
        "target_text": num(campaign.target),
        **extra,
    }
