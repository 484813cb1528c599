"""Reads of corrections, always within the reader's unit scope.

A correction is scoped through its citizen's current unit path, not the copy stored on
the correction at proposal (kept for history): when the citizen moves, the new commune
sees and decides the pending proposal and the old one no longer does.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import scope_queryset
from cancuoc.registry.models import Citizen, Correction
from cancuoc.registry.selectors import citizen_unit

__all__ = [
    "SCOPE_LOOKUP",
    "citizen_corrections",
    "correction_citizen_get",
    "correction_get",
    "corrections_mine",
    "corrections_pending_for_approval",
    "corrections_scoped",
    "corrections_visible",
]

#: Where a correction is scoped: its citizen's unit now (see the module docstring).
SCOPE_LOOKUP = "citizen__unit_path"


def corrections_scoped(queryset: QuerySet[Correction], *, user: Any) -> QuerySet[Correction]:
    """``queryset`` restricted to the corrections of citizens the user sees now."""
    return scope_queryset(queryset, user=user, lookup=SCOPE_LOOKUP)


def corrections_visible(*, user: Any, status: str | None = None) -> QuerySet[Correction]:
    corrections = corrections_scoped(Correction.objects.all(), user=user)
    if status:
        corrections = corrections.filter(status=status)
    return corrections.select_related("citizen", "proposed_by", "decided_by").order_by(
        "-proposed_at", "-id"
    )


def corrections_list_record(*, user: Any, query: dict[str, Any]) -> None:
    """Audit one read of a list of corrections, whose rows carry before/after values.

    One row per list read (not per correction), naming what was asked for.
    """
    audit_record(
        actor=user,
        action="correction.list",
        unit=getattr(user, "unit", None),
        detail={"query": query},
    )


def corrections_pending_for_approval(*, user: Any) -> QuerySet[Correction]:
    """What this user may decide: pending, in scope, proposed by someone else."""
    if not user_can(user, Capability.APPROVE_CORRECTION):
        return Correction.objects.none()
    pending = corrections_visible(user=user, status=Correction.Status.PENDING)
    return pending.exclude(proposed_by=user).order_by("proposed_at", "id")


def corrections_mine(*, user: Any, status: str | None = None) -> QuerySet[Correction]:
    return corrections_visible(user=user, status=status).filter(proposed_by=user)


def correction_get(*, user: Any, correction_id: int) -> Correction:
    """One correction with its before/after values; the read is audited (personal data)."""
    found = corrections_visible(user=user).filter(pk=correction_id).first()
    if found is None:
        raise OutOfScope
    audit_record(
        actor=user,
        action="correction.view",
        obj=found,
        unit=citizen_unit(found.citizen),
        detail={"citizen": found.citizen_id},
    )
    return found


def citizen_corrections(*, user: Any, citizen_id: int) -> QuerySet[Correction]:
    """A citizen's correction history, newest first (for the citizen page)."""
    return corrections_visible(user=user).filter(citizen_id=citizen_id)


def correction_citizen_get(*, user: Any, citizen_id: int) -> Citizen:
    """The citizen a proposal is about, in scope, or OutOfScope; the read is audited."""
    citizen = scope_queryset(Citizen.objects.all(), user=user).filter(pk=citizen_id).first()
    if citizen is None:
        raise OutOfScope
    audit_record(
        actor=user,
        action="citizen.view",
        obj=citizen,
        unit=citizen_unit(citizen),
        detail={"purpose": "correction"},
    )
    return citizen
