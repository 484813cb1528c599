"""Every write on dossiers: receipt, each lifecycle step, fees and delivery.

Each service is keyword-only and runs in one transaction that checks the actor's
capability (``lifecycle.ACTION_CAPABILITY``) and unit scope, checks the transition table,
changes the dossier, writes one ``DossierTransition`` (the processing control sheet,
Mẫu 05) and one audit row, and appends the events whose rollups the reports read
(contract in helper-tasks/contracts.md). Any refusal raises a ``DomainError`` before
anything is written, or rolls the whole transaction back, so nothing is half-applied.

Every action takes ``at`` (default: now) so that the demo can backfill a history; an
action may not be dated before the dossier's previous step.

Where a dossier lives (Decree 118/2025): a clerk may receive a dossier for any current
unit of their own province. ``Dossier.unit`` is then the competent unit, which scopes the
dossier and counts it in reports, and ``receiving_unit`` is the clerk's unit, which
numbers it (the code carries the receiving unit's identifier). Every later step needs the
competent unit in the actor's scope; the receiving clerk keeps read access through the
selectors (to reprint the receipt and answer the citizen) but does not act on it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.events import event_append
from cancuoc.core.scoping import scope_queryset, unit_in_scope
from cancuoc.core.workdays import VN_TZ, due_date
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.codes import desk_settings, dossier_code_next
from cancuoc.dossiers.models import (
    Channel,
    DeliveryStatus,
    DeskSettings,
    Dossier,
    DossierStatus,
    DossierTransition,
    FeeStatus,
    Procedure,
    ProcedureVersion,
    ReturnMethod,
)
from cancuoc.dossiers.selectors import procedure_version_in_force
from cancuoc.units.models import Level, Unit

__all__ = [
    "DossierError",
    "DuplicateSubmission",
    "IllegalAction",
    "dossier_act",
    "dossier_apologise",
    "dossier_appraise",
    "dossier_approve",
    "dossier_delivery_update",
    "dossier_fee_exempt",
    "dossier_fee_pay",
    "dossier_on_the_spot",
    "dossier_receive",
    "dossier_refuse",
    "dossier_reject_at_intake",
    "dossier_result_ready",
    "dossier_return",
    "dossier_route",
    "dossier_sign",
    "dossier_supplement_receive",
    "dossier_supplement_request",
    "dossier_transfer",
    "dossier_withdraw",
]

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
    event_append(
        kind=f"dossier.{kind}",
        unit=unit if unit is not None else dossier.unit,
        day=day,
        subject=_subject(dossier),
        measures=measures,
        obj=dossier,
        actor=actor,
        payload={"code": dossier.code, **(payload or {})},
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


# --- Receipt --------------------------------------------------------------------------


@dataclass
class _Intake:
    """The validated input of a receipt, shared by receive, reject and on-the-spot."""

    procedure: Procedure
    version: ProcedureVersion
    unit: Unit  # competent
    receiving_unit: Unit
    at: dt.datetime
    day: dt.date
    receiving_desk: DeskSettings
    fields: dict[str, Any] = field(default_factory=dict)


_ID_NUMBER = re.compile(r"^(\d{9}|\d{12})$")


def _intake(
    *,
    actor: Any,
    action: str,
    procedure_code: str,
    applicant_name: str,
    applicant_id_number: str,
    applicant_phone: str,
    applicant_address: str,
    channel: str,
    citizen_id: int | None,
    competent_unit_id: int | None,
    return_method: str,
    delivery_address: str,
    at: dt.datetime | None,
) -> _Intake:
    _require_capability(actor, lc.ACTION_CAPABILITY[action], action)
    receiving_unit = getattr(actor, "unit", None)
    if receiving_unit is None:
        raise PermissionDenied(_("Your account belongs to no unit."))
    moment = _moment(at)
    day = _local_day(moment)

    procedure = Procedure.objects.filter(
        code=(procedure_code or "").strip(), is_active=True
    ).first()
    if procedure is None:
        raise DossierError(_("Unknown procedure: %(code)s.") % {"code": procedure_code})
    unit = _competent_unit(actor, receiving_unit, competent_unit_id)
    receiving_desk = desk_settings(receiving_unit)
    area = receiving_desk.area if unit == receiving_unit else desk_settings(unit).area
    version = procedure_version_in_force(procedure=procedure, on=day, area=area)
    if version is None:
        raise DossierError(
            _("Procedure %(code)s has no processing time in force on %(day)s.")
            % {"code": procedure.code, "day": day.strftime("%d/%m/%Y")}
        )

    fields = _applicant(
        actor=actor,
        citizen_id=citizen_id,
        applicant_name=applicant_name,
        applicant_id_number=applicant_id_number,
        applicant_phone=applicant_phone,
        applicant_address=applicant_address,
    )
    if channel not in Channel.values:
        raise DossierError(_("Unknown channel: %(channel)s.") % {"channel": channel})
    if return_method not in ReturnMethod.values:
        raise DossierError(_("Unknown return method: %(method)s.") % {"method": return_method})
    delivery_address = (delivery_address or "").strip()
    if return_method == ReturnMethod.POST:
        delivery_address = delivery_address or fields["applicant_address"]
        if not delivery_address:
            raise DossierError(_("Give the address the result should be posted to."))
    fields.update(
        channel=channel, return_method=return_method, delivery_address=delivery_address[:255]
    )
    return _Intake(procedure, version, unit, receiving_unit, moment, day, receiving_desk, fields)


def _competent_unit(actor: Any, receiving_unit: Unit, competent_unit_id: int | None) -> Unit:
    """The actor's own unit, or another current unit of the same province (Decree 118/2025)."""
    if competent_unit_id is None or competent_unit_id == receiving_unit.pk:
        return receiving_unit
    unit = Unit.objects.filter(pk=competent_unit_id).first()
    if unit is None or not _routable(actor, receiving_unit, unit):
        raise DossierError(
            _("A dossier can be received only for a current unit of your own province.")
        )
    return unit


def _routable(actor: Any, from_unit: Unit, to_unit: Unit) -> bool:
    if to_unit.valid_to is not None or to_unit.level < Level.PROVINCE:
        return False
    if unit_in_scope(actor, to_unit):
        return True
    return bool(from_unit.province_code) and to_unit.province_code == from_unit.province_code


def _applicant(
    *,
    actor: Any,
    citizen_id: int | None,
    applicant_name: str,
    applicant_id_number: str,
    applicant_phone: str,
    applicant_address: str,
) -> dict[str, Any]:
    citizen = None
    if citizen_id is not None:
        from cancuoc.registry.models import Citizen

        citizen = scope_queryset(Citizen.objects.all(), user=actor).filter(pk=citizen_id).first()
        if citizen is None:
            raise DossierError(_("The citizen was not found in your unit's registry."))
        # The registry fills what the clerk left empty: "the citizen fills in no form".
        applicant_name = applicant_name or citizen.full_name
        applicant_id_number = applicant_id_number or citizen.id_number
        applicant_phone = applicant_phone or citizen.phone
        applicant_address = applicant_address or citizen.permanent_address
    name = " ".join((applicant_name or "").split())
    if not name:
        raise DossierError(_("Enter the applicant's name."))
    id_number = (applicant_id_number or "").strip()
    if id_number and not _ID_NUMBER.match(id_number):
        raise DossierError(_("The ID number must have 12 digits (or 9 for an old ID card)."))
    phone = re.sub(r"[\s.\-]", "", applicant_phone or "")
    if phone and not re.fullmatch(r"\+?\d{8,15}", phone):
        raise DossierError(_("The phone number is not valid."))
    return {
        "citizen": citizen,
        "applicant_name": name[:200],
        "applicant_id_number": id_number,
        "applicant_phone": phone,
        "applicant_address": (applicant_address or "").strip()[:255],
    }


def _submission_key(key: str | None) -> str | None:
    key = (key or "").strip() or None
    if key is not None:
        existing = Dossier.objects.filter(submission_key=key).values_list("code", flat=True).first()
        if existing is not None:
            raise DuplicateSubmission(
                _("This form was already submitted: dossier %(code)s.") % {"code": existing}
            )
    return key


def _create(
    intake: _Intake,
    *,
    actor: Any,
    status: str,
    due: dt.date,
    fee_amount: int,
    fee_status: str,
    fee_exemption_reason: str,
    note: str,
    submission_key: str | None,
) -> Dossier:
    dossier = Dossier(
        code=dossier_code_next(
            unit=intake.receiving_unit, day=intake.day, settings=intake.receiving_desk
        ),
        province_code=intake.unit.province_code,
        unit=intake.unit,
        unit_path=intake.unit.path,
        receiving_unit=intake.receiving_unit,
        procedure=intake.procedure,
        procedure_version=intake.version,
        status=status,
        received_at=intake.at,
        received_by=actor,
        due_date=due,
        fee_amount=fee_amount,
        fee_status=fee_status,
        fee_exemption_reason=fee_exemption_reason[:255],
        note=note,
        submission_key=submission_key,
        **intake.fields,
    )
    try:
        with transaction.atomic():
            dossier.save(force_insert=True)
    except IntegrityError as exc:
        # Two submissions of one form raced past the check above; the loser lands here.
        if submission_key and Dossier.objects.filter(submission_key=submission_key).exists():
            raise DuplicateSubmission() from exc
        raise
    return dossier


def _fee(version: ProcedureVersion, exemption_reason: str) -> tuple[int, str, str]:
    reason = (exemption_reason or "").strip()
    if version.fee == 0:
        return 0, FeeStatus.NONE, ""
    if reason:
        return version.fee, FeeStatus.EXEMPT, reason
    return version.fee, FeeStatus.DUE, ""


def _receive(
    *,
    actor: Any,
    action: str,
    procedure_code: str,
    applicant_name: str,
    applicant_id_number: str = "",
    applicant_phone: str = "",
    applicant_address: str = "",
    channel: str = Channel.COUNTER,
    citizen_id: int | None = None,
    competent_unit_id: int | None = None,
    return_method: str = ReturnMethod.COUNTER,
    delivery_address: str = "",
    fee_exemption_reason: str = "",
    note: str = "",
    submission_key: str | None = None,
    at: dt.datetime | None = None,
) -> Dossier:
    intake = _intake(
        actor=actor,
        action=action,
        procedure_code=procedure_code,
        applicant_name=applicant_name,
        applicant_id_number=applicant_id_number,
        applicant_phone=applicant_phone,
        applicant_address=applicant_address,
        channel=channel,
        citizen_id=citizen_id,
        competent_unit_id=competent_unit_id,
        return_method=return_method,
        delivery_address=delivery_address,
        at=at,
    )
    key = _submission_key(submission_key)
    if action == lc.ON_THE_SPOT:
        if not intake.procedure.on_the_spot:
            raise DossierError(
                _("Procedure %(code)s cannot be resolved on the spot.")
                % {"code": intake.procedure.code}
            )
        if intake.unit != intake.receiving_unit:
            raise DossierError(_("A dossier resolved on the spot stays with your own unit."))
    due = due_date(intake.at, intake.version.processing_days, calendar=work_calendar())
    amount, fee_status, reason = _fee(intake.version, fee_exemption_reason)
    dossier = _create(
        intake,
        actor=actor,
        status=lc.next_status(lc.NEW, lc.RECEIVE),
        due=due,
        fee_amount=amount,
        fee_status=fee_status,
        fee_exemption_reason=reason,
        note=(note or "").strip(),
        submission_key=key,
    )
    data: dict[str, Any] = {
        "due_date": due.isoformat(),
        "processing_days": intake.version.processing_days,
        "channel": dossier.channel,
    }
    if dossier.unit_id != dossier.receiving_unit_id:
        data["receiving_unit"] = intake.receiving_unit.code
        data["competent_unit"] = intake.unit.code
    if action == lc.ON_THE_SPOT:
        data["on_the_spot"] = True
    _record(
        dossier,
        action=lc.RECEIVE,
        from_status=lc.NEW,
        actor=actor,
        at=intake.at,
        note=dossier.note,
        data=data,
    )
    _emit(
        dossier,
        kind="receive",
        day=intake.day,
        measures={"received": 1, f"received_{dossier.channel}": 1},
        actor=actor,
    )
    if action != lc.ON_THE_SPOT:
        _emit(dossier, kind="due", day=due, measures={"due_open": 1}, actor=actor)
    return dossier


@transaction.atomic
def dossier_receive(
    *,
    actor: Any,
    procedure_code: str,
    applicant_name: str,
    applicant_id_number: str = "",
    applicant_phone: str = "",
    applicant_address: str = "",
    channel: str = Channel.COUNTER,
    citizen_id: int | None = None,
    competent_unit_id: int | None = None,
    return_method: str = ReturnMethod.COUNTER,
    delivery_address: str = "",
    fee_exemption_reason: str = "",
    note: str = "",
    submission_key: str | None = None,
    at: dt.datetime | None = None,
) -> Dossier:
    """Receive a complete dossier: a code, the due date and the fee; status ``received``.

    The due date is ``core.workdays.due_date`` with the processing time of the procedure
    version in force on the local receipt date, for the competent unit's area.
    """
    return _receive(
        actor=actor,
        action=lc.RECEIVE,
        procedure_code=procedure_code,
        applicant_name=applicant_name,
        applicant_id_number=applicant_id_number,
        applicant_phone=applicant_phone,
        applicant_address=applicant_address,
        channel=channel,
        citizen_id=citizen_id,
        competent_unit_id=competent_unit_id,
        return_method=return_method,
        delivery_address=delivery_address,
        fee_exemption_reason=fee_exemption_reason,
        note=note,
        submission_key=submission_key,
        at=at,
    )


@transaction.atomic
def dossier_reject_at_intake(
    *,
    actor: Any,
    procedure_code: str,
    applicant_name: str,
    reason: str,
    applicant_id_number: str = "",
    applicant_phone: str = "",
    applicant_address: str = "",
    channel: str = Channel.COUNTER,
    citizen_id: int | None = None,
    competent_unit_id: int | None = None,
    note: str = "",
    submission_key: str | None = None,
    at: dt.datetime | None = None,
) -> Dossier:
    """Refuse a dossier that is not eligible, in writing (Mẫu 03); it is never received.

    The refusal still gets a code (the letter cites it) but no deadline: its due date is
    the refusal day, and it counts only as ``rejected_intake``.
    """
    text = _required_text(reason, _("Give the reason for refusing the dossier."))
    intake = _intake(
        actor=actor,
        action=lc.REJECT_INTAKE,
        procedure_code=procedure_code,
        applicant_name=applicant_name,
        applicant_id_number=applicant_id_number,
        applicant_phone=applicant_phone,
        applicant_address=applicant_address,
        channel=channel,
        citizen_id=citizen_id,
        competent_unit_id=competent_unit_id,
        return_method=ReturnMethod.COUNTER,
        delivery_address="",
        at=at,
    )
    key = _submission_key(submission_key)
    dossier = _create(
        intake,
        actor=actor,
        status=lc.next_status(lc.NEW, lc.REJECT_INTAKE),
        due=intake.day,
        fee_amount=0,
        fee_status=FeeStatus.NONE,
        fee_exemption_reason="",
        note=(note or "").strip(),
        submission_key=key,
    )
    _record(
        dossier,
        action=lc.REJECT_INTAKE,
        from_status=lc.NEW,
        actor=actor,
        at=intake.at,
        note=text,
        data={"reason": text},
    )
    _emit(
        dossier, kind="reject_intake", day=intake.day, measures={"rejected_intake": 1}, actor=actor
    )
    return dossier


@transaction.atomic
def dossier_on_the_spot(
    *,
    actor: Any,
    procedure_code: str,
    applicant_name: str,
    applicant_id_number: str = "",
    applicant_phone: str = "",
    applicant_address: str = "",
    channel: str = Channel.COUNTER,
    citizen_id: int | None = None,
    competent_unit_id: int | None = None,
    return_method: str = ReturnMethod.COUNTER,
    delivery_address: str = "",
    fee_exemption_reason: str = "",
    note: str = "",
    submission_key: str | None = None,
    at: dt.datetime | None = None,
) -> Dossier:
    """ "5 tại chỗ": receive, appraise, approve, sign and return in one sitting.

    Only for procedures the catalogue marks ``on_the_spot``, and only by the desk of the
    competent unit. The clerk's RECEIVE_DOSSIER capability authorises every stage here
    (that is the point of the on-the-spot model: the desk officer is delegated to
    resolve); each stage is still written to the control sheet with ``on_the_spot``.
    """
    dossier = _receive(
        actor=actor,
        action=lc.ON_THE_SPOT,
        procedure_code=procedure_code,
        applicant_name=applicant_name,
        applicant_id_number=applicant_id_number,
        applicant_phone=applicant_phone,
        applicant_address=applicant_address,
        channel=channel,
        citizen_id=citizen_id,
        competent_unit_id=competent_unit_id,
        return_method=return_method,
        delivery_address=delivery_address,
        fee_exemption_reason=fee_exemption_reason,
        note=note,
        submission_key=submission_key,
        at=at,
    )
    return _on_the_spot_finish(dossier, actor=actor)


def _on_the_spot_finish(dossier: Dossier, *, actor: Any) -> Dossier:
    """Run the remaining stages in memory, then write them in a few statements.

    One sitting is one decision of one officer, so it gets one audit row (besides the
    receipt's) and its stages are inserted together; the due-date events are left out
    because they would cancel out (``due_open`` +1 and -1 on the same day and unit).
    """
    at = dossier.received_at
    steps: list[DossierTransition] = []
    events: list[dict[str, Any]] = []
    for action in lc.ON_THE_SPOT_PATH[1:]:
        from_status = dossier.status
        step = _HANDLERS[action](dossier, actor, at, {})
        dossier.status = lc.next_status(from_status, action)
        step.data["on_the_spot"] = True
        steps.append(
            DossierTransition(
                dossier=dossier,
                action=action,
                from_status=from_status,
                to_status=dossier.status,
                actor=actor,
                actor_label=_actor_label(actor),
                actor_unit=getattr(actor, "unit", None),
                at=at,
                data=step.data,
            )
        )
        events += [event for event in step.events if event["kind"] != "due"]
    dossier.save()
    DossierTransition.objects.bulk_create(steps)
    audit_record(
        actor=actor,
        action=f"dossier.{lc.ON_THE_SPOT}",
        obj=dossier,
        detail={
            "stages": [step.action for step in steps],
            "at": at.isoformat(),
            "timeliness": dossier.timeliness,
        },
    )
    for event in events:
        _emit(
            dossier, kind=event["kind"], day=event["day"], measures=event["measures"], actor=actor
        )
    return dossier


# --- Lifecycle steps ------------------------------------------------------------------


@dataclass
class _Step:
    """What a handler decided: extra control-sheet data, the events and a note."""

    data: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[Dossier, Any, dt.datetime, dict[str, Any]], _Step]


def _no_data(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    return _Step()


def _on_transfer(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    if data.get("assignee_id") in (None, ""):
        return _Step()
    try:
        assignee_id = int(data["assignee_id"])
    except (TypeError, ValueError):
        assignee_id = 0
    from cancuoc.accounts.models import User

    assignee = User.objects.filter(pk=assignee_id, is_active=True).select_related("unit").first()
    if (
        assignee is None
        or not unit_in_scope(assignee, dossier.unit)
        or not user_can(assignee, Capability.APPRAISE_DOSSIER)
    ):
        raise DossierError(_("The assignee must be an appraiser who can see this dossier."))
    dossier.assigned_to = assignee
    return _Step(data={"assignee": assignee.get_username()})


def _on_appraise(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    if dossier.assigned_to_id is None:
        dossier.assigned_to = actor
    return _Step()


def _on_supplement_request(
    dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]
) -> _Step:
    missing = data.get("missing")
    items = [missing] if isinstance(missing, str) else list(missing or [])
    items = [str(item).strip() for item in items if str(item).strip()]
    if not items:
        raise DossierError(_("List the documents the citizen must supply."))
    dossier.paused_since = _local_day(at)
    return _Step(data={"missing": items, "paused_since": dossier.paused_since.isoformat()})


def _on_supplement_receive(
    dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]
) -> _Step:
    calendar = work_calendar()
    asked = dossier.paused_since or _local_day(at)
    paused = max(0, calendar.working_days_between(asked, _local_day(at)))
    old_due = dossier.due_date
    dossier.paused_days += paused
    dossier.paused_since = None
    dossier.due_date = due_date(
        dossier.received_at,
        dossier.procedure_version.processing_days,
        paused_working_days=dossier.paused_days,
        calendar=calendar,
    )
    step = _Step(
        data={
            "paused_working_days": paused,
            "old_due_date": old_due.isoformat(),
            "due_date": dossier.due_date.isoformat(),
        }
    )
    if dossier.due_date != old_due:
        step.events = [
            {"kind": "supplement_receive", "day": old_due, "measures": {"due_open": -1}},
            {"kind": "due", "day": dossier.due_date, "measures": {"due_open": 1}},
        ]
    return step


def _on_refuse(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    reason = _required_text(data.get("reason"), _("Give the reason for the refusal."))
    return _Step(data={"reason": reason})


def _on_return(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    method = data.get("method") or dossier.return_method
    if method not in ReturnMethod.values:
        raise DossierError(_("Unknown return method: %(method)s.") % {"method": method})
    tracking = str(data.get("tracking_number") or "").strip()[:40]
    if method == ReturnMethod.POST and not (dossier.delivery_address or dossier.applicant_address):
        raise DossierError(_("Give the address the result should be posted to."))
    dossier.return_method = method
    if method == ReturnMethod.POST:
        dossier.delivery_address = dossier.delivery_address or dossier.applicant_address
        dossier.delivery_status = DeliveryStatus.IN_TRANSIT if tracking else DeliveryStatus.WAITING
        dossier.tracking_number = tracking or dossier.tracking_number
    day = _local_day(at)
    dossier.returned_at = at
    dossier.timeliness = lc.classify_return(day, dossier.due_date)
    return _Step(
        data={"method": method, "timeliness": dossier.timeliness, "tracking_number": tracking},
        events=[
            {
                "kind": "return",
                "day": day,
                "measures": {"resolved": 1, f"resolved_{dossier.timeliness}": 1},
            },
            {"kind": "due", "day": dossier.due_date, "measures": {"due_open": -1}},
        ],
    )


def _on_withdraw(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    reason = _required_text(data.get("reason"), _("Give the reason the citizen withdrew."))
    return _Step(
        data={"reason": reason},
        events=[
            {"kind": "withdraw", "day": _local_day(at), "measures": {"withdrawn": 1}},
            {"kind": "due", "day": dossier.due_date, "measures": {"due_open": -1}},
        ],
    )


def _on_apologise(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    new_date = data.get("new_date")
    if isinstance(new_date, str):
        try:
            new_date = dt.date.fromisoformat(new_date)
        except ValueError:
            new_date = None
    if not isinstance(new_date, dt.date) or isinstance(new_date, dt.datetime):
        raise DossierError(_("Give the new date promised to the citizen."))
    reason = _required_text(data.get("reason"), _("Give the reason for the delay."))
    floor = max(dossier.apology_due_date or dossier.due_date, dossier.due_date)
    if new_date <= floor:
        raise DossierError(
            _("The new date must be after %(day)s.") % {"day": floor.strftime("%d/%m/%Y")}
        )
    dossier.apology_due_date = new_date
    # The legal due date does not move: the dossier will still count as late.
    return _Step(
        data={
            "new_date": new_date.isoformat(),
            "reason": reason,
            "due_date": dossier.due_date.isoformat(),
        },
        events=[{"kind": "apologise", "day": _local_day(at), "measures": {"apologised": 1}}],
    )


def _on_route(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    try:
        unit_id = int(data.get("unit_id") or 0)
    except (TypeError, ValueError):
        unit_id = 0
    target = Unit.objects.filter(pk=unit_id).first() if unit_id else None
    if target is None or target == dossier.unit or not _routable(actor, dossier.unit, target):
        raise DossierError(_("Choose another current unit of the same province."))
    old = dossier.unit
    received_day = _local_day(dossier.received_at)
    counted = {"received": 1, f"received_{dossier.channel}": 1}
    events: list[dict[str, Any]] = []
    for unit, sign in ((old, -1), (target, 1)):
        events.append(
            {
                "kind": "route",
                "day": received_day,
                "unit": unit,
                "measures": {name: sign * value for name, value in counted.items()},
            }
        )
        events.append(
            {"kind": "route", "day": dossier.due_date, "unit": unit, "measures": {"due_open": sign}}
        )
    dossier.unit = target
    dossier.unit_path = target.path
    dossier.province_code = target.province_code
    return _Step(data={"from_unit": old.code, "to_unit": target.code}, events=events)


_HANDLERS: dict[str, Handler] = {
    lc.TRANSFER: _on_transfer,
    lc.APPRAISE: _on_appraise,
    lc.SUPPLEMENT_REQUEST: _on_supplement_request,
    lc.SUPPLEMENT_RECEIVE: _on_supplement_receive,
    lc.APPROVE: _no_data,
    lc.REFUSE: _on_refuse,
    lc.SIGN: _no_data,
    lc.RESULT_READY_ACTION: _no_data,
    lc.RETURN: _on_return,
    lc.WITHDRAW: _on_withdraw,
    lc.APOLOGISE: _on_apologise,
    lc.ROUTE: _on_route,
}


def _not_before_last_step(dossier: Dossier, at: dt.datetime) -> None:
    last = (
        DossierTransition.objects.filter(dossier=dossier)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    if last is not None and at < last:
        raise DossierError(_("This step cannot be dated before the dossier's previous step."))


def _apply(
    dossier: Dossier,
    *,
    actor: Any,
    action: str,
    at: dt.datetime,
    note: str,
    data: dict[str, Any],
) -> Dossier:
    handler = _HANDLERS.get(action)
    if handler is None:
        raise IllegalAction(_("Unknown action: %(action)s.") % {"action": action})
    _require_capability(actor, lc.ACTION_CAPABILITY[action], action)
    from_status = dossier.status
    try:
        to_status = lc.next_status(from_status, action)
    except lc.IllegalTransition:
        raise IllegalAction(
            _("“%(action)s” is not allowed while the dossier is “%(status)s”.")
            % {"action": _action_label(action), "status": _status_label(from_status)}
        ) from None
    _not_before_last_step(dossier, at)
    step = handler(dossier, actor, at, data)
    dossier.status = to_status
    dossier.save()
    _record(
        dossier,
        action=action,
        from_status=from_status,
        actor=actor,
        at=at,
        note=(note or "").strip(),
        data=step.data,
    )
    for event in step.events:
        _emit(
            dossier,
            kind=event["kind"],
            day=event["day"],
            measures=event["measures"],
            actor=actor,
            unit=event.get("unit"),
        )
    return dossier


@transaction.atomic
def dossier_act(
    *,
    actor: Any,
    dossier_id: int,
    action: str,
    note: str = "",
    at: dt.datetime | None = None,
    **data: Any,
) -> Dossier:
    """Apply one lifecycle ``action`` (see ``lifecycle.ACTIONS``) to a dossier.

    ``data`` carries the action's own input: ``missing`` (supplement_request),
    ``reason`` (refuse, withdraw, apologise), ``new_date`` (apologise), ``unit_id``
    (route), ``method`` and ``tracking_number`` (return), ``assignee_id`` (transfer).
    Creating actions (receive, reject_intake, on_the_spot) have their own services.
    """
    if action in lc.CREATING_ACTIONS:
        raise IllegalAction(
            _("“%(action)s” creates a new dossier; it cannot be applied to one.")
            % {"action": _action_label(action)}
        )
    moment = _moment(at)
    dossier = _locked(actor, dossier_id)
    return _apply(dossier, actor=actor, action=action, at=moment, note=note, data=data)


def dossier_transfer(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None, **data: Any
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.TRANSFER, note=note, at=at, **data
    )


def dossier_appraise(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(actor=actor, dossier_id=dossier_id, action=lc.APPRAISE, note=note, at=at)


def dossier_supplement_request(
    *,
    actor: Any,
    dossier_id: int,
    missing: Iterable[str] | str,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    return dossier_act(
        actor=actor,
        dossier_id=dossier_id,
        action=lc.SUPPLEMENT_REQUEST,
        note=note,
        at=at,
        missing=missing,
    )


def dossier_supplement_receive(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.SUPPLEMENT_RECEIVE, note=note, at=at
    )


def dossier_approve(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(actor=actor, dossier_id=dossier_id, action=lc.APPROVE, note=note, at=at)


def dossier_refuse(
    *, actor: Any, dossier_id: int, reason: str, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.REFUSE, note=note, at=at, reason=reason
    )


def dossier_sign(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(actor=actor, dossier_id=dossier_id, action=lc.SIGN, note=note, at=at)


def dossier_result_ready(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.RESULT_READY_ACTION, note=note, at=at
    )


def dossier_return(
    *,
    actor: Any,
    dossier_id: int,
    method: str | None = None,
    tracking_number: str = "",
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    return dossier_act(
        actor=actor,
        dossier_id=dossier_id,
        action=lc.RETURN,
        note=note,
        at=at,
        method=method,
        tracking_number=tracking_number,
    )


def dossier_withdraw(
    *, actor: Any, dossier_id: int, reason: str, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.WITHDRAW, note=note, at=at, reason=reason
    )


def dossier_apologise(
    *,
    actor: Any,
    dossier_id: int,
    new_date: dt.date,
    reason: str,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    return dossier_act(
        actor=actor,
        dossier_id=dossier_id,
        action=lc.APOLOGISE,
        note=note,
        at=at,
        new_date=new_date,
        reason=reason,
    )


def dossier_route(
    *, actor: Any, dossier_id: int, unit_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.ROUTE, note=note, at=at, unit_id=unit_id
    )


# --- Fees and delivery (recorded on the control sheet; the status does not change) ----


def _record_only(
    *, actor: Any, dossier_id: int, action: str, at: dt.datetime | None
) -> tuple[Dossier, dt.datetime]:
    _require_capability(actor, Capability.RECEIVE_DOSSIER, action)
    dossier = _locked(actor, dossier_id)
    return dossier, _moment(at)


@transaction.atomic
def dossier_fee_pay(
    *, actor: Any, dossier_id: int, receipt_number: str, at: dt.datetime | None = None
) -> Dossier:
    """Record the fee as paid against a receipt (biên lai); money is integer đồng."""
    dossier, moment = _record_only(actor=actor, dossier_id=dossier_id, action=FEE_PAY, at=at)
    receipt = _required_text(receipt_number, _("Enter the receipt number."), limit=40)
    if dossier.fee_status != FeeStatus.DUE:
        raise DossierError(
            _("No fee is due on this dossier (fee status: %(status)s).")
            % {"status": FeeStatus(dossier.fee_status).label}
        )
    dossier.fee_status = FeeStatus.PAID
    dossier.fee_receipt_number = receipt
    dossier.fee_paid_at = moment
    dossier.save()
    _record(
        dossier,
        action=FEE_PAY,
        from_status=dossier.status,
        actor=actor,
        at=moment,
        data={"amount": dossier.fee_amount, "receipt_number": receipt},
    )
    _emit(
        dossier,
        kind=FEE_PAY,
        day=_local_day(moment),
        measures={"fees_paid": 1, "fee_amount_paid": dossier.fee_amount},
        actor=actor,
    )
    return dossier


@transaction.atomic
def dossier_fee_exempt(
    *, actor: Any, dossier_id: int, reason: str, at: dt.datetime | None = None
) -> Dossier:
    """Exempt a due fee (poor household, first card at 14, border commune…) with a reason."""
    dossier, moment = _record_only(actor=actor, dossier_id=dossier_id, action=FEE_EXEMPT, at=at)
    text = _required_text(reason, _("Give the reason for the exemption."), limit=255)
    if dossier.fee_status != FeeStatus.DUE:
        raise DossierError(
            _("No fee is due on this dossier (fee status: %(status)s).")
            % {"status": FeeStatus(dossier.fee_status).label}
        )
    dossier.fee_status = FeeStatus.EXEMPT
    dossier.fee_exemption_reason = text
    dossier.save()
    _record(
        dossier,
        action=FEE_EXEMPT,
        from_status=dossier.status,
        actor=actor,
        at=moment,
        data={"amount": dossier.fee_amount, "reason": text},
    )
    _emit(
        dossier,
        kind=FEE_EXEMPT,
        day=_local_day(moment),
        measures={"fees_exempted": 1, "fee_amount_exempted": dossier.fee_amount},
        actor=actor,
    )
    return dossier


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
