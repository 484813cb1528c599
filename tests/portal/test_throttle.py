"""Portal rate limits: one locked counter per key, so parallel requests cannot slip through."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from cancuoc.portal import services, throttle
from cancuoc.portal.models import ThrottleCounter
from tests.portal import builders

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 8, 1, 2, 0, tzinfo=dt.UTC)
LIMIT = throttle.Limit("test:k", 3, dt.timedelta(minutes=15))


def _take(now: dt.datetime, limit: throttle.Limit = LIMIT) -> bool:
    """One request: True when it was let through (and counted)."""
    with transaction.atomic():
        counter = throttle.counters_lock([limit.key], now=now)[limit.key]
        if throttle.exhausted(counter, limit, now=now):
            return False
        throttle.hit(counter, limit, now=now)
        return True


def test_a_counter_lets_the_limit_through_then_refuses_until_the_window_ends():
    minute = dt.timedelta(minutes=1)
    assert [_take(NOW + i * minute) for i in range(5)] == [True, True, True, False, False]
    row = ThrottleCounter.objects.get(key="test:k")
    # The window opened at the first hit and refused hits are not counted.
    assert (row.hits, row.expires_at) == (3, NOW + dt.timedelta(minutes=15))
    assert throttle.minutes_left(row, now=NOW + 4 * minute) == 11
    assert throttle.minutes_left(row, now=NOW + dt.timedelta(minutes=14, seconds=59)) == 1
    assert _take(NOW + dt.timedelta(minutes=14, seconds=59)) is False
    # At the end of the window the count starts again from one.
    assert _take(NOW + dt.timedelta(minutes=15)) is True
    row.refresh_from_db()
    assert (row.hits, row.expires_at) == (1, NOW + dt.timedelta(minutes=30))


def test_keys_count_separately_and_stale_rows_are_pruned_when_met():
    assert _take(NOW) is True
    other = throttle.Limit("test:other", 1, dt.timedelta(minutes=15))
    assert _take(NOW, other) is True
    assert _take(NOW, other) is False
    assert _take(NOW) is True
    # Two hours later test:k is stale (its window ended over an hour ago) and is deleted
    # when another key is taken; the key being taken is never deleted.
    later = NOW + dt.timedelta(hours=2)
    assert _take(later, other) is True
    assert list(ThrottleCounter.objects.values_list("key", "hits")) == [("test:other", 1)]


def test_the_lookup_counts_failures_per_code_and_per_address_in_counters(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    with pytest.raises(services.LookupFailed):
        services.dossier_lookup(code=d.code, factor="0000", client_address="10.9.9.9")
    found = services.dossier_lookup(code=d.code, factor="5678", client_address="10.9.9.9")
    assert found == d
    counts = dict(ThrottleCounter.objects.values_list("key", "hits"))
    assert counts == {
        f"lookup.fail.code:{d.code}": 1,
        "lookup.fail.addr:10.9.9.9": 1,
        "lookup.all.addr:10.9.9.9": 2,
    }


def test_the_per_address_limits_follow_the_settings(world, alice, settings):
    settings.PORTAL_LOOKUP_MAX_PER_ADDRESS = 2
    d = builders.dossier(unit=world.commune_a, officer=alice)
    for _ in range(2):
        services.dossier_lookup(code=d.code, factor="5678", client_address="10.9.9.8")
    with pytest.raises(services.LookupThrottled):
        services.dossier_lookup(code=d.code, factor="5678", client_address="10.9.9.8")
    assert services.dossier_lookup(code=d.code, factor="5678", client_address="10.9.9.7") == d


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_guesses_are_counted_one_by_one(world, alice):
    if connection.vendor != "postgresql":
        pytest.skip("threads cannot share SQLite's in-memory test database")
    d = builders.dossier(unit=world.commune_a, officer=alice)
    guesses = 20
    barrier = threading.Barrier(guesses)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def guess(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.dossier_lookup(code=d.code, factor=f"{i:04d}", client_address=f"10.7.0.{i}")
            outcomes.append("found")
        except services.LookupFailed:
            outcomes.append("failed")
        except services.LookupThrottled:
            outcomes.append("throttled")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    # Exactly five guesses were compared; the fifteen others were refused unchecked.
    assert sorted(outcomes) == ["failed"] * 5 + ["throttled"] * 15
    assert ThrottleCounter.objects.get(key=f"lookup.fail.code:{d.code}").hits == 5
    with pytest.raises(services.LookupThrottled):
        services.dossier_lookup(code=d.code, factor="5678", client_address="10.7.1.1")


@pytest.mark.django_db(transaction=True)
def test_parallel_complaints_from_one_address_stop_at_the_limit(world):
    if connection.vendor != "postgresql":
        pytest.skip("threads cannot share SQLite's in-memory test database")
    from cancuoc.portal.models import Complaint, ComplaintTerm

    # The transactional test database was flushed: the migration's default term is gone.
    ComplaintTerm.objects.get_or_create(valid_from=dt.date(2018, 6, 21), working_days=10)
    sends = 12
    barrier = threading.Barrier(sends)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.complaint_file(
                kind="feedback",
                text=f"Góp ý số {i}",
                contact_name="Nguyễn Văn A",
                unit_id=world.commune_a.pk,
                client_address="10.7.2.2",
            )
            outcomes.append("filed")
        except services.ComplaintThrottled:
            outcomes.append("throttled")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=send, args=(i,)) for i in range(sends)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == ["filed"] * 5 + ["throttled"] * 7
    assert Complaint.objects.count() == 5
    assert timezone.now() < ThrottleCounter.objects.get(key="complaint.addr:10.7.2.2").expires_at
