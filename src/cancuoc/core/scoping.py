"""Unit scoping: the one place that decides what a user may see.

A user belongs to one unit and sees that unit's subtree: the rows whose unit
path starts with the user's unit path. A unit that succeeded older units
(a 2025 province formed by merging 2021 provinces) also sees its
predecessors' subtrees, so historical records stay reachable.

Every selector, page, API endpoint, export and admin view calls
`scope_queryset`; nothing else filters by unit for access control.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection
from django.db.models import Model, Q, QuerySet

if TYPE_CHECKING:
    from cancuoc.units.models import Unit

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_cancuoc_scope_prefixes"


def scope_prefixes(user: Any) -> tuple[str, ...]:
    """Path prefixes the user may see; empty for anonymous or unit-less users."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    unit = getattr(user, "unit", None)
    if unit is None:
        prefixes: tuple[str, ...] = ()
    else:
        from cancuoc.units.models import UnitSuccession

        predecessor_paths = UnitSuccession.objects.filter(successor=unit).values_list(
            "predecessor__path", flat=True
        )
        prefixes = _minimal_prefixes([unit.path, *predecessor_paths])
    setattr(user, _CACHE_ATTR, prefixes)
    return prefixes


def _minimal_prefixes(paths: list[str]) -> tuple[str, ...]:
    """Drop prefixes already covered by a shorter one, so the SQL stays small."""
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path.startswith(prefix) for prefix in kept):
            kept.append(path)
    return tuple(sorted(kept))


def prefix_q(lookup: str, prefix: str) -> Q:
    """Rows whose path at `lookup` starts with `prefix`, in the form each database indexes.

    PostgreSQL uses its varchar_pattern_ops index for LIKE 'prefix%'. SQLite's LIKE is
    case-insensitive and never uses an index, but its binary-collated range scan does:
    every path under "/2025/42/" sorts at or after it and before "/2025/420" ("0" is the
    character after "/").
    """
    if connection.vendor == "sqlite" and prefix.endswith("/"):
        return Q(**{f"{lookup}__gte": prefix, f"{lookup}__lt": prefix[:-1] + "0"})
    return Q(**{f"{lookup}__startswith": prefix})


def scope_q(user: Any, lookup: str) -> Q | None:
    """The filter for `lookup` (a path field), or None when the user sees nothing."""
    prefixes = scope_prefixes(user)
    if not prefixes:
        return None
    if prefixes == ("/",):
        return Q()
    condition = Q()
    for prefix in prefixes:
        condition |= prefix_q(lookup, prefix)
    return condition


def scope_queryset(queryset: QuerySet[M], *, user: Any, lookup: str | None = None) -> QuerySet[M]:
    """Restrict `queryset` to the user's unit subtree.

    `lookup` defaults to the model's `scope_path_lookup`, e.g. "path" for units,
    "unit__path" for users, or a denormalised "unit_path" on large tables.
    """
    path_lookup = lookup or getattr(queryset.model, "scope_path_lookup", None)
    if path_lookup is None:
        raise TypeError(f"{queryset.model.__name__} declares no scope_path_lookup")
    condition = scope_q(user, path_lookup)
    if condition is None:
        return queryset.none()
    return queryset.filter(condition)


def unit_in_scope(user: Any, unit: Unit | None) -> bool:
    if unit is None:
        return False
    return any(unit.path.startswith(prefix) for prefix in scope_prefixes(user))


def path_in_scope(user: Any, path: str) -> bool:
    return any(path.startswith(prefix) for prefix in scope_prefixes(user))
