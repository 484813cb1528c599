"""Reads of dossiers (always unit-scoped) and of the public procedure catalogue.

A dossier is visible to the officers of its competent unit's subtree (``unit_path``)
and, read-only, to those of the unit that received it for another unit of the province
(Decree 118/2025), so the receiving desk can reprint the receipt and answer the citizen.
The catalogue is public (niêm yết công khai) and needs no user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import scope_q, scope_queryset
from cancuoc.dossiers.models import Dossier, DossierTransition, Procedure, ProcedureVersion
from cancuoc.units.models import Level, Unit


def dossiers_visible(*, user: Any) -> QuerySet[Dossier]:
    """Every dossier the user may read: competent unit in scope, or received by their units."""
    if not user_can(user, Capability.VIEW_DOSSIERS):
        return Dossier.objects.none()
    competent = scope_q(user, "unit_path")
    if competent is None:
        return Dossier.objects.none()
    if competent == Q():
        return Dossier.objects.all()
    receiving_units = scope_queryset(Unit.objects.all(), user=user).values("pk")
    return Dossier.objects.filter(competent | Q(receiving_unit__in=receiving_units))


def dossier_list(
    *,
    user: Any,
    q: str = "",
    status: str | Iterable[str] | None = None,
    procedure_code: str | None = None,
) -> QuerySet[Dossier]:
    """Dossiers in scope, newest first; ``q`` matches the code, the ID number or the name."""
    dossiers = dossiers_visible(user=user).select_related("procedure", "unit")
    q = " ".join((q or "").split())
    if q:
        condition = Q(code__icontains=q) | Q(applicant_name__icontains=q)
        if q.isdigit():
            condition |= Q(applicant_id_number=q) | Q(applicant_phone=q)
        dossiers = dossiers.filter(condition)
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        dossiers = dossiers.filter(status__in=statuses)
    if procedure_code:
        dossiers = dossiers.filter(procedure__code=procedure_code)
    return dossiers.order_by("-received_at", "-id")


def dossier_get(*, user: Any, dossier_id: int) -> Dossier:
    """One dossier the user may read; ``OutOfScope`` (shown as 404) otherwise."""
    dossier = (
        dossiers_visible(user=user)
        .select_related(
            "procedure", "procedure_version", "unit", "receiving_unit", "received_by", "assigned_to"
        )
        .filter(pk=dossier_id)
        .first()
    )
    if dossier is None:
        raise OutOfScope(_("Dossier not found."))
    return dossier


def dossier_by_submission_key(*, user: Any, key: str) -> Dossier | None:
    """The dossier a form with this one-time key created, if the user may read it."""
    key = (key or "").strip()
    if not key:
        return None
    return dossiers_visible(user=user).filter(submission_key=key).first()


def competent_units(*, user: Any) -> QuerySet[Unit]:
    """The units a desk may receive a dossier for (Decree 118/2025).

    The user's own unit and every current province or commune of the same province,
    plus any current unit in the user's scope; the same rule ``services`` enforces.
    """
    unit = getattr(user, "unit", None)
    if unit is None or not getattr(user, "is_authenticated", False):
        return Unit.objects.none()
    current = Unit.objects.filter(valid_to__isnull=True, level__gte=Level.PROVINCE)
    condition = Q(pk=unit.pk)
    if unit.province_code:
        condition |= Q(province_code=unit.province_code)
    in_scope = scope_q(user, "path")
    if in_scope is not None:
        condition |= in_scope
    return current.filter(condition).order_by("level", "name")


def dossier_history(*, user: Any, dossier_id: int) -> list[DossierTransition]:
    """The processing control sheet (Mẫu 05): every step in order, with actor and time."""
    dossier = dossier_get(user=user, dossier_id=dossier_id)
    return list(
        DossierTransition.objects.filter(dossier=dossier)
        .select_related("actor_unit")
        .order_by("at", "id")
    )


def _in_force(on: dt.date) -> Q:
    return Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))


def procedure_catalogue(*, on: dt.date | None = None) -> QuerySet[Procedure]:
    """The active procedures, each with ``versions_in_force`` (the rows valid on ``on``).

    Public: the catalogue is posted at every desk and on the portal.
    """
    day = on or timezone.localdate()
    versions = ProcedureVersion.objects.filter(_in_force(day)).order_by("area", "-valid_from")
    return (
        Procedure.objects.filter(is_active=True)
        .prefetch_related(Prefetch("versions", queryset=versions, to_attr="versions_in_force"))
        .order_by("field", "code")
    )


def procedure_get(*, code: str) -> Procedure | None:
    return Procedure.objects.filter(code=code, is_active=True).first()


def procedure_version_in_force(
    *, procedure: Procedure, on: dt.date, area: str = ""
) -> ProcedureVersion | None:
    """The version valid on ``on`` for ``area``; the all-areas row when no area row exists.

    Of several matching rows the one that started last wins (a later decision replaces an
    earlier one even if the earlier row was left open-ended).
    """
    rows = list(
        ProcedureVersion.objects.filter(_in_force(on), procedure=procedure)
        .filter(area__in={area, ""})
        .order_by("-valid_from")
    )
    for row in rows:
        if row.area == area:
            return row
    for row in rows:
        if row.area == "":
            return row
    # An area-specific procedure (2014 ID law) asked for without an area: the
    # longest time in force is the safe default for a deadline.
    if not area:
        any_area = list(
            ProcedureVersion.objects.filter(_in_force(on), procedure=procedure).order_by(
                "-processing_days", "-valid_from"
            )[:1]
        )
        return any_area[0] if any_area else None
    return None
