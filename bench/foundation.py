"""Foundation: unit-subtree scoping and event rollups, against naive baselines.

- Scoping: count a province's subtree with the materialised-path prefix, against
  walking the tree level by level through `parent` (what a plain adjacency list needs).
- Rollups: `event_append` throughput; then a province's daily totals over a
  year read from rollups, against a GROUP BY over the events themselves.
"""

from __future__ import annotations

import datetime as dt
import random
import time

from django.db import connection, transaction
from django.db.models import Count

from bench.report import timed
from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.core.events import event_append, rollups_rebuild
from cancuoc.core.models import DailyRollup, Event
from cancuoc.core.scoping import scope_queryset
from cancuoc.core.selectors import rollup_totals
from cancuoc.units.importers import units_import
from cancuoc.units.models import Unit

SUBJECT = "bench:foundation"


def _manager(province: Unit) -> User:
    user, _ = User.objects.get_or_create(
        username=f"bench.{province.edition}.{province.code}",
        defaults={"role": Role.PROVINCE_MANAGER, "unit": province},
    )
    return user


def _walk(unit_id: int) -> int:
    count, frontier = 1, [unit_id]
    while frontier:
        frontier = list(Unit.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        count += len(frontier)
    return count


def _scoping_rows() -> list[tuple[str, str, str]]:
    hatinh_2021 = Unit.objects.get(edition="2021", code="42")
    manager = _manager(hatinh_2021)
    scoped = timed(lambda: scope_queryset(Unit.objects.all(), user=manager).count(), repeat=50)
    naive = timed(lambda: _walk(hatinh_2021.pk), repeat=50)
    size = scope_queryset(Unit.objects.all(), user=manager).count()
    assert size == _walk(hatinh_2021.pk)
    return [
        (
            f"scoped subtree count, Hà Tĩnh 2021 ({size} units), p50",
            f"{scoped['p50']:.2f} ms",
            f"{naive['p50']:.2f} ms walking parents",
        )
    ]


def _seed_events(communes: list[Unit], total: int) -> None:
    """Bulk-insert synthetic events over one year, then rebuild their rollups."""
    have = Event.objects.filter(subject=SUBJECT).count()
    if have >= total:
        return
    rng = random.Random(42)
    start = dt.date(2025, 1, 1)
    batch = []
    for _ in range(total - have):
        unit = rng.choice(communes)
        batch.append(
            Event(
                kind="bench",
                unit=unit,
                day=start + dt.timedelta(rng.randrange(365)),
                subject=SUBJECT,
                measures={"received": 1},
            )
        )
        if len(batch) == 10_000:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)
    rollups_rebuild()


def _rollup_rows(events: int) -> list[tuple[str, str, str]]:
    province = Unit.objects.get(edition="2025", code="42")
    communes = list(province.children.all())
    everywhere = list(Unit.objects.filter(edition="2025", level=3))
    rng = random.Random(7)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        with transaction.atomic():
            event_append(
                kind="bench.append",
                unit=rng.choice(communes),
                day=dt.date(2026, 1, 5),
                subject="bench:append",
                measures={"received": 1},
            )
    append_rate = n / (time.perf_counter() - start)

    _seed_events(everywhere, events)
    manager = _manager(province)
    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))

    def from_rollups() -> list:
        return rollup_totals(
            user=manager,
            unit_path=province.path,
            subject=SUBJECT,
            day_from=year[0],
            day_to=year[1],
            by=("day",),
        )

    def naive() -> list:
        rows = scope_queryset(Event.objects.all(), user=manager, lookup="unit__path").filter(
            subject=SUBJECT, day__range=year
        )
        return list(rows.values("day").annotate(total=Count("id")).order_by("day"))

    fast, slow = timed(from_rollups), timed(naive, repeat=5)
    totals = [r["total"] for r in from_rollups()]
    # Both sides must count the same, non-empty thing, or the comparison means nothing.
    assert totals == [r["total"] for r in naive()] and sum(totals) > 0, "empty benchmark"
    in_province = sum(totals)
    stored = Event.objects.filter(subject=SUBJECT).count()
    rollups = DailyRollup.objects.filter(subject=SUBJECT).count()
    return [
        ("event_append, one transaction each", f"{append_rate:,.0f} events/s", "—"),
        (
            f"Hà Tĩnh daily totals for a year ({in_province:,} of {stored:,} events; "
            f"{rollups:,} rollup rows nationwide), p50",
            f"{fast['p50']:.1f} ms from rollups",
            f"{slow['p50']:.1f} ms GROUP BY over events",
        ),
    ]


def run(*, events: int, **_scale: int) -> list[tuple[str, str, str]]:
    for edition in ("2025", "2021"):
        units_import(edition=edition)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return _scoping_rows() + _rollup_rows(events)
