"""Stations, operators, tokens, sessions."""

from __future__ import annotations

import hashlib

import pytest

from cancuoc.accounts.models import ApiToken
from cancuoc.accounts.services import api_token_authenticate
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.enrolment import services
from cancuoc.enrolment.models import Station
from tests.enrolment import factories as ef


def test_station_create_by_supervisor_with_operators(world, alice, op_a, bob):
    station = services.station_create(
        actor=alice,
        unit_id=world.commune_a.pk,
        code="th-01",
        name="Trạm Thạch Hà 1",
        kind="mobile",
        operator_ids=[op_a.pk],
        face_threshold=85,
    )
    assert (station.code, station.unit_path, station.province_code) == (
        "TH-01",
        "/2025/42/18100/",
        "42",
    )
    assert station.face_threshold == 85
    assert list(station.operators.all()) == [op_a]
    assert AuditEntry.objects.filter(action="station.create").count() == 1
    with pytest.raises(services.EnrolmentError):  # code taken
        services.station_create(
            actor=alice, unit_id=world.commune_a.pk, code="TH-01", name="x", kind="fixed"
        )
    with pytest.raises(OutOfScope):
        services.station_create(
            actor=alice, unit_id=world.commune_b.pk, code="X", name="x", kind="fixed"
        )
    with pytest.raises(PermissionDenied):
        services.station_create(
            actor=op_a, unit_id=world.commune_a.pk, code="Y", name="y", kind="fixed"
        )
    with pytest.raises(services.EnrolmentError):  # a clerk cannot be an operator
        services.station_create(
            actor=alice,
            unit_id=world.commune_a.pk,
            code="Z",
            name="z",
            kind="fixed",
            operator_ids=[bob.pk],
        )
    assert Station.objects.count() == 1


def test_station_update_and_limits(world, alice, op_a):
    station = ef.station(unit=world.commune_a, operators=[])
    services.station_update(
        actor=alice,
        station_id=station.pk,
        finger_retries=2,
        operator_ids=[op_a.pk],
        device_profile={"seed": 3},
    )
    station.refresh_from_db()
    assert (station.finger_retries, station.device_profile) == (2, {"seed": 3})
    assert list(station.operators.all()) == [op_a]
    with pytest.raises(services.EnrolmentError):
        services.station_update(actor=alice, station_id=station.pk, face_threshold=150)
    with pytest.raises(services.EnrolmentError):
        services.station_update(actor=alice, station_id=station.pk, unit_id=1)
    entry = AuditEntry.objects.get(action="station.update")
    assert entry.detail["after"] == {
        "finger_retries": 2,
        "device_profile": {"seed": 3},
        "operators": ["op_a"],
    }


def test_token_issue_makes_a_service_account_and_revokes_the_old(world, alice):
    station = ef.station(unit=world.commune_a, operators=[], code="ST-T")
    station, raw = services.station_token_issue(actor=alice, station_id=station.pk)
    assert station.token.digest == hashlib.sha256(raw.encode()).hexdigest()
    account = api_token_authenticate(raw=raw)
    assert account.username == "station-st-t" and not account.has_usable_password()
    assert station.operators.filter(pk=account.pk).exists()
    first = station.token_id
    station, raw2 = services.station_token_issue(actor=alice, station_id=station.pk)
    assert ApiToken.objects.get(pk=first).revoked_at is not None
    assert api_token_authenticate(raw=raw) is None
    assert api_token_authenticate(raw=raw2) == account


def test_sessions_open_once_per_day_and_close(world, op_a):
    station = ef.station(unit=world.commune_a, operators=[op_a])
    session = services.session_open(
        actor=op_a, station_id=station.pk, place="Nhà văn hóa thôn 2", at=ef.AT
    )
    assert session.day == ef.AT.date()
    assert services.session_open(actor=op_a, station_id=station.pk, at=ef.AT).pk == session.pk
    # An application started that day joins the open session.
    from tests import factories

    application = services.application_start(
        actor=op_a,
        station_id=station.pk,
        citizen_id=factories.citizen(unit=world.commune_a).pk,
        at=ef.AT,
    )
    assert application.session_id == session.pk
    closed = services.session_close(actor=op_a, session_id=session.pk, at=ef.AT)
    assert closed.closed_at == ef.AT
    outsider = ef.operator(world.commune_a, "outsider")
    with pytest.raises(PermissionDenied):
        services.session_open(actor=outsider, station_id=station.pk, at=ef.AT)
