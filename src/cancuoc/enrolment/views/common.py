"""Helpers shared by the enrolment pages: access checks, scoped look-ups, labels."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.enrolment import selectors
from cancuoc.enrolment.models import Application, Station

#: Rolled prints in capture order (right thumb → left little) and the 4-4-2 slaps,
#: as quality.py defines them; the page draws them in this order.
FINGERS = ("R1", "R2", "R3", "R4", "R5", "L1", "L2", "L3", "L4", "L5")
SLAPS = ("LS", "RS", "TS")

POSITION_LABELS = {
    "R1": _("Right thumb"),
    "R2": _("Right index"),
    "R3": _("Right middle"),
    "R4": _("Right ring"),
    "R5": _("Right little"),
    "L1": _("Left thumb"),
    "L2": _("Left index"),
    "L3": _("Left middle"),
    "L4": _("Left ring"),
    "L5": _("Left little"),
    "LS": _("Left four fingers"),
    "RS": _("Right four fingers"),
    "TS": _("Both thumbs"),
}
EYE_LABELS = {"R": _("Right eye"), "L": _("Left eye")}


def require(user: Any, *capabilities: Capability) -> None:
    """403 unless the user holds one of ``capabilities``."""
    if not any(user_can(user, c) for c in capabilities):
        raise HttpForbidden


def can_enrol(user: Any) -> bool:
    return user_can(user, Capability.ENROL)


def can_supervise(user: Any) -> bool:
    return user_can(user, Capability.SUPERVISE_ENROLMENT)


def station_or_404(user: Any, station_id: int) -> Station:
    """The station if it is in the user's scope; another unit's station does not exist."""
    try:
        return selectors.station_get(user=user, station_id=station_id)
    except OutOfScope:
        raise Http404 from None
    except PermissionDenied:
        raise HttpForbidden from None


def application_or_404(user: Any, application_id: Any, *, audit: bool = True) -> Application:
    """The application in scope. ``audit``: the page shows the citizen's data (a write
    is audited by its service instead)."""
    try:
        return selectors.application_get(user=user, application_id=application_id, audit=audit)
    except (OutOfScope, Application.DoesNotExist):
        raise Http404 from None
    except PermissionDenied:
        raise HttpForbidden from None


def wants_json(request: HttpRequest) -> bool:
    """The wizard's small script asks for JSON; a plain form post gets a redirect."""
    return "application/json" in request.headers.get("Accept", "")


def attachment(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def pdf_inline(content: bytes, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
