"""Enrolment reads: scoping, audited detail, the resume list, timing statistics, finding."""

from __future__ import annotations

import datetime as dt

import pytest

from cancuoc.core.errors import OutOfScope
from cancuoc.core.models import AuditEntry
from cancuoc.enrolment import selectors
from cancuoc.enrolment.models import StepTiming
from cancuoc.registry.models import FormerNumber, IdentityDocument
from tests import factories
from tests.enrolment import factories as ef

AT = ef.AT


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, db):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    ef.load_card_procedures()


def test_scoping_of_stations_applications_and_cards(world, station_a, op_a, bob, hana, carl):
    application = ef.in_progress_application(station=station_a, actor=op_a)
    assert list(selectors.stations_for(hana)) == [station_a]
    assert list(selectors.stations_for(bob)) == []
    assert list(selectors.applications_for(hana)) == [application]
    assert list(selectors.applications_for(carl)) == []
    with pytest.raises(OutOfScope):
        selectors.station_get(carl, station_a.pk)
    with pytest.raises(OutOfScope):
        selectors.application_get(carl, application.pk)
    assert not AuditEntry.objects.filter(action="enrolment.application_view").exists()
    got = selectors.application_get(hana, str(application.pk))
    assert got.pk == application.pk
    entry = AuditEntry.objects.get(action="enrolment.application_view")
    assert entry.detail == {"citizen": application.citizen_id}
    assert list(selectors.cards_for(hana)) == []


def test_application_current_lists_in_progress_at_the_station(world, station_a, op_a):
    done = ef.completed_application(station=station_a, actor=op_a)
    busy = ef.in_progress_application(station=station_a, actor=op_a, until="face")
    current = selectors.application_current(op_a, station_id=station_a.pk)
    assert [a.pk for a in current] == [busy.pk]
    assert done.status == "completed"


def _timed(station, op, minutes_per_step, *, retries=0):
    application = ef.completed_application(station=station, actor=op)
    start = AT
    for n, step in enumerate(("confirm", "fingerprints", "face", "review", "sign")):
        StepTiming.objects.filter(application=application, step=step).update(
            started_at=start,
            ended_at=start + dt.timedelta(minutes=minutes_per_step[n]),
            retries=retries if step == "fingerprints" else 0,
            server_ms=100,
        )
        start += dt.timedelta(minutes=minutes_per_step[n])
    return application


def test_timing_stats_against_the_norm(world, station_a, op_a, hana, carl):
    op_b = ef.operator(world.commune_a, "op_b")
    station_b = ef.station(unit=world.commune_a, operators=[op_b], code="ST-B")
    _timed(station_a, op_a, (1, 2, 1, 0.5, 0.5))  # 5 min
    _timed(station_a, op_a, (1, 3, 1, 0.5, 0.5), retries=2)  # 6 min
    _timed(station_b, op_b, (2, 4, 1, 1, 1))  # 9 min
    stats = selectors.timing_stats(hana)
    assert selectors.INTAKE_NORM_MINUTES == 6
    assert (stats.count, stats.median_min, stats.p90_min, stats.within_norm) == (3, 6.0, 9.0, 2)
    assert stats.retries == 2
    fingerprints = next(s for s in stats.steps if s.step == "fingerprints")
    assert (fingerprints.count, fingerprints.median_s, fingerprints.p90_s) == (3, 180.0, 240.0)
    assert fingerprints.median_server_ms == 100
    by_station = {g.label: (g.count, g.median_min, g.within_norm) for g in stats.by_station}
    assert by_station == {"ST-A": (2, 5.5, 2), "ST-B": (1, 9.0, 0)}
    by_operator = {g.label: g.count for g in stats.by_operator}
    assert by_operator == {"op_a": 2, "op_b": 1}
    only_b = selectors.timing_stats(hana, operator_id=op_b.pk)
    assert only_b.count == 1
    assert selectors.timing_stats(hana, date_from=dt.date(2025, 9, 16)).count == 0
    assert selectors.timing_stats(carl).count == 0


def test_citizen_find_by_id_cmnd_qr_and_name(world, op_a, carl):
    person = factories.citizen(
        unit=world.commune_a, full_name="Lê Văn Tám", birth_date=dt.date(1970, 2, 3)
    )
    IdentityDocument.objects.create(
        citizen=person, province_code="42", kind="cmnd9", number="183000111"
    )
    FormerNumber.objects.create(citizen=person, number="042070999999")
    assert selectors.citizen_find(op_a, query=person.id_number) == [person]
    assert selectors.citizen_find(op_a, query="183000111") == [person]
    assert selectors.citizen_find(op_a, query="042070999999") == [person]
    qr = f"https://dichvucong.gov.vn/moi?so={person.id_number}&phien=12"
    assert selectors.citizen_find(op_a, query=qr) == [person]
    assert selectors.citizen_find(op_a, query="Lê Văn Tám 03/02/1970") == [person]
    assert selectors.citizen_find(op_a, query="Lê Văn Tám 04/02/1970") == []
    assert selectors.citizen_find(carl, query=person.id_number) == []
    assert AuditEntry.objects.filter(action="citizen.search").count() == 7
