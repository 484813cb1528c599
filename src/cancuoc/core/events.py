"""The performance spine: events and their daily rollups.

A service that changes state calls `event_append` inside its transaction (or
`events_append_many` for several events at once: two statements however many).
The event row is the truth; the rollup row (unit, day, subject, measure) is
incremented in the same transaction so reports never scan events or the
business tables. `rollups_rebuild` recomputes every rollup from the events
and must always agree with the incremental path.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from cancuoc.core.models import DailyRollup, Event

# Every rollup is kept twice: per day, and per calendar month under the subject
# "month|<subject>" dated the 1st. A year's report over a province then reads about
# 12 month rows per unit and measure instead of 365 day rows, and only the partial
# months at the period's edges from the day rows (see dossiers/reports.py).
MONTH_SUBJECT_PREFIX = "month|"

# One multi-row upsert reads the same on SQLite (3.24+) and PostgreSQL. Rows per
# statement are capped so the parameters stay far below either database's limit.
_UPSERT_HEAD = (
    "INSERT INTO core_dailyrollup (unit_id, unit_path, day, subject, measure, value) VALUES "
)
_UPSERT_TAIL = (
    " ON CONFLICT (unit_id, day, subject, measure) "
    "DO UPDATE SET value = core_dailyrollup.value + excluded.value"
)
_UPSERT_ROWS = 500

_Key = tuple[int, dt.date, str, str]


@dataclass(frozen=True)
class EventSpec:
    """One event for ``events_append_many``: the arguments of ``event_append``."""

    kind: str
    unit: Any
    day: dt.date
    subject: str
    measures: Mapping[str, int]
    obj: Model | None = None
    actor: Any = None
    payload: dict[str, Any] | None = None


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
    spec = EventSpec(kind, unit, day, subject, measures, obj, actor, payload)
    return events_append_many([spec])[0]


def events_append_many(specs: Sequence[EventSpec]) -> list[Event]:
    """Append several events and their rollups: one INSERT of the events, one upsert.

    The rows are exactly those of ``event_append`` called for each spec in order: the
    same events, and rollups that end with the same values (the increments of one key
    are summed before the upsert, which PostgreSQL requires of a multi-row ON CONFLICT;
    a key whose increments cancel out still gets its row, as one by one it would).

    No savepoint: inside the caller's transaction the two statements simply belong to
    it (a failure fails the caller, who never carries on after a database error here);
    called outside one, they form their own transaction.
    """
    if not specs:
        return []
    events: list[Event] = []
    sums: dict[_Key, int] = {}
    paths: dict[int, str] = {}
    for spec in specs:
        clean = {name: int(delta) for name, delta in spec.measures.items() if int(delta) != 0}
        obj, actor = spec.obj, spec.actor
        events.append(
            Event(
                kind=spec.kind,
                unit=spec.unit,
                day=spec.day,
                subject=spec.subject,
                measures=clean,
                object_type=obj._meta.label_lower if obj is not None else "",
                object_id=str(obj.pk) if obj is not None else "",
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                payload=spec.payload or {},
            )
        )
        unit_id = spec.unit.pk
        paths[unit_id] = spec.unit.path
        for key, delta in _rollup_deltas(unit_id, spec.day, spec.subject, clean):
            sums[key] = sums.get(key, 0) + delta
    with transaction.atomic(savepoint=False):
        Event.objects.bulk_create(events)
        _rollups_add(
            (unit_id, paths[unit_id], day, subject, measure, value)
            for (unit_id, day, subject, measure), value in sums.items()
        )
    return events


def _rollup_deltas(
    unit_id: int, day: dt.date, subject: str, measures: Mapping[str, int]
) -> Iterator[tuple[_Key, int]]:
    """Each measure counts on its day and on its month (see MONTH_SUBJECT_PREFIX)."""
    month, month_subject = day.replace(day=1), MONTH_SUBJECT_PREFIX + subject
    for measure, delta in measures.items():
        yield (unit_id, day, subject, measure), delta
        yield (unit_id, month, month_subject, measure), delta


def _rollups_add(rows: Iterable[tuple[int, str, dt.date, str, str, int]]) -> None:
    # In key order: two transactions that increment the same rows lock them in the same
    # order, so they wait for each other instead of deadlocking.
    params = sorted(rows, key=lambda row: (row[0], row[2], row[3], row[4]))
    if not params:
        return
    with connection.cursor() as cursor:
        for start in range(0, len(params), _UPSERT_ROWS):
            chunk = params[start : start + _UPSERT_ROWS]
            sql = _UPSERT_HEAD + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk)) + _UPSERT_TAIL
            cursor.execute(sql, [value for row in chunk for value in row])


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
        for key, delta in _rollup_deltas(unit_id, day, subject, measures):
            sums[key] += int(delta)
    return sums, events
