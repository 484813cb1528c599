"""Writing the audit log. Services call `audit_record` inside their transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Model

from cancuoc.core.context import client_address
from cancuoc.core.models import AuditEntry


def audit_entry(
    *,
    actor: Any,
    action: str,
    obj: Model | None = None,
    unit: Any = None,
    detail: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEntry:
    """The audit row ``audit_record`` would write, not saved yet (see ``audit_record_many``).

    `unit` defaults to the object's own unit (or the object itself when it is
    a unit), so the entry is visible to exactly the officers who can see the
    object. `detail` must never hold biometric data or secrets.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        if unit is None:
            unit = obj if obj._meta.label_lower == "units.unit" else getattr(obj, "unit", None)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEntry(
        actor=actor if authenticated else None,
        actor_label=actor.get_username() if authenticated else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        unit=unit,
        unit_path=unit.path if unit is not None else "/",
        client_address=client_address.get(),
        detail=detail or {},
    )


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: Model | None = None,
    unit: Any = None,
    detail: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEntry:
    """Append one audit row (the fields are ``audit_entry``'s)."""
    entry = audit_entry(
        actor=actor,
        action=action,
        obj=obj,
        unit=unit,
        detail=detail,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
    )
    entry.save(force_insert=True)
    return entry


def audit_record_many(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Append many rows made by ``audit_entry`` in one INSERT (a batch of captures).

    The rows are exactly those ``audit_record`` would write one by one, in order.
    """
    rows = list(entries)
    return AuditEntry.objects.bulk_create(rows) if rows else []
