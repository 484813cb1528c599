"""Booking under concurrency: 200 parallel bookers for the last 50 places (PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.db.models import F
from django.utils import translation

from cancuoc.campaigns.models import Invitation, Slot
from cancuoc.campaigns.services import invitations as inv
from cancuoc.campaigns.services._common import SlotFull
from tests.campaigns import session_factories as sf

BOOKERS = 200
#: Database sessions open at once: the server allows 100 connections, shared with the
#: rest of the machine. The bookers still start together and race for the same rows.
CONNECTIONS = 40


@pytest.mark.django_db(transaction=True)
def test_200_parallel_bookings_for_50_places_book_exactly_50(world, alice, hana):
    if connection.vendor != "postgresql":
        pytest.skip("threads cannot share SQLite's in-memory test database")
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    # 07:00–09:30, one set: 5 slots of 5 places; 5 more places are taken in each slot
    # beforehand by raising the capacity to 15 and booking 5: 50 places remain.
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:00",
                         end="09:30")  # fmt: skip
    slots = list(Slot.objects.filter(session=session).order_by("start"))
    assert len(slots) == 5
    early = sf.citizens(world.commune_a, 25)
    inv.invitations_create(actor=alice, session_id=session.pk, citizen_ids=[c.pk for c in early])
    Slot.objects.filter(session=session).update(capacity=F("capacity") + 10)
    assert sum(s.capacity - s.booked for s in Slot.objects.filter(session=session)) == 50

    people = sf.citizens(world.commune_a, BOOKERS)
    gate = threading.Barrier(BOOKERS)
    seats = threading.BoundedSemaphore(CONNECTIONS)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def book(i: int) -> None:
        try:
            gate.wait(timeout=60)
            # The active language is per thread: messages in English (the msgids).
            with seats, translation.override("en"):
                try:
                    inv.invitation_book(
                        actor=alice, slot_id=slots[i % 5].pk, citizen_id=people[i].pk
                    )
                    outcome = "booked"
                except SlotFull as exc:
                    assert exc.message == "This time slot is full; nothing was changed."
                    outcome = "full"
                finally:
                    connections.close_all()
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    workers = [threading.Thread(target=book, args=(i,)) for i in range(BOOKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert errors == []
    assert Counter(outcomes) == {"booked": 50, "full": 150}
    rows = list(Slot.objects.filter(session=session).order_by("start"))
    assert [(s.capacity, s.booked) for s in rows] == [(15, 15)] * 5
    booked_by_latecomers = Invitation.objects.filter(citizen__in=people)
    assert booked_by_latecomers.count() == 50
    # Every counter equals the invitations that hold a place in its slot.
    for slot in rows:
        assert Invitation.objects.filter(slot=slot, status="invited").count() == slot.booked
