"""Receipt: receive, refuse at intake, resolve on the spot (every dossier starts here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cancuoc.core.errors import PermissionDenied
from cancuoc.core.events import events_append_many
from cancuoc.core.scoping import path_in_scope, scope_queryset
from cancuoc.core.workdays import due_date
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers.applicant import id_number_valid, phone_normalise, phone_valid
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.codes import desk_area, desk_settings_and_area, dossier_code_next
from cancuoc.dossiers.models import (
    Channel,
    DeskSettings,
    Dossier,
    FeeStatus,
    Procedure,
    ProcedureVersion,
    ReturnMethod,
)
from cancuoc.dossiers.selectors import (
    dossiers_visible,
    procedure_version_in_force,
    submission_key_scoped,
)
from cancuoc.dossiers.services._common import (
    FEE_EXEMPT,
    DossierError,
    DuplicateSubmission,
    _emit,
    _event,
    _local_day,
    _moment,
    _record,
    _require_capability,
    _require_competent_level,
    _required_text,
    _routable,
)
from cancuoc.dossiers.services.fees import fee_exempt_measures
from cancuoc.dossiers.services.steps import _apply
from cancuoc.units.models import Unit

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
    citizen: Any = None,
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
    _require_competent_level(procedure, unit)
    # The receiving desk's settings and the competent unit's area: one read when the
    # desk receives for its own unit (the usual case), two otherwise.
    receiving_desk, area = desk_settings_and_area(receiving_unit)
    if unit.pk != receiving_unit.pk:
        area = desk_area(unit)
    version = _version_for(procedure, unit, day, area=area)

    fields = _applicant(
        actor=actor,
        citizen_id=citizen_id,
        applicant_name=applicant_name,
        applicant_id_number=applicant_id_number,
        applicant_phone=applicant_phone,
        applicant_address=applicant_address,
        loaded=citizen,
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


def _version_for(procedure: Procedure, unit: Unit, day: dt.date, *, area: str) -> ProcedureVersion:
    """The version in force for the competent unit's ``area`` (``desk_area``: its own,
    else its province's).

    A procedure that exists only per area (2014 ID law) is refused while the area is
    unknown, rather than given the longest time of all areas.
    """
    version = procedure_version_in_force(procedure=procedure, on=day, area=area)
    if version is None:
        raise DossierError(
            _("Procedure %(code)s has no processing time in force on %(day)s.")
            % {"code": procedure.code, "day": day.strftime("%d/%m/%Y")}
        )
    if version.area and not area:
        raise DossierError(
            _(
                "Set this unit's area first: procedure %(code)s has a different processing "
                "time for each area (%(unit)s has none set)."
            )
            % {"code": procedure.code, "unit": unit.name}
        )
    return version


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


def _applicant(
    *,
    actor: Any,
    citizen_id: int | None,
    applicant_name: str,
    applicant_id_number: str,
    applicant_phone: str,
    applicant_address: str,
    loaded: Any = None,
) -> dict[str, Any]:
    citizen = None
    if citizen_id is not None:
        from cancuoc.registry.models import Citizen

        if loaded is not None and loaded.pk == citizen_id:
            # The caller's row, read in this transaction: the same scope check, in memory.
            citizen = loaded if path_in_scope(actor, loaded.unit_path) else None
        else:
            citizen = (
                scope_queryset(Citizen.objects.all(), user=actor).filter(pk=citizen_id).first()
            )
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
    if id_number and not id_number_valid(id_number):
        raise DossierError(_("The ID number must have 12 digits (or 9 for an old ID card)."))
    phone = phone_normalise(applicant_phone)
    if phone and not phone_valid(phone):
        raise DossierError(_("The phone number is not valid."))
    return {
        "citizen": citizen,
        "applicant_name": name[:200],
        "applicant_id_number": id_number,
        "applicant_phone": phone,
        "applicant_address": (applicant_address or "").strip()[:255],
    }


def _submission_key(actor: Any, key: str | None) -> str | None:
    """The stored form of ``key``: scoped to the submitting user, so one user's key never
    collides with (or reveals) another's dossier.

    A key already used refuses the receipt, by the unique constraint when ``_create``
    inserts the dossier (``DuplicateSubmission``): no read beforehand, since a repeated
    form is rare and the receipt's transaction undoes the number it drew.
    """
    return submission_key_scoped(user=actor, key=key)


def _duplicate(actor: Any, scoped: str) -> DuplicateSubmission:
    # The code is named only when the user may still read the dossier.
    code = (
        dossiers_visible(user=actor)
        .filter(submission_key=scoped)
        .values_list("code", flat=True)
        .first()
    )
    if code is None:
        return DuplicateSubmission()
    return DuplicateSubmission(
        _("This form was already submitted: dossier %(code)s.") % {"code": code}
    )


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
        # The form was submitted before (or twice at once, and this one lost the race).
        if submission_key and Dossier.objects.filter(submission_key=submission_key).exists():
            raise _duplicate(actor, submission_key) from exc
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
    citizen: Any = None,
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
        citizen=citizen,
    )
    key = _submission_key(actor, submission_key)
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
    if fee_status == FeeStatus.EXEMPT:
        data["fee_exemption_reason"] = reason
        data["fee_amount_exempted"] = amount
    _record(
        dossier,
        action=lc.RECEIVE,
        from_status=lc.NEW,
        actor=actor,
        at=intake.at,
        note=dossier.note,
        data=data,
    )
    events = [
        _event(
            dossier,
            kind="receive",
            day=intake.day,
            measures={"received": 1, f"received_{dossier.channel}": 1},
            actor=actor,
        )
    ]
    if fee_status == FeeStatus.EXEMPT:
        # The same rollup as a later exemption (dossier_fee_exempt), on the receipt day.
        events.append(
            _event(
                dossier,
                kind=FEE_EXEMPT,
                day=intake.day,
                measures=fee_exempt_measures(amount),
                actor=actor,
            )
        )
    events.append(_event(dossier, kind="due", day=due, measures={"due_open": 1}, actor=actor))
    events_append_many(events)
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
    citizen: Any = None,
) -> Dossier:
    """Receive a complete dossier: a code, the due date and the fee; status ``received``.

    The due date is ``core.workdays.due_date`` with the processing time of the procedure
    version in force on the local receipt date, for the competent unit's area.
    ``citizen``: the row of ``citizen_id`` when the caller has read it already in this
    transaction (the enrolment's completion), so it is not read again.
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
        citizen=citizen,
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
    key = _submission_key(actor, submission_key)
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
    """Run the remaining stages through the normal per-stage recording (``steps._apply``).

    Every stage gets its control-sheet row, its audit row and its events exactly as when
    it is done separately (the receipt's ``due_open`` +1 is cancelled by the return's -1
    on the same day), marked ``on_the_spot``. The clerk's RECEIVE_DOSSIER capability
    authorises every stage here: the desk officer is delegated to resolve on the spot.
    """
    for action in lc.ON_THE_SPOT_PATH[1:]:
        dossier = _apply(
            dossier,
            actor=actor,
            action=action,
            at=dossier.received_at,
            note="",
            data={},
            delegated=True,
        )
    return dossier
