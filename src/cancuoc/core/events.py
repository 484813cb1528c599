"""The performance spine: events and their daily rollups.

A service that changes state calls `event_append` inside its transaction.
The event row is the truth; the rollup row (unit, day, subject, measure) is
incremented in the same transaction so reports never scan events or the
business tables. `rollups_rebuild` recomputes every rollup from the events
and must always agree with the incremental path.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from cancuoc.core.models import DailyRollup, Event

# Every rollup is kept twice: per day, and per calendar month under the subject
# "month|<subject>" dated the 1st. A year's report over a province then reads about
# 12 month rows per unit and measure instead of 365 day rows, and only the partial
# months at the period's edges from the day rows (see dossiers/reports.py).
MONTH_SUBJECT_PREFIX = "month|"

# The same upsert reads the same on SQLite (3.24+) and PostgreSQL.
_UPSERT_SQL = (
    "INSERT INTO core_dailyrollup (unit_id, unit_path, day, subject, measure, value) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (unit_id, day, subject, measure) "
    "DO UPDATE SET value = core_dailyrollup.value + excluded.value"
)


def event_append(
    *,
    kind: str,
    unit: Any,
    day: dt.date,
    subject: str,
    measures: Mapping[str, int],
    obj: Model | None = None,
    actor: Any = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append an event and add its measures to the daily rollups, atomically."""
    clean = {name: int(delta) for name, delta in measures.items() if int(delta) != 0}
    with transaction.atomic():
        event = Event.objects.create(
            kind=kind,
            unit=unit,
            day=day,
            subject=subject,
            measures=clean,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            payload=payload or {},
        )
        _rollups_add(_rollup_rows(unit.pk, unit.path, day, subject, clean))
    return event


def _rollup_rows(
    unit_id: int, path: str, day: dt.date, subject: str, measures: Mapping[str, int]
) -> list[tuple[int, str, dt.date, str, str, int]]:
    month, month_subject = day.replace(day=1), MONTH_SUBJECT_PREFIX + subject
    rows = []
    for measure, delta in measures.items():
        rows.append((unit_id, path, day, subject, measure, delta))
        rows.append((unit_id, path, month, month_subject, measure, delta))
    return rows


def _rollups_add(rows: Iterable[tuple[int, str, dt.date, str, str, int]]) -> None:
    params = list(rows)
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(_UPSERT_SQL, params)


def rollups_rebuild(*, batch_size: int = 5000) -> dict[str, int]:
    """Recompute all rollups from the event stream; returns counts.

    Streams events in primary-key order and keeps only the running sums in
    memory, which grow with units × days × measures, not with events.
    """
    with transaction.atomic():
        _lock_rollups()
        sums, events = _sum_events(batch_size)
        from cancuoc.units.models import Unit

        paths = dict(Unit.objects.filter(pk__in={key[0] for key in sums}).values_list("pk", "path"))
        DailyRollup.objects.all().delete()
        DailyRollup.objects.bulk_create(
            (
                DailyRollup(
                    unit_id=unit_id,
                    unit_path=paths[unit_id],
                    day=day,
                    subject=subject,
                    measure=measure,
                    value=value,
                )
                for (unit_id, day, subject, measure), value in sums.items()
            ),
            batch_size=batch_size,
        )
    return {"events": events, "rollups": len(sums)}


def _lock_rollups() -> None:
    """Hold back concurrent increments while rebuilding, so none is lost.

    On PostgreSQL an EXCLUSIVE lock waits for in-flight increments to commit and
    blocks new ones until the rebuild commits; their events, not yet visible to
    the rebuild, then add on top. SQLite's IMMEDIATE transactions already
    serialise writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE core_dailyrollup IN EXCLUSIVE MODE")


def _sum_events(batch_size: int) -> tuple[dict[tuple[int, dt.date, str, str], int], int]:
    sums: dict[tuple[int, dt.date, str, str], int] = defaultdict(int)
    events = 0
    rows = Event.objects.order_by("pk").values_list("unit_id", "day", "subject", "measures")
    for unit_id, day, subject, measures in rows.iterator(chunk_size=batch_size):
        events += 1
        month, month_subject = day.replace(day=1), MONTH_SUBJECT_PREFIX + subject
        for measure, delta in measures.items():
            sums[(unit_id, day, subject, measure)] += int(delta)
            sums[(unit_id, month, month_subject, measure)] += int(delta)
    return sums, events
