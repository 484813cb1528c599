"""Dossier codes: the pattern, the daily sequence per unit, and concurrent receipts."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection, connections

from cancuoc.core.errors import DomainError
from cancuoc.dossiers import codes
from cancuoc.dossiers.models import DeskSettings, Dossier, DossierSequence
from tests.dossiers.factories import Desk, local, procedure, received_dossier

D = __import__("datetime").date


def test_default_code_uses_the_unit_code(world):
    assert codes.desk_settings(world.commune_a).identifier == "18100"
    assert codes.dossier_code_next(unit=world.commune_a, day=D(2021, 3, 16)) == "18100-210316-0001"
    assert codes.dossier_code_next(unit=world.commune_a, day=D(2021, 3, 16)) == "18100-210316-0002"
    # Another unit, same day: its own sequence.
    assert codes.dossier_code_next(unit=world.commune_b, day=D(2021, 3, 16)) == "18200-210316-0001"


def test_a_configured_pattern(world):
    DeskSettings.objects.create(
        unit=world.commune_a,
        identifier="H42.18100",
        code_pattern="{province_code}.{identifier}/{yyyymmdd}/{seq:05d}",
    )
    assert (
        codes.dossier_code_next(unit=world.commune_a, day=D(2025, 7, 1))
        == "42.H42.18100/20250701/00001"
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "{identifier}-{yymmdd}",
        "{identifier}-{seq}",
        "{identifier}-{yymmdd}-{seq}-{secret}",
        "{identifier-{seq}",
    ],
)
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(codes.CodePatternError):
        codes.pattern_check(pattern)


def test_good_patterns_pass():
    codes.pattern_check(codes.DEFAULT_PATTERN)
    codes.pattern_check("{unit_code}{yyyymmdd}{seq:06d}")


def test_a_row_created_by_a_concurrent_receipt_is_incremented_not_duplicated(world):
    DossierSequence.objects.create(unit=world.commune_a, day=D(2025, 3, 3), last=1)
    real_filter = DossierSequence.objects.filter
    calls = {"n": 0}

    def filter_missing_once(*args, **kwargs):
        # The first UPDATE "misses" the row, as when another transaction created it
        # after this one looked; the create then hits the unique constraint.
        qs = real_filter(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            return real_filter(pk=-1)
        return qs

    with mock.patch.object(DossierSequence.objects, "filter", side_effect=filter_missing_once):
        assert codes.sequence_next(unit=world.commune_a, day=D(2025, 3, 3)) == 2
    assert DossierSequence.objects.get(unit=world.commune_a, day=D(2025, 3, 3)).last == 2


def test_a_failed_receipt_gives_its_number_back(world):
    from cancuoc.dossiers import services
    from cancuoc.dossiers.services import intake

    desk = Desk(world.commune_a, "a")
    proc = procedure()
    received_dossier(actor=desk.clerk, proc=proc, at=local(2025, 3, 3, 9))
    taken: list[int] = []
    real_next = codes.sequence_next

    def spy(**kwargs):
        taken.append(real_next(**kwargs))
        return taken[-1]

    # The receipt fails AFTER its number was taken (while writing the control sheet).
    with (
        mock.patch.object(codes, "sequence_next", side_effect=spy),
        mock.patch.object(intake, "_record", side_effect=services.DossierError("boom")),
        pytest.raises(DomainError),
    ):
        received_dossier(actor=desk.clerk, proc=proc, at=local(2025, 3, 3, 9))
    assert taken == [2]  # the number was really taken by the failed receipt
    assert Dossier.objects.count() == 1
    second = received_dossier(actor=desk.clerk, proc=proc, at=local(2025, 3, 3, 9))
    assert second.code == "18100-250303-0002"


@pytest.mark.django_db(transaction=True)
def test_concurrent_receipts_get_distinct_consecutive_codes(world):
    if connection.vendor != "postgresql":
        pytest.skip("threads cannot share SQLite's in-memory test database")
    desk = Desk(world.commune_a, "a")
    proc = procedure()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    made: list[str] = []
    errors: list[BaseException] = []

    def receive(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            dossier = received_dossier(
                actor=desk.clerk, proc=proc, at=local(2025, 3, 3, 9), applicant_name=f"Người {i}"
            )
            made.append(dossier.code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=receive, args=(i,)) for i in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert sorted(made) == [f"18100-250303-{n:04d}" for n in range(1, threads_count + 1)]
    assert Dossier.objects.count() == threads_count
    assert DossierSequence.objects.get(unit=world.commune_a).last == threads_count
