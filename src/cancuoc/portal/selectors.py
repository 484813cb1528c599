"""Reads for the citizen portal and for the officers who handle complaints.

The citizen's reads are not unit-scoped (a citizen has no unit): they reach one dossier
only after `services.dossier_lookup` has checked its code and second factor, and they
return only what the citizen needs, never an officer's name. The officers' reads go
through `scope_queryset` like every other selector.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import scope_queryset
from cancuoc.dossiers import lifecycle
from cancuoc.dossiers.models import DeliveryStatus, Dossier, DossierStatus, ReturnMethod
from cancuoc.portal.models import Complaint, ComplaintStatus, Rating
from cancuoc.units.models import Edition, Level, Unit

# The status in words a citizen understands (the desk's own labels are officers' terms).
STATUS_PLAIN: dict[str, Promise] = {
    DossierStatus.RECEIVED: _("Received, waiting to be processed"),
    DossierStatus.TRANSFERRED: _("Being processed"),
    DossierStatus.IN_APPRAISAL: _("Being processed"),
    DossierStatus.SUPPLEMENT_REQUESTED: _("Waiting for more documents from you"),
    DossierStatus.APPROVED: _("Decided, waiting for signature"),
    DossierStatus.REFUSED: _("Refused, waiting for the written answer"),
    DossierStatus.SIGNED: _("Signed, the result is being prepared"),
    DossierStatus.RESULT_READY: _("The result is ready for you"),
    DossierStatus.RETURNED: _("The result has been handed over"),
    DossierStatus.REJECTED_AT_INTAKE: _("Not accepted"),
    DossierStatus.WITHDRAWN: _("Withdrawn at your request"),
}

STEP_PLAIN: dict[str, Promise] = {
    "receive": _("Dossier received"),
    "reject_intake": _("Dossier not accepted"),
    "on_the_spot": _("Processed on the spot"),
    "transfer": _("Sent for processing"),
    "appraise": _("Being examined"),
    "supplement_request": _("More documents requested"),
    "supplement_receive": _("Additional documents received"),
    "approve": _("Approved"),
    "refuse": _("Refused"),
    "sign": _("Signed and stamped"),
    "result_ready": _("Result ready"),
    "return": _("Result handed over"),
    "withdraw": _("Withdrawn"),
    "apologise": _("Delayed: apology and new date"),
    "route": _("Sent to the competent office"),
    "fee_pay": _("Fee paid"),
    "fee_exempt": _("Fee exempted"),
    "delivery_update": _("Postal delivery updated"),
}

# Shown for a step this table does not know yet, so an internal action name never shows.
STEP_UNKNOWN = _("Dossier updated")

# Where the posted result is, in the citizen's words (DeliveryStatus values).
DELIVERY_PLAIN: dict[str, Promise] = {
    DeliveryStatus.WAITING: _("Result packed, waiting for the postal courier"),
    DeliveryStatus.IN_TRANSIT: _("Result on its way to you by post"),
    DeliveryStatus.DELIVERED: _("Result delivered to you by post"),
    DeliveryStatus.FAILED: _("The post could not deliver the result"),
}

TIMELINESS_PLAIN: dict[str, Promise] = {
    "early": _("Returned before the due date"),
    "on_time": _("Returned on the due date"),
    "late": _("Returned after the due date"),
    "within_term": _("Within the time limit"),
    "overdue": _("Past the due date"),
    "paused": _("Clock paused, waiting for your documents"),
}


@dataclass(frozen=True)
class PublicStep:
    at: dt.datetime
    label: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PublicDossier:
    """What the citizen sees: no officer, no internal note, no other applicant data."""

    id: int
    code: str
    procedure_code: str
    procedure_name: str
    status: str
    status_label: str
    received_at: dt.datetime
    due_date: dt.date | None
    apology_due_date: dt.date | None
    returned_at: dt.datetime | None
    timeliness: str
    timeliness_label: str
    steps: list[PublicStep]
    can_rate: bool
    rating: str
    # Postal return (blank unless the result is sent by post).
    delivery_status: str = ""
    delivery_status_label: str = ""
    tracking_number: str = ""
    delivered_on: dt.date | None = None


def dossier_by_code(*, code: str) -> Dossier | None:
    """The dossier with exactly this code, for the lookup service only (unscoped)."""
    return Dossier.objects.select_related("unit", "procedure").filter(code=code).first()


def dossier_public(*, dossier_id: int, today: dt.date | None = None) -> PublicDossier:
    """The public view of a dossier the caller has already verified (code + factor)."""
    dossier = Dossier.objects.select_related("procedure").get(pk=dossier_id)
    rating = Rating.objects.filter(dossier_id=dossier_id).values_list("score", flat=True).first()
    kind = _timeliness(dossier, today or timezone.localdate())
    has_due = dossier.status != DossierStatus.REJECTED_AT_INTAKE
    return PublicDossier(
        id=dossier.pk,
        code=dossier.code,
        procedure_code=dossier.procedure.code,
        procedure_name=dossier.procedure.name,
        status=dossier.status,
        status_label=str(STATUS_PLAIN.get(dossier.status, dossier.status)),
        received_at=timezone.localtime(dossier.received_at),
        due_date=dossier.due_date if has_due else None,
        apology_due_date=dossier.apology_due_date,
        returned_at=timezone.localtime(dossier.returned_at) if dossier.returned_at else None,
        timeliness=kind,
        timeliness_label=str(TIMELINESS_PLAIN[kind]) if kind else "",
        steps=[_public_step(t.action, t.at, t.data) for t in dossier.transitions.all()],
        can_rate=dossier.status == DossierStatus.RETURNED and rating is None,
        rating=rating or "",
        delivery_status=dossier.delivery_status,
        delivery_status_label=str(DELIVERY_PLAIN.get(dossier.delivery_status, "")),
        tracking_number=dossier.tracking_number,
        delivered_on=dossier.delivered_on,
    )


def _timeliness(dossier: Dossier, today: dt.date) -> str:
    """early/on_time/late once returned; while open, paused, within term or overdue.

    A dossier waiting for the citizen's documents has its clock stopped (the due date
    moves by the paused days when they arrive): it is never overdue meanwhile.
    """
    if dossier.status == DossierStatus.RETURNED:
        return dossier.timeliness
    if dossier.status == DossierStatus.SUPPLEMENT_REQUESTED:
        return "paused"
    if dossier.status in lifecycle.OPEN:
        return "overdue" if lifecycle.is_overdue(dossier.due_date, today) else "within_term"
    return ""


def _public_step(action: str, at: dt.datetime, data: dict[str, Any]) -> PublicStep:
    """One step in plain words, with what the citizen must know (papers asked, reasons,
    receipt and postal tracking numbers). Never the internal action name."""
    label = str(STEP_PLAIN.get(action, STEP_UNKNOWN))
    details: list[str] = []
    if action == lifecycle.SUPPLEMENT_REQUEST:
        missing = data.get("missing") or []
        details = [str(item) for item in (missing if isinstance(missing, list) else [missing])]
    elif action in ("refuse", "reject_intake", "apologise", "fee_exempt") and data.get("reason"):
        details = [str(data["reason"])]
    elif action == lifecycle.FEE_PAY and data.get("receipt_number"):
        details = [gettext("Receipt number: %(number)s") % {"number": data["receipt_number"]}]
    elif action == lifecycle.RETURN and data.get("method") == ReturnMethod.POST:
        details = [gettext("Sent to you by post"), *_tracking(data)]
    elif action == lifecycle.DELIVERY_UPDATE:
        label = str(DELIVERY_PLAIN.get(str(data.get("delivery_status") or ""), label))
        details = _tracking(data) + _delivered_on(data)
    return PublicStep(at=timezone.localtime(at), label=label, details=details)


def _tracking(data: dict[str, Any]) -> list[str]:
    number = str(data.get("tracking_number") or "")
    return [gettext("Postal tracking number: %(number)s") % {"number": number}] if number else []


def _delivered_on(data: dict[str, Any]) -> list[str]:
    try:
        day = dt.date.fromisoformat(str(data.get("delivered_on") or ""))
    except ValueError:
        return []
    return [gettext("Delivered on %(date)s") % {"date": f"{day:%d/%m/%Y}"}]


# --- Units a citizen may address a complaint to (public facts) --------------------------


def provinces_public() -> QuerySet[Unit]:
    return Unit.objects.filter(edition=Edition.Y2025, level=Level.PROVINCE).order_by("name")


def communes_public(*, province_id: int) -> QuerySet[Unit]:
    return Unit.objects.filter(parent_id=province_id, edition=Edition.Y2025).order_by("name")


def unit_public(*, unit_id: int) -> Unit | None:
    return Unit.objects.filter(pk=unit_id, edition=Edition.Y2025, level__gte=Level.PROVINCE).first()


def complaint_filed(*, complaint_id: int) -> Complaint | None:
    """A complaint this browser session has just filed (its id is in the session)."""
    return Complaint.objects.filter(pk=complaint_id).first()


# --- Officers ------------------------------------------------------------------------


def complaints_visible(
    *,
    user: Any,
    status: str | None = None,
    overdue_on: dt.date | None = None,
    audit: bool = False,
) -> QuerySet[Complaint]:
    """Complaints in the user's scope, oldest answer date first.

    `audit=True` for a caller that hands out the citizens' names and phones (the API
    list): one audit row per read, never one per complaint. The officers' list page
    shows no personal data and does not audit.
    """
    complaints = scope_queryset(Complaint.objects.select_related("unit", "dossier"), user=user)
    if status:
        complaints = complaints.filter(status=status)
    if overdue_on is not None:
        complaints = complaints.filter(
            due_date__lt=overdue_on,
            status__in=[ComplaintStatus.RECEIVED, ComplaintStatus.IN_PROGRESS],
        )
    if audit:
        audit_record(
            actor=user,
            action="complaint.list",
            unit=user.unit,
            detail={
                "status": status or "",
                "overdue_on": overdue_on.isoformat() if overdue_on else "",
                "matches": complaints.count(),
            },
        )
    return complaints.order_by("due_date", "pk")


def complaint_get(*, user: Any, complaint_id: int) -> Complaint:
    """One complaint in scope. It holds the citizen's name and phone: every read is
    audited here, so the page and the API leave the same trace. Out of scope raises
    OutOfScope and leaves nothing."""
    complaint = (
        scope_queryset(Complaint.objects.select_related("unit", "dossier", "handled_by"), user=user)
        .filter(pk=complaint_id)
        .first()
    )
    if complaint is None:
        raise OutOfScope()
    audit_record(actor=user, action="complaint.view", obj=complaint)
    return complaint
