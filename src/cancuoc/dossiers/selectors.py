"""Reads of dossiers (always unit-scoped) and of the public procedure catalogue.

A dossier is visible to the officers of its competent unit's subtree (``unit_path``)
and, read-only, to those of the unit that received it for another unit of the province
(Decree 118/2025), so the receiving desk can reprint the receipt and answer the citizen.
The catalogue is public (niêm yết công khai) and needs no user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import scope_q, scope_queryset
from cancuoc.core.text import fold
from cancuoc.dossiers.models import (
    DeskSettings,
    Dossier,
    DossierTransition,
    Procedure,
    ProcedureVersion,
)
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
        # Names match with or without diacritics, in any case, from the start of a word:
        # "hang" finds Hằng but not Thắng.
        name = fold(q)
        condition = (
            Q(code__icontains=q)
            | Q(applicant_search__startswith=name)
            | Q(applicant_search__contains=" " + name)
        )
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


def submission_key_scoped(*, user: Any, key: str | None) -> str | None:
    """The stored form of a form's one-time key: the key of this user only.

    Keys are chosen by the client (a form's hidden field, an API caller), so a key is
    unique per submitting user, never across users: one user's key can neither block
    another's receipt nor reveal the dossier it created. Stored as ``<key>:<user id>``,
    or a SHA-256 of both when that would not fit the 64-character column.
    """
    key = (key or "").strip()
    if not key:
        return None
    scoped = f"{key}:{user.pk}"
    if len(scoped) > 64:
        scoped = hashlib.sha256(f"{user.pk}:{key}".encode()).hexdigest()
    return scoped


def dossier_by_submission_key(*, user: Any, key: str | None) -> Dossier | None:
    """The dossier this user's form with this one-time key created, if still readable."""
    scoped = submission_key_scoped(user=user, key=key)
    if scoped is None:
        return None
    return dossiers_visible(user=user).filter(submission_key=scoped).first()


def dossier_view(*, user: Any, dossier_id: int) -> Dossier:
    """``dossier_get`` for showing the dossier: the read of the applicant's data is audited."""
    dossier = dossier_get(user=user, dossier_id=dossier_id)
    audit_record(actor=user, action="dossier.view", obj=dossier, unit=dossier.unit)
    return dossier


def dossier_list_record(
    *, user: Any, filters: dict[str, Any], page: int | dict[str, str], shown: int | None = None
) -> None:
    """Audit one page of the dossier list or search (names and ID numbers were shown).

    ``page`` is the page number (desk page) or the API's offset and limit.
    """
    detail: dict[str, Any] = {name: str(value)[:200] for name, value in filters.items() if value}
    detail["page"] = page
    if shown is not None:
        detail["shown"] = shown
    audit_record(
        actor=user, action="dossier.search", unit=getattr(user, "unit", None), detail=detail
    )


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


def desk_settings_units(*, user: Any) -> list[tuple[Unit, DeskSettings | None]]:
    """The current units in the user's scope with their saved desk settings (None: defaults).

    For the desk settings page of a catalogue administrator.
    """
    if not user_can(user, Capability.MANAGE_CATALOGUE):
        return []
    units = list(
        scope_queryset(
            Unit.objects.filter(valid_to__isnull=True, level__gte=Level.PROVINCE), user=user
        ).order_by("level", "name")
    )
    saved = {row.unit_id: row for row in DeskSettings.objects.filter(unit__in=units)}
    return [(unit, saved.get(unit.pk)) for unit in units]


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


def version_pick(rows: Iterable[ProcedureVersion], area: str = "") -> ProcedureVersion | None:
    """Of the versions in force on one day, the one that applies to ``area``.

    The row of that area, else the all-areas row; of several, the one that started last
    (a later decision replaces an earlier one even if the earlier row was left
    open-ended). Asked without an area for a procedure that exists only per area (2014
    ID law), the longest time: the safe figure to display, which intake never uses (it
    refuses until the unit's area is set). Independent of the order of ``rows``.
    """
    rows = sorted(rows, key=lambda row: row.valid_from, reverse=True)
    for wanted in (area, ""):
        for row in rows:
            if row.area == wanted:
                return row
    if not area and rows:
        return max(rows, key=lambda row: (row.processing_days, row.valid_from))
    return None


def procedure_version_in_force(
    *, procedure: Procedure, on: dt.date, area: str = ""
) -> ProcedureVersion | None:
    """The version valid on ``on`` for ``area`` (see :func:`version_pick`)."""
    return version_pick(ProcedureVersion.objects.filter(_in_force(on), procedure=procedure), area)
