"""Two stations start the same citizen at the same moment: one wins, one gets a clear error."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections

from cancuoc.enrolment import services
from cancuoc.enrolment.models import Application, StepTiming
from tests import factories
from tests.enrolment import factories as ef


@pytest.mark.django_db(transaction=True)
def test_two_stations_race_for_one_citizen(world, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("threads cannot share SQLite's in-memory test database")
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    citizen = factories.citizen(unit=world.commune_a)
    stations = []
    for n in range(4):
        op = ef.operator(world.commune_a, f"race_op{n}")
        stations.append((ef.station(unit=world.commune_a, operators=[op]), op))
    barrier = threading.Barrier(len(stations))
    won: list[uuid.UUID] = []
    lost: list[str] = []
    errors: list[BaseException] = []

    def start(station, op) -> None:
        try:
            barrier.wait(timeout=10)
            app = services.application_start(
                actor=op, station_id=station.pk, citizen_id=citizen.pk, at=ef.AT
            )
            won.append(app.pk)
        except services.OpenApplicationExists as exc:
            lost.append(exc.message)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=start, args=pair) for pair in stations]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert len(won) == 1 and len(lost) == len(stations) - 1
    winner = Application.objects.get()
    assert winner.pk == won[0]
    assert all(winner.station.code in message for message in lost)
    assert StepTiming.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_same_uuid_double_submit_race(world, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("threads cannot share SQLite's in-memory test database")
    citizen = factories.citizen(unit=world.commune_a)
    op = ef.operator(world.commune_a, "dbl_op")
    station = ef.station(unit=world.commune_a, operators=[op])
    app_id = uuid.uuid4()
    barrier = threading.Barrier(3)
    got: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(timeout=10)
            got.append(
                services.application_start(
                    actor=op,
                    station_id=station.pk,
                    citizen_id=citizen.pk,
                    application_id=app_id,
                    at=ef.AT,
                ).pk
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=start) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert got == [app_id] * 3
    assert Application.objects.count() == 1
