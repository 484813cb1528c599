"""Writes to the population registry: corrections of a citizen's record (maker-checker).

A correction is proposed by one officer and applied only when another officer, who
holds the approval capability, approves it. The values before the change are recorded
at proposal; at approval the record must still hold them, otherwise somebody changed it
in between and the proposal is refused as stale rather than silently overwriting.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import scope_queryset
from cancuoc.core.text import fold, nfc
from cancuoc.registry import idnumber
from cancuoc.registry.corrections import corrections_scoped
from cancuoc.registry.models import (
    BirthPrecision,
    Citizen,
    Correction,
    DocumentKind,
    DocumentStatus,
    FormerNumber,
    IdentityDocument,
    LifeStatus,
    Sex,
)
from cancuoc.units.models import Unit

__all__ = [
    "CORRECTABLE_FIELDS",
    "correction_approve",
    "correction_propose",
    "correction_reject",
    "correction_withdraw",
]

EARLIEST_BIRTH = dt.date(1900, 1, 1)
_PHONE = re.compile(r"^0[0-9]{9}$")
_TEXT_FIELDS = (
    "full_name",
    "ethnicity",
    "religion",
    "nationality",
    "birth_registration_place",
    "place_of_origin",
    "permanent_address",
    "current_address",
)
#: The fields a change, correction or supplement may touch. Residence units are not here:
#: moving a person is a residence registration, not a civil-status correction.
CORRECTABLE_FIELDS: tuple[str, ...] = (
    "id_number",
    "full_name",
    "birth_date",
    "birth_precision",
    "sex",
    "ethnicity",
    "religion",
    "nationality",
    "birth_registration_place",
    "place_of_origin",
    "permanent_address",
    "current_address",
    "phone",
)
_DEATH_FIELDS = ("life_status", "death_date")
#: A dead person's card must not be produced either, not only the valid ones cancelled.
_LIVE_STATUSES = (DocumentStatus.ENROLLED, DocumentStatus.IN_PRODUCTION, DocumentStatus.VALID)
#: The cards that carry the personal ID number itself (the 12-digit CMND, the CCCDs and the
#: căn cước): a changed number makes them wrong, so they are cancelled with the old number.
_NUMBER_CARRYING = (
    DocumentKind.CMND12,
    DocumentKind.CCCD_BARCODE,
    DocumentKind.CCCD_CHIP,
    DocumentKind.CANCUOC,
)


class StaleCorrection(DomainError):
    pass


# --- Values as stored in Correction.changes (strings; dates ISO) --------------------------


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _current(citizen: Citizen, field: str) -> str:
    return _as_text(getattr(citizen, field))


def field_label(field: str) -> str:
    return str(getattr(Citizen._meta.get_field(field), "verbose_name", field))


def _parse_date(field: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DomainError(
            _("%(field)s: “%(value)s” is not a date.")
            % {"field": field_label(field), "value": value}
        ) from None


# --- Validation of the proposed values ----------------------------------------------------


def _clean_text(field: str, value: Any) -> str:
    text = nfc(_as_text(value))
    limit = getattr(Citizen._meta.get_field(field), "max_length", None) or 255
    if len(text) > limit:
        raise DomainError(
            _("%(field)s is longer than %(n)s characters.")
            % {"field": field_label(field), "n": limit}
        )
    if field == "full_name" and not text:
        raise DomainError(_("The full name cannot be empty."))
    return text


def _clean_value(field: str, value: Any, *, today: dt.date) -> str:
    """One proposed value, normalised to its stored text form, or a DomainError."""
    if field in _TEXT_FIELDS:
        return _clean_text(field, value)
    if field == "id_number":
        number = _as_text(value).strip()
        if len(number) != idnumber.LENGTH or not (number.isascii() and number.isdigit()):
            raise DomainError(_("A personal ID number is exactly 12 digits."))
        return number
    if field == "birth_date":
        born = _parse_date(field, value)
        if born is None:
            raise DomainError(_("The birth date cannot be empty."))
        if not EARLIEST_BIRTH <= born <= today:
            raise DomainError(_("The birth date must be between 1900 and today."))
        return born.isoformat()
    if field == "birth_precision":
        if value not in BirthPrecision.values:
            raise DomainError(_("Unknown birth date precision."))
        return str(value)
    if field == "sex":
        if value not in Sex.values:
            raise DomainError(_("Sex must be male or female."))
        return str(value)
    if field == "phone":
        phone = _as_text(value).replace(" ", "").replace(".", "")
        if phone and not _PHONE.match(phone):
            raise DomainError(_("A phone number is 10 digits starting with 0."))
        return phone
    if field == "death_date":
        died = _parse_date(field, value)
        if died is None:
            raise DomainError(_("The date of death is required."))
        if died > today:
            raise DomainError(_("The date of death cannot be in the future."))
        return died.isoformat()
    raise DomainError(_("The field “%(field)s” cannot be corrected here.") % {"field": field})


def _check_consistency(citizen: Citizen, after: dict[str, str], *, today: dt.date) -> None:
    """The record as it would be after the change must hold together."""

    def final(field: str) -> str:
        return after[field] if field in after else _current(citizen, field)

    born = final("birth_date")
    died = final("death_date")
    if born and died and died < born:
        raise DomainError(_("The date of death cannot be before the birth date."))
    if {"id_number", "sex", "birth_date"} & after.keys():
        sex = {"M": "male", "F": "female"}.get(final("sex"))
        year = int(born[:4]) if born else None
        issues = idnumber.validate(final("id_number"), birth_year=year, sex=sex, on=today)
        errors = [issue for issue in issues if issue.severity == "error"]
        if errors:
            raise DomainError(
                " ".join(issue.message_vi if _is_vi() else issue.message_en for issue in errors)
            )
    if "id_number" in after:
        number = after["id_number"]
        if Citizen.objects.filter(id_number=number).exclude(pk=citizen.pk).exists():
            raise DomainError(_("Another citizen already holds this ID number."))
        if FormerNumber.objects.filter(number=number).exclude(citizen=citizen).exists():
            raise DomainError(_("This ID number was cancelled for another citizen."))


def _is_vi() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "vi").startswith("vi")


def _validated_changes(
    citizen: Citizen, kind: str, changes: dict[str, Any], *, today: dt.date
) -> dict[str, dict[str, str]]:
    """``{field: {"before": ..., "after": ...}}`` for the fields that really change."""
    if kind not in Correction.Kind.values:
        raise DomainError(_("Unknown kind of correction."))
    if kind == Correction.Kind.DEATH:
        return _death_changes(citizen, changes, today=today)
    unknown = sorted(set(changes) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise DomainError(
            _("The field “%(field)s” cannot be corrected here.") % {"field": unknown[0]}
        )
    after = {field: _clean_value(field, value, today=today) for field, value in changes.items()}
    after = {field: value for field, value in after.items() if value != _current(citizen, field)}
    if not after:
        raise DomainError(_("The proposal changes nothing."))
    if kind == Correction.Kind.SUPPLEMENT:
        filled = [field for field in after if _current(citizen, field)]
        if filled:
            raise DomainError(
                _("A supplement only fills empty information; “%(field)s” is not empty.")
                % {"field": field_label(filled[0])}
            )
    _check_consistency(citizen, after, today=today)
    return {field: {"before": _current(citizen, field), "after": after[field]} for field in after}


def _death_changes(
    citizen: Citizen, changes: dict[str, Any], *, today: dt.date
) -> dict[str, dict[str, str]]:
    if set(changes) - {"death_date"}:
        raise DomainError(_("A death registration records only the date of death."))
    if citizen.life_status == LifeStatus.DECEASED:
        raise DomainError(_("This citizen is already recorded as deceased."))
    died = _clean_value("death_date", changes.get("death_date"), today=today)
    _check_consistency(citizen, {"death_date": died}, today=today)
    return {
        "life_status": {"before": citizen.life_status, "after": LifeStatus.DECEASED.value},
        "death_date": {"before": _current(citizen, "death_date"), "after": died},
    }


# --- Access -------------------------------------------------------------------------------


def _citizen_unit(citizen: Citizen) -> Unit:
    """The unit the citizen lives in now: the one whose officers see the record."""
    return citizen.current_unit or citizen.permanent_unit


def _citizen_for(actor: Any, citizen_id: int, *, lock: bool = False) -> Citizen:
    citizens = scope_queryset(Citizen.objects.all(), user=actor)
    if lock:
        citizens = citizens.select_for_update()
    citizen = citizens.filter(pk=citizen_id).first()
    if citizen is None:
        raise OutOfScope
    return citizen


def _correction_for(actor: Any, correction_id: int) -> Correction:
    # Scoped through the citizen's unit now (see registry.corrections); only the
    # correction row is locked here, the citizen is locked on its own at approval.
    corrections = corrections_scoped(Correction.objects.select_for_update(of=("self",)), user=actor)
    correction = corrections.filter(pk=correction_id).first()
    if correction is None:
        raise OutOfScope
    return correction


def _require_pending(correction: Correction) -> None:
    if correction.status != Correction.Status.PENDING:
        raise DomainError(
            _("This proposal is already decided (%(status)s).")
            % {"status": correction.get_status_display()}
        )


def _require_checker(actor: Any, correction: Correction, *, verb: str) -> None:
    if not user_can(actor, Capability.APPROVE_CORRECTION):
        raise PermissionDenied
    if correction.proposed_by_id == actor.pk:
        if verb == "approve":
            raise PermissionDenied(_("You cannot approve your own proposal."))
        raise PermissionDenied(_("You cannot reject your own proposal; withdraw it instead."))


# --- Services -----------------------------------------------------------------------------


@transaction.atomic
def correction_propose(
    *,
    actor: Any,
    citizen_id: int,
    kind: str,
    changes: dict[str, Any],
    reason: str,
    evidence: str = "",
) -> Correction:
    """Propose a change, correction, supplement or death registration for a citizen."""
    if not user_can(actor, Capability.PROPOSE_CORRECTION):
        raise PermissionDenied
    citizen = _citizen_for(actor, citizen_id)
    reason = nfc(reason)
    if not reason:
        raise DomainError(_("Give the reason for the proposal."))
    recorded = _validated_changes(citizen, kind, changes, today=timezone.localdate())
    correction = Correction(
        citizen=citizen,
        province_code=citizen.province_code,
        unit_path=citizen.unit_path,
        kind=kind,
        changes=recorded,
        reason=reason,
        evidence=nfc(evidence),
        proposed_by=actor,
    )
    correction.full_clean()
    correction.save()
    audit_record(
        actor=actor,
        action="correction.propose",
        obj=correction,
        unit=_citizen_unit(citizen),
        detail={"citizen": citizen.pk, "kind": kind, "changes": recorded},
    )
    return correction


def _cancel_documents(
    citizen: Citizen,
    *,
    statuses: tuple[str, ...],
    kinds: tuple[str, ...] | None = None,
    number: str | None = None,
) -> list[str]:
    """Cancel the citizen's documents matching the filters; their numbers, in id order."""
    documents = IdentityDocument.objects.select_for_update().filter(
        citizen=citizen, status__in=statuses
    )
    if kinds is not None:
        documents = documents.filter(kind__in=kinds)
    if number is not None:
        documents = documents.filter(number=number)
    ids = list(documents.order_by("id").values_list("id", "number"))
    IdentityDocument.objects.filter(pk__in=[pk for pk, _number in ids]).update(
        status=DocumentStatus.CANCELLED
    )
    return [found for _pk, found in ids]


def _stale_fields(citizen: Citizen, changes: dict[str, dict[str, str]]) -> list[str]:
    return [field for field, pair in changes.items() if _current(citizen, field) != pair["before"]]


def _apply(citizen: Citizen, correction: Correction, *, today: dt.date) -> list[str]:
    """Write the approved values on the locked record; returns cancelled document numbers."""
    after = {field: pair["after"] for field, pair in correction.changes.items()}
    cancelled: list[str] = []
    if "id_number" in after:
        cancelled += _cancel_documents(
            citizen, kinds=_NUMBER_CARRYING, number=citizen.id_number, statuses=_LIVE_STATUSES
        )
        FormerNumber.objects.create(
            citizen=citizen,
            number=citizen.id_number,
            cancelled_on=today,
            reason=correction.reason[:255],
        )
    for field, value in after.items():
        if field in ("birth_date", "death_date"):
            setattr(citizen, field, dt.date.fromisoformat(value) if value else None)
        else:
            setattr(citizen, field, value)
    fields = [*after, "updated_at"]
    if "birth_date" in after:
        citizen.birth_year = citizen.birth_date.year if citizen.birth_date else None
        fields.append("birth_year")
    if "full_name" in after:
        citizen.search_name = fold(citizen.full_name)
        fields.append("search_name")
    if correction.kind == Correction.Kind.DEATH:
        cancelled += _cancel_documents(citizen, statuses=_LIVE_STATUSES)
    # Only the approved fields are written: the values were validated at proposal and
    # re-checked above; an unrelated defect elsewhere in the record must not block them.
    citizen.save(update_fields=fields)
    return cancelled


@transaction.atomic
def correction_approve(*, actor: Any, correction_id: int, note: str = "") -> Correction:
    """Approve another officer's proposal and apply it to the record, or refuse if stale."""
    correction = _correction_for(actor, correction_id)
    _require_checker(actor, correction, verb="approve")
    _require_pending(correction)
    citizen = _citizen_for(actor, correction.citizen_id, lock=True)
    stale = _stale_fields(citizen, correction.changes)
    if stale:
        raise StaleCorrection(
            _(
                "The record has changed since this proposal was made (%(fields)s). "
                "Reject it and propose again from the current record."
            )
            % {"fields": ", ".join(field_label(field) for field in stale)}
        )
    today = timezone.localdate()
    # Re-check against the record as it is now (e.g. an ID number taken since).
    if correction.kind == Correction.Kind.DEATH:
        _check_consistency(
            citizen, {"death_date": correction.changes["death_date"]["after"]}, today=today
        )
    else:
        after = {field: pair["after"] for field, pair in correction.changes.items()}
        _check_consistency(citizen, after, today=today)
    cancelled = _apply(citizen, correction, today=today)
    correction.status = Correction.Status.APPROVED
    correction.decided_by = actor
    correction.decided_at = timezone.now()
    correction.decision_note = nfc(note)
    correction.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    unit = _citizen_unit(citizen)
    audit_record(
        actor=actor,
        action="correction.approve",
        obj=correction,
        unit=unit,
        detail={"citizen": citizen.pk, "note": correction.decision_note},
    )
    audit_record(
        actor=actor,
        action="citizen.correct",
        obj=citizen,
        unit=unit,
        detail={
            "correction": correction.pk,
            "kind": correction.kind,
            "before": {field: pair["before"] for field, pair in correction.changes.items()},
            "after": {field: pair["after"] for field, pair in correction.changes.items()},
            "documents_cancelled": cancelled,
        },
    )
    return correction


@transaction.atomic
def correction_reject(*, actor: Any, correction_id: int, note: str) -> Correction:
    """Refuse another officer's proposal, saying why. The record is not touched."""
    correction = _correction_for(actor, correction_id)
    _require_checker(actor, correction, verb="reject")
    _require_pending(correction)
    note = nfc(note)
    if not note:
        raise DomainError(_("Say why the proposal is rejected."))
    correction.status = Correction.Status.REJECTED
    correction.decided_by = actor
    correction.decided_at = timezone.now()
    correction.decision_note = note
    correction.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="correction.reject",
        obj=correction,
        unit=_citizen_unit(correction.citizen),
        detail={"citizen": correction.citizen_id, "note": note},
    )
    return correction


@transaction.atomic
def correction_withdraw(*, actor: Any, correction_id: int) -> Correction:
    """The proposer takes back a pending proposal."""
    if not user_can(actor, Capability.PROPOSE_CORRECTION):
        raise PermissionDenied
    correction = _correction_for(actor, correction_id)
    if correction.proposed_by_id != actor.pk:
        raise PermissionDenied(_("Only the officer who proposed it can withdraw a proposal."))
    _require_pending(correction)
    correction.status = Correction.Status.WITHDRAWN
    correction.decided_by = actor
    correction.decided_at = timezone.now()
    correction.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action="correction.withdraw",
        obj=correction,
        unit=_citizen_unit(correction.citizen),
        detail={"citizen": correction.citizen_id},
    )
    return correction
