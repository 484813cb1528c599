"""The fast paths of a whole enrolment: fewer statements, the same rows.

A whole enrolment through ``POST /applications/complete`` is the issue's throughput
measure (bench/enrolment.py). These tests pin what made it cheaper: the desk settings
and the area read once, the dossier number drawn by one ``UPDATE … RETURNING``, the
receipt's events in two statements, the transfer and appraisal of a dossier received in
the same transaction without reading it again, the step timings in one upsert, and no
extra read to tell a new enrolment (201) from a repeated one (200).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cancuoc.accounts.services import api_token_create
from cancuoc.core.errors import OutOfScope
from cancuoc.dossiers import codes
from cancuoc.dossiers import services as desk
from cancuoc.dossiers.models import DeskSettings, DossierTransition
from cancuoc.dossiers.services import DossierError
from cancuoc.enrolment.models import Application, StepTiming
from tests import factories
from tests.dossiers.factories import procedure
from tests.enrolment import factories as ef

pytestmark = pytest.mark.django_db

B = "/api/v1/enrolment"


@pytest.fixture(autouse=True)
def biometric_store(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "biometrics"
    settings.BIOMETRIC_FSYNC = False


@pytest.fixture
def station_desk(world, root):
    """A station of commune A and a client calling as its operator with an API token, as
    a station (and the benchmark) does."""
    ef.load_card_procedures()
    operator = ef.operator(world.commune_a, "op.perf")
    station = ef.station(unit=world.commune_a, operators=[operator], code="PF-01")
    _token, raw = api_token_create(actor=root, user=operator, name="perf")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.cookies["django_language"] = "en"
    return operator, station, client


def _capture(kind: str, position: str, seed: int) -> dict:
    image = ef.face_png(seed=seed) if kind == "face" else ef.png(seed=seed)
    return {
        "kind": kind,
        "position": position,
        "image": base64.b64encode(image).decode(),
        "content_type": "image/png",
        "quality": 95 if kind == "face" else 85,
        "device": "simulator:TEST",
    }


def _payload(station, citizen, seed: int) -> dict:
    captures = [_capture("slap", s, seed + i) for i, s in enumerate(ef.SLAPS)]
    captures += [_capture("rolled", f, seed + 10 + i) for i, f in enumerate(ef.FINGERS)]
    captures += [
        _capture("face", "", seed + 30),
        _capture("iris", "R", seed + 31),
        _capture("iris", "L", seed + 32),
        _capture("signature", "", seed + 33),
    ]
    return {
        "application_id": str(uuid.uuid4()),
        "station_id": station.pk,
        "citizen_id": citizen.pk,
        "captures": captures,
    }


def _post(client: Client, payload: dict):
    return client.post(
        f"{B}/applications/complete", data=json.dumps(payload), content_type="application/json"
    )


def test_a_whole_enrolment_reads_each_setting_once_and_writes_in_few_statements(
    world, station_desk
):
    _operator, station, client = station_desk
    # A first enrolment warms what is cached per process (the session, the calendar).
    first = factories.citizen(unit=world.commune_a, full_name="Trần Văn Một")
    assert _post(client, _payload(station, first, 100)).status_code == 201
    citizen = factories.citizen(unit=world.commune_a, full_name="Trần Thị Hai")
    payload = _payload(station, citizen, 200)
    with CaptureQueriesContext(connection) as queries:
        answer = _post(client, payload)
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "completed"
    sql = [q["sql"] for q in queries.captured_queries]

    def count(fragment: str) -> int:
        return sum(1 for s in sql if fragment in s)

    assert count('FROM "dossiers_desksettings"') == 1
    assert count('FROM "dossiers_dossiersequence"') == 0  # the UPDATE returns the number
    assert count('UPDATE "dossiers_dossiersequence"') == 1
    assert count('INSERT INTO "core_event"') == 2  # the receipt's three, the completion's
    assert count("INSERT INTO core_dailyrollup") == 2
    assert count('FROM "enrolment_steptiming"') == 0  # a new application's rows are known
    assert count('INTO "enrolment_steptiming"') == 2  # the start's, then one upsert
    # The start's own time (none once ``start_or_resume(count_time=False)`` is used).
    assert count('UPDATE "enrolment_steptiming"') <= 1
    # The whole budget (token, start, captures, dossier, completion): the count the
    # benchmark records must not creep back up unnoticed.
    assert len(sql) <= 60, "\n".join(sql)
    timings = StepTiming.objects.filter(application_id=payload["application_id"])
    assert sorted(timings.values_list("step", flat=True)) == [
        "confirm",
        "face",
        "fingerprints",
        "review",
        "sign",
    ]
    assert all(t.ended_at is not None for t in timings)
    assert (
        timings.get(step="confirm").started_at
        == Application.objects.get(pk=payload["application_id"]).started_at
    )


def test_the_same_enrolment_sent_again_answers_200_and_changes_nothing(world, station_desk):
    _operator, station, client = station_desk
    citizen = factories.citizen(unit=world.commune_a, full_name="Lê Văn Ba")
    payload = _payload(station, citizen, 300)
    assert _post(client, payload).status_code == 201
    rows = (Application.objects.count(), DossierTransition.objects.count())
    again = _post(client, payload)
    assert again.status_code == 200
    assert again.json()["id"] == payload["application_id"]
    assert (Application.objects.count(), DossierTransition.objects.count()) == rows


def test_desk_settings_and_area_read_together_agree_with_the_parent_chain(world):
    commune, province = world.commune_a, world.commune_a.parent
    assert codes.desk_settings_and_area(commune)[1] == ""
    desk_default = codes.desk_settings_and_area(commune)[0]
    assert (desk_default.pk, desk_default.identifier, desk_default.code_pattern) == (
        None,
        commune.code,
        codes.DEFAULT_PATTERN,
    )
    DeskSettings.objects.create(unit=province, identifier="HT", area="other")
    assert codes.desk_settings_and_area(commune)[1] == "other"  # inherited
    assert codes.desk_area(commune) == "other"
    own = DeskSettings.objects.create(
        unit=commune, identifier="TH-A", code_pattern="{identifier}/{yymmdd}/{seq}", area=""
    )
    settings_, area = codes.desk_settings_and_area(commune)
    assert (settings_.pk, settings_.identifier, settings_.code_pattern, area) == (
        own.pk,
        "TH-A",
        "{identifier}/{yymmdd}/{seq}",
        "other",
    )
    own.area = "remote"
    own.save()
    assert codes.desk_settings_and_area(commune)[1] == "remote"  # its own wins
    assert codes.desk_settings_and_area(province)[1] == "other"
    assert codes.desk_settings_and_area(world.commune_b)[1] == "other"


def test_sequence_numbers_come_from_one_statement_each(world, django_assert_num_queries):
    day = ef.AT.date()
    assert codes.sequence_next(unit=world.commune_a, day=day) == 1  # creates the row
    with django_assert_num_queries(1):
        assert codes.sequence_next(unit=world.commune_a, day=day) == 2
    assert codes.sequence_next(unit=world.commune_a, day=day) == 3
    assert codes.sequence_next(unit=world.commune_b, day=day) == 1


def test_a_dossier_received_in_the_transaction_is_moved_on_without_a_second_read(world):
    operator = ef.operator(world.commune_a, "op.many")
    proc = procedure()
    with transaction.atomic():
        received = desk.dossier_receive(
            actor=operator, procedure_code=proc.code, applicant_name="Phạm Văn Bốn", at=ef.AT
        )
        with CaptureQueriesContext(connection) as queries:
            moved = desk.dossier_act_many(
                actor=operator,
                dossier_id=received.pk,
                actions=["transfer", "appraise"],
                at=ef.AT,
                received=received,
            )
    read = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # Neither the dossier nor its last step's date is read back (the actor's scope is).
    assert [sql for sql in read if '"dossiers_' in sql] == []
    assert (moved.status, moved.assigned_to_id) == ("in_appraisal", operator.pk)
    moved.refresh_from_db()
    assert (moved.status, moved.assigned_to_id) == ("in_appraisal", operator.pk)
    assert list(
        DossierTransition.objects.filter(dossier=moved)
        .order_by("id")
        .values_list("action", "from_status", "to_status")
    ) == [
        ("receive", "", "received"),
        ("transfer", "received", "transferred"),
        ("appraise", "transferred", "in_appraisal"),
    ]


def test_a_step_dated_before_the_receipt_of_a_handed_dossier_is_refused(world):
    operator = ef.operator(world.commune_a, "op.early")
    proc = procedure()
    received = desk.dossier_receive(
        actor=operator, procedure_code=proc.code, applicant_name="Đỗ Văn Sáu", at=ef.AT
    )
    with pytest.raises(DossierError):
        desk.dossier_act_many(
            actor=operator,
            dossier_id=received.pk,
            actions=["transfer"],
            at=ef.AT - dt.timedelta(minutes=1),
            received=received,
        )
    received.refresh_from_db()
    assert received.status == "received"
    assert DossierTransition.objects.filter(dossier=received).count() == 1


def test_another_units_officer_cannot_move_a_dossier_handed_to_them(world, bob):
    operator = ef.operator(world.commune_a, "op.scope")
    stranger = ef.operator(world.commune_b, "op.stranger")
    proc = procedure()
    received = desk.dossier_receive(
        actor=operator, procedure_code=proc.code, applicant_name="Võ Thị Năm", at=ef.AT
    )
    with pytest.raises(OutOfScope):
        desk.dossier_act_many(
            actor=stranger,
            dossier_id=received.pk,
            actions=["transfer"],
            at=ef.AT,
            received=received,
        )
    received.refresh_from_db()
    assert received.status == "received"
    assert DossierTransition.objects.filter(dossier=received).count() == 1
