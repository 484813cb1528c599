"""What every dossier service shares: errors, labels, checks, the control sheet, events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.events import EventSpec, events_append_many
from cancuoc.core.scoping import unit_in_scope
from cancuoc.core.workdays import VN_TZ
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers.models import (
    CompetentLevel,
    Dossier,
    DossierStatus,
    DossierTransition,
    Procedure,
)
from cancuoc.units.models import Level, Unit

FEE_PAY = lc.FEE_PAY
FEE_EXEMPT = lc.FEE_EXEMPT
DELIVERY_UPDATE = lc.DELIVERY_UPDATE


# --- Errors -------------------------------------------------------------------------


class DossierError(DomainError):
    default_message = gettext_lazy("The dossier was not changed.")


class IllegalAction(DossierError):
    """The transition table does not allow the action in the dossier's status."""


class DuplicateSubmission(DossierError):
    default_message = gettext_lazy("This form was already submitted; nothing was added.")


# --- Small helpers --------------------------------------------------------------------


def _moment(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise DossierError(_("The time of the action must include its time zone."))
    return at


def _local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(VN_TZ).date()


def _status_label(status: str) -> str:
    if not status:
        return _("new")
    try:
        return str(DossierStatus(status).label)
    except ValueError:
        return status


def _action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


ACTION_LABELS: dict[str, Any] = {
    lc.RECEIVE: gettext_lazy("Receive"),
    lc.REJECT_INTAKE: gettext_lazy("Refuse at intake"),
    lc.TRANSFER: gettext_lazy("Transfer for processing"),
    lc.APPRAISE: gettext_lazy("Start appraisal"),
    lc.SUPPLEMENT_REQUEST: gettext_lazy("Request more documents"),
    lc.SUPPLEMENT_RECEIVE: gettext_lazy("Documents supplied"),
    lc.APPROVE: gettext_lazy("Approve"),
    lc.REFUSE: gettext_lazy("Refuse"),
    lc.SIGN: gettext_lazy("Sign and stamp"),
    lc.RESULT_READY_ACTION: gettext_lazy("Result ready"),
    lc.RETURN: gettext_lazy("Return the result"),
    lc.WITHDRAW: gettext_lazy("Withdraw"),
    lc.APOLOGISE: gettext_lazy("Apologise with a new date"),
    lc.ROUTE: gettext_lazy("Route to the competent unit"),
    lc.ON_THE_SPOT: gettext_lazy("Resolve on the spot"),
    FEE_PAY: gettext_lazy("Fee paid"),
    FEE_EXEMPT: gettext_lazy("Fee exempted"),
    DELIVERY_UPDATE: gettext_lazy("Delivery update"),
}


def _require_capability(actor: Any, capability: Capability, action: str) -> None:
    if not user_can(actor, capability):
        raise PermissionDenied(
            _("Your role may not do this: %(action)s.") % {"action": _action_label(action)}
        )


def _require_scope(actor: Any, unit: Unit) -> None:
    if not unit_in_scope(actor, unit):
        raise OutOfScope(_("Dossier not found."))


def _locked(actor: Any, dossier_id: int) -> Dossier:
    """The dossier, row-locked for the rest of the transaction, if the actor may act on it."""
    dossier = (
        Dossier.objects.select_for_update(of=("self",))
        .select_related("procedure", "procedure_version", "unit")
        .filter(pk=dossier_id)
        .first()
    )
    if dossier is None:
        raise OutOfScope(_("Dossier not found."))
    _require_scope(actor, dossier.unit)
    return dossier


def _required_text(value: Any, message: str, *, limit: int = 2000) -> str:
    text = str(value or "").strip()
    if not text:
        raise DossierError(message)
    return text[:limit]


def _actor_label(actor: Any) -> str:
    full = getattr(actor, "full_name", "") or ""
    return (full or actor.get_username())[:200]


def _subject(dossier: Dossier) -> str:
    return f"proc:{dossier.procedure.code}"


def _event(
    dossier: Dossier,
    *,
    kind: str,
    day: dt.date,
    measures: dict[str, int],
    actor: Any,
    unit: Unit | None = None,
    payload: dict[str, Any] | None = None,
) -> EventSpec:
    """The event ``_emit`` appends, for ``events_append_many`` with the step's others."""
    return EventSpec(
        kind=f"dossier.{kind}",
        unit=unit if unit is not None else dossier.unit,
        day=day,
        subject=_subject(dossier),
        measures=measures,
        obj=dossier,
        actor=actor,
        payload={"code": dossier.code, **(payload or {})},
    )


def _emit(
    dossier: Dossier,
    *,
    kind: str,
    day: dt.date,
    measures: dict[str, int],
    actor: Any,
    unit: Unit | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    events_append_many(
        [
            _event(
                dossier,
                kind=kind,
                day=day,
                measures=measures,
                actor=actor,
                unit=unit,
                payload=payload,
            )
        ]
    )


def _record(
    dossier: Dossier,
    *,
    action: str,
    from_status: str,
    actor: Any,
    at: dt.datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> DossierTransition:
    detail = data or {}
    step = DossierTransition.objects.create(
        dossier=dossier,
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        actor=actor,
        actor_label=_actor_label(actor),
        actor_unit=getattr(actor, "unit", None),
        at=at,
        note=note,
        data=detail,
    )
    audit_record(
        actor=actor,
        action=f"dossier.{action}",
        obj=dossier,
        detail={"from": from_status, "to": dossier.status, "at": at.isoformat(), **detail},
    )
    return step


def _json_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


#: The unit level that resolves each catalogue competent level (units.models.Level).
COMPETENT_LEVELS: dict[str, int] = {
    CompetentLevel.PROVINCE: Level.PROVINCE,
    CompetentLevel.COMMUNE: Level.COMMUNE,
}


def _require_competent_level(procedure: Procedure, unit: Unit) -> None:
    """The catalogue says which level resolves a procedure; no other level may take it."""
    wanted = COMPETENT_LEVELS.get(procedure.competent_level)
    if wanted is not None and unit.level != wanted:
        raise DossierError(
            _(
                "Procedure %(code)s is resolved by a %(level)s-level unit; "
                "%(unit)s is not one. Choose a competent unit of that level."
            )
            % {
                "code": procedure.code,
                "level": CompetentLevel(procedure.competent_level).label.lower(),
                "unit": unit.name,
            }
        )


def _routable(actor: Any, from_unit: Unit, to_unit: Unit) -> bool:
    if to_unit.valid_to is not None or to_unit.level < Level.PROVINCE:
        return False
    if unit_in_scope(actor, to_unit):
        return True
    return bool(from_unit.province_code) and to_unit.province_code == from_unit.province_code
