"""Fees and delivery: recorded on the control sheet; the dossier's status does not change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers.models import (
    DeliveryStatus,
    Dossier,
    FeeStatus,
    ReturnMethod,
)
from cancuoc.dossiers.services._common import (
    DELIVERY_UPDATE,
    FEE_EXEMPT,
    FEE_PAY,
    DossierError,
    _emit,
    _json_date,
    _local_day,
    _locked,
    _moment,
    _record,
    _require_capability,
    _required_text,
)

# --- Fees and delivery (recorded on the control sheet; the status does not change) ----


def _record_only(
    *, actor: Any, dossier_id: int, action: str, at: dt.datetime | None
) -> tuple[Dossier, dt.datetime]:
    _require_capability(actor, Capability.RECEIVE_DOSSIER, action)
    dossier = _locked(actor, dossier_id)
    return dossier, _moment(at)


def fee_exempt_measures(amount: int) -> dict[str, int]:
    """The rollup of one exemption, whether granted at intake or later."""
    return {"fees_exempted": 1, "fee_amount_exempted": amount}


def _fee_settle(
    *,
    actor: Any,
    dossier: Dossier,
    moment: dt.datetime,
    action: str,
    status: str,
    data: dict[str, Any],
    measures: dict[str, int],
) -> Dossier:
    """Settle a due fee (paid or exempted): one control-sheet row and one rollup event."""
    if dossier.fee_status != FeeStatus.DUE:
        raise DossierError(
            _("No fee is due on this dossier (fee status: %(status)s).")
            % {"status": FeeStatus(dossier.fee_status).label}
        )
    dossier.fee_status = status
    dossier.save()
    _record(
        dossier,
        action=action,
        from_status=dossier.status,
        actor=actor,
        at=moment,
        data={"amount": dossier.fee_amount, **data},
    )
    _emit(dossier, kind=action, day=_local_day(moment), measures=measures, actor=actor)
    return dossier


@transaction.atomic
def dossier_fee_pay(
    *, actor: Any, dossier_id: int, receipt_number: str, at: dt.datetime | None = None
) -> Dossier:
    """Record the fee as paid against a receipt (biên lai); money is integer đồng."""
    dossier, moment = _record_only(actor=actor, dossier_id=dossier_id, action=FEE_PAY, at=at)
    receipt = _required_text(receipt_number, _("Enter the receipt number."), limit=40)
    dossier.fee_receipt_number = receipt
    dossier.fee_paid_at = moment
    return _fee_settle(
        actor=actor,
        dossier=dossier,
        moment=moment,
        action=FEE_PAY,
        status=FeeStatus.PAID,
        data={"receipt_number": receipt},
        measures={"fees_paid": 1, "fee_amount_paid": dossier.fee_amount},
    )


@transaction.atomic
def dossier_fee_exempt(
    *, actor: Any, dossier_id: int, reason: str, at: dt.datetime | None = None
) -> Dossier:
    """Exempt a due fee (poor household, first card at 14, border commune…) with a reason."""
    dossier, moment = _record_only(actor=actor, dossier_id=dossier_id, action=FEE_EXEMPT, at=at)
    text = _required_text(reason, _("Give the reason for the exemption."), limit=255)
    dossier.fee_exemption_reason = text
    return _fee_settle(
        actor=actor,
        dossier=dossier,
        moment=moment,
        action=FEE_EXEMPT,
        status=FeeStatus.EXEMPT,
        data={"reason": text},
        measures=fee_exempt_measures(dossier.fee_amount),
    )


@transaction.atomic
def dossier_delivery_update(
    *,
    actor: Any,
    dossier_id: int,
    status: str,
    tracking_number: str = "",
    delivered_on: dt.date | None = None,
    at: dt.datetime | None = None,
) -> Dossier:
    """Follow a result posted to the citizen's home (public postal service)."""
    dossier, moment = _record_only(
        actor=actor, dossier_id=dossier_id, action=DELIVERY_UPDATE, at=at
    )
    if dossier.return_method != ReturnMethod.POST or dossier.status != lc.RETURNED:
        raise DossierError(_("Only a result already sent by post can have a delivery update."))
    if status not in DeliveryStatus.values or not status:
        raise DossierError(_("Unknown delivery status: %(status)s.") % {"status": status})
    if status == DeliveryStatus.DELIVERED:
        delivered_on = delivered_on or _local_day(moment)
        if delivered_on < _local_day(dossier.returned_at or moment):
            raise DossierError(_("The delivery date cannot be before the result was sent."))
    else:
        delivered_on = None
    dossier.delivery_status = status
    dossier.tracking_number = (tracking_number or "").strip()[:40] or dossier.tracking_number
    dossier.delivered_on = delivered_on
    dossier.save()
    _record(
        dossier,
        action=DELIVERY_UPDATE,
        from_status=dossier.status,
        actor=actor,
        at=moment,
        data={
            "delivery_status": status,
            "tracking_number": dossier.tracking_number,
            "delivered_on": _json_date(delivered_on),
        },
    )
    return dossier
