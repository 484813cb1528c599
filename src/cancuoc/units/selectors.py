"""Reads of administrative units, always within the user's scope."""

from typing import Any

from django.db.models import Count, QuerySet

from cancuoc.core.scoping import prefix_q, scope_queryset
from cancuoc.core.text import fold
from cancuoc.units.models import Unit


def units_visible(
    *, user: Any, q: str = "", edition: str | None = None, level: int | None = None
) -> QuerySet[Unit]:
    units = scope_queryset(Unit.objects.all(), user=user)
    if q:
        units = units.filter(search_name__contains=fold(q))
    if edition is not None:
        units = units.filter(edition=edition)
    if level is not None:
        units = units.filter(level=level)
    return units.order_by("path")


def unit_get(*, user: Any, pk: int) -> Unit | None:
    return scope_queryset(Unit.objects.select_related("parent"), user=user).filter(pk=pk).first()


def unit_children(*, user: Any, unit: Unit) -> QuerySet[Unit]:
    children = scope_queryset(unit.children.all(), user=user)
    return children.annotate(child_count=Count("children")).order_by("name")


def unit_subtree(*, user: Any, unit: Unit) -> QuerySet[Unit]:
    """The unit and every unit below it: one indexed prefix match."""
    return scope_queryset(Unit.objects.filter(prefix_q("path", unit.path)), user=user)


def unit_ancestors(*, unit: Unit) -> list[Unit]:
    """Breadcrumb ancestors, read from the path in one query (public facts, read-only)."""
    edition, *codes = unit.path.strip("/").split("/")
    candidates = ["/"] + ["/" + "/".join([edition, *codes[:i]]) + "/" for i in range(1, len(codes))]
    return list(Unit.objects.filter(path__in=candidates).order_by("level"))
