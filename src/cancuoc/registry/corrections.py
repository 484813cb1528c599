"""Reads of corrections, always within the reader's unit scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import scope_queryset
from cancuoc.registry.models import Citizen, Correction

__all__ = [
    "citizen_corrections",
    "correction_citizen_get",
    "correction_get",
    "corrections_mine",
    "corrections_pending_for_approval",
    "corrections_visible",
]


def corrections_visible(*, user: Any, status: str | None = None) -> QuerySet[Correction]:
    corrections = scope_queryset(Correction.objects.all(), user=user)
    if status:
        corrections = corrections.filter(status=status)
    return corrections.select_related("citizen", "proposed_by", "decided_by").order_by(
        "-proposed_at", "-id"
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
    found = corrections_visible(user=user).filter(pk=correction_id).first()
    if found is None:
        raise OutOfScope
    return found


def citizen_corrections(*, user: Any, citizen_id: int) -> QuerySet[Correction]:
    """A citizen's correction history, newest first (for the citizen page)."""
    return corrections_visible(user=user).filter(citizen_id=citizen_id)


def correction_citizen_get(*, user: Any, citizen_id: int) -> Citizen:
    """The citizen a proposal is about, in scope, or OutOfScope."""
    citizen = scope_queryset(Citizen.objects.all(), user=user).filter(pk=citizen_id).first()
    if citizen is None:
        raise OutOfScope
    return citizen
