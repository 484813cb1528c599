"""Reads of the audit log and the rollups, always unit-scoped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet, Sum

from cancuoc.core.models import AuditEntry, DailyRollup
from cancuoc.core.scoping import prefix_q, scope_queryset


def audit_entries(
    *,
    user: Any,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    entries = scope_queryset(AuditEntry.objects.all(), user=user)
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if date_from:
        entries = entries.filter(at__date__gte=date_from)
    if date_to:
        entries = entries.filter(at__date__lte=date_to)
    return entries.order_by("-at", "-id")


def audit_actions(*, user: Any) -> list[str]:
    scoped = scope_queryset(AuditEntry.objects.all(), user=user)
    return list(scoped.order_by().values_list("action", flat=True).distinct())


def rollup_totals(
    *,
    user: Any,
    unit_path: str,
    subject: str,
    day_from: dt.date,
    day_to: dt.date,
    by: tuple[str, ...] = ("measure",),
) -> list[dict[str, Any]]:
    """Sum rollups under `unit_path` (within the user's scope), grouped by `by`."""
    rows = scope_queryset(DailyRollup.objects.all(), user=user).filter(
        prefix_q("unit_path", unit_path), subject=subject, day__range=(day_from, day_to)
    )
    return list(rows.values(*by).annotate(total=Sum("value")).order_by(*by))
