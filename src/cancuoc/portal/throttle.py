"""Atomic rate limits for the public portal: one locked counter row per key.

A check followed by a separate write lets parallel requests all pass the check. Here
each request locks the counter rows of its keys (SELECT ... FOR UPDATE, in key order so
two requests never wait on each other in a circle), decides, counts its hit and
commits: a second request on the same key waits for the first and sees its count.

Windows are fixed: the first hit opens a window of `window` length; when it has passed
the counter starts again from zero. Callers must run inside `transaction.atomic()`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from cancuoc.portal.models import ThrottleCounter

# Rows whose window ended this long ago are deleted when met (keeps the table small).
_STALE_AFTER = dt.timedelta(hours=1)
_PRUNE_BATCH = 200


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits on `key` per `window`."""

    key: str
    limit: int
    window: dt.timedelta


class CounterVanished(RuntimeError):
    """A counter row kept disappearing between its insert and its lock (should not happen)."""


def counters_lock(keys: Iterable[str], *, now: dt.datetime) -> dict[str, ThrottleCounter]:
    """The counter rows of `keys`, created when missing, locked until the transaction ends."""
    wanted = sorted(set(keys))
    for _attempt in range(3):
        # ON CONFLICT DO NOTHING: a parallel request may be inserting the same key.
        ThrottleCounter.objects.bulk_create(
            [ThrottleCounter(key=key, hits=0, expires_at=now) for key in wanted],
            ignore_conflicts=True,
        )
        rows = {
            row.key: row
            for row in ThrottleCounter.objects.select_for_update()
            .filter(key__in=wanted)
            .order_by("key")
        }
        if len(rows) == len(wanted):
            _prune(now=now, keep=wanted)
            return rows
        # A prune in another transaction deleted a row between our insert and our lock.
    raise CounterVanished(", ".join(wanted))


def current_hits(counter: ThrottleCounter, *, now: dt.datetime) -> int:
    """Hits counted in the counter's current window (0 once the window has passed)."""
    return counter.hits if counter.expires_at > now else 0


def exhausted(counter: ThrottleCounter, limit: Limit, *, now: dt.datetime) -> bool:
    return current_hits(counter, now=now) >= limit.limit


def hit(counter: ThrottleCounter, limit: Limit, *, now: dt.datetime) -> None:
    """Count one hit (the row must be locked by `counters_lock`)."""
    if counter.expires_at <= now:
        counter.hits = 0
        counter.expires_at = now + limit.window
    counter.hits += 1
    counter.save(update_fields=["hits", "expires_at"])


def minutes_left(counter: ThrottleCounter, *, now: dt.datetime) -> int:
    """Whole minutes (rounded up, at least 1) until the counter's window ends."""
    return max(1, math.ceil((counter.expires_at - now).total_seconds() / 60))


def _prune(*, now: dt.datetime, keep: list[str]) -> None:
    # Only rows nobody else holds (SKIP LOCKED), so pruning never waits and never
    # deadlocks with another request; on SQLite writers are serialised anyway.
    stale = ThrottleCounter.objects.filter(expires_at__lt=now - _STALE_AFTER).exclude(key__in=keep)
    if connection.features.has_select_for_update_skip_locked:
        stale = stale.select_for_update(skip_locked=True)
    ids = list(stale.values_list("pk", flat=True)[:_PRUNE_BATCH])
    if ids:
        ThrottleCounter.objects.filter(pk__in=ids).delete()
