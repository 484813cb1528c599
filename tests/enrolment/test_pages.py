"""The enrolment pages through Django's test client: who may see and do what, the whole
wizard without JavaScript, double submissions, and the supervisor pages."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse

from cancuoc.core.models import AuditEntry
from cancuoc.enrolment import services
from cancuoc.enrolment.devices.simulator import simulator_reset
from cancuoc.enrolment.models import (
    Application,
    Capture,
    Card,
    Station,
    StationSession,
    StepTiming,
)
from cancuoc.registry.models import Correction
from tests import factories
from tests.enrolment import factories as ef

CLEAN = {"adapter": "simulator", "seed": 11, "finger_quality_mean": 80, "face_quality_mean": 97}


@pytest.fixture(autouse=True)
def _biostore(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    simulator_reset()
    yield
    simulator_reset()


@pytest.fixture
def station_a(world, op_a):
    return ef.station(unit=world.commune_a, operators=[op_a], code="ST-A", device_profile=CLEAN)


@pytest.fixture
def citizen_a(world):
    return factories.citizen(unit=world.commune_a, full_name="Đặng Thị Hoa", sex="F")


def client_for(client, user):
    client.force_login(user)
    return client


def wizard_url(application) -> str:
    return reverse("enrolment:wizard", kwargs={"pk": application.pk})


def post_step(client, application, step, follow=False, **data):
    return client.post(
        reverse("enrolment:step", kwargs={"pk": application.pk}),
        {"step": step, **data},
        follow=follow,
    )


def capture_group(client, application, group, *, json_answer=False):
    headers = {"HTTP_ACCEPT": "application/json"} if json_answer else {}
    return client.post(
        reverse("enrolment:capture", kwargs={"pk": application.pk}), {"group": group}, **headers
    )


def fresh(application) -> Application:
    return Application.objects.get(pk=application.pk)


def snapshot(application) -> tuple:
    """Everything a refused or repeated request must leave as it was."""
    application = fresh(application)
    return (
        application.status,
        application.step,
        json.dumps(application.confirmed_data, sort_keys=True),
        Capture.objects.filter(application=application).count(),
        sorted(
            StepTiming.objects.filter(application=application).values_list(
                "step", "started_at", "ended_at", "retries", "exceptions"
            )
        ),
        AuditEntry.objects.exclude(action="enrolment.application_view").count(),
    )


# --- Who sees what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["home", "station_list", "stats", "cards", "conflicts"],
)
def test_every_role_with_view_enrolment_sees_the_lists(client, world, station_a, bob, name):
    client_for(client, bob)
    response = client.get(reverse(f"enrolment:{name}"))
    assert response.status_code == 200


def test_another_province_sees_no_station_of_ours(client, world, station_a, carl):
    client_for(client, carl)
    response = client.get(reverse("enrolment:station_list"))
    assert response.status_code == 200
    assert "ST-A" not in response.content.decode()
    assert (
        client.get(reverse("enrolment:station_detail", kwargs={"pk": station_a.pk})).status_code
        == 404
    )


def test_operator_home_shows_their_station_and_the_intake_to_resume(
    client, station_a, op_a, citizen_a
):
    application = ef.in_progress_application(station=station_a, citizen=citizen_a, until="face")
    client_for(client, op_a)
    page = client.get(reverse("enrolment:home")).content.decode()
    assert "ST-A" in page
    assert wizard_url(application) in page
    # The station page and the find page offer the same resume link.
    detail = client.get(reverse("enrolment:station_detail", kwargs={"pk": station_a.pk}))
    assert wizard_url(application) in detail.content.decode()
    find = client.get(reverse("enrolment:find", kwargs={"pk": station_a.pk}))
    assert wizard_url(application) in find.content.decode()
    # ...and the wizard opens at the step where it stopped.
    wizard = client.get(wizard_url(application))
    assert wizard.status_code == 200
    assert wizard.context["step"] == "face"


def test_clerk_may_not_open_the_wizard_or_the_find_page(client, station_a, citizen_a, bob):
    application = ef.in_progress_application(station=station_a, citizen=citizen_a)
    client_for(client, bob)
    assert client.get(reverse("enrolment:find", kwargs={"pk": station_a.pk})).status_code == 403
    assert client.get(wizard_url(application)).status_code == 403
    before = snapshot(application)
    response = post_step(client, application, "confirm")
    assert response.status_code == 403
    assert snapshot(application) == before


def test_operator_of_another_unit_gets_not_found_and_changes_nothing(
    client, world, station_a, citizen_a
):
    application = ef.in_progress_application(station=station_a, citizen=citizen_a)
    op_b = ef.operator(world.commune_b, "op_b")
    client_for(client, op_b)
    assert client.get(reverse("enrolment:find", kwargs={"pk": station_a.pk})).status_code == 404
    assert client.get(wizard_url(application)).status_code == 404
    before = snapshot(application)
    assert post_step(client, application, "confirm").status_code == 404
    assert capture_group(client, application, "fingerprints").status_code == 404
    assert (
        client.post(
            reverse("enrolment:session_open", kwargs={"pk": station_a.pk}), {"place": "x"}
        ).status_code
        == 404
    )
    assert snapshot(application) == before
    assert not StationSession.objects.exists()


def test_operator_not_at_this_station_is_refused_by_the_service(
    client, world, station_a, citizen_a
):
    application = ef.in_progress_application(station=station_a, citizen=citizen_a)
    other = ef.operator(world.commune_a, "op_other")
    client_for(client, other)
    before = snapshot(application)
    response = post_step(client, application, "confirm", follow=True)
    assert response.status_code == 200
    assert snapshot(application) == before
    page = client.get(wizard_url(application)).content.decode()
    assert 'id="next"' not in page  # no action buttons for someone who may not act


def test_supervisor_creates_and_edits_a_station(client, world, sup_a, op_a):
    client_for(client, sup_a)
    assert client.get(reverse("enrolment:station_create")).status_code == 200
    response = client.post(
        reverse("enrolment:station_create"),
        {
            "code": "ST-NEW",
            "name": "Trạm xã Thạch Hà",
            "kind": "mobile",
            "unit_id": world.commune_a.pk,
            "operator_ids": [op_a.pk],
            "finger_threshold": 45,
            "finger_retries": 2,
            "face_threshold": 88,
            "max_days_unsynced": 2,
            "max_unsent": 100,
            "device_profile": '{"adapter": "simulator", "seed": 3}',
            "is_active": "on",
        },
    )
    station = Station.objects.get(code="ST-NEW")
    assert response.status_code == 302
    assert response["Location"] == reverse("enrolment:station_detail", kwargs={"pk": station.pk})
    assert (station.kind, station.finger_threshold, station.finger_retries) == ("mobile", 45, 2)
    assert (station.face_threshold, station.max_days_unsynced, station.max_unsent) == (88, 2, 100)
    assert station.device_profile == {"adapter": "simulator", "seed": 3}
    assert list(station.operators.values_list("username", flat=True)) == ["op_a"]

    edit = reverse("enrolment:station_edit", kwargs={"pk": station.pk})
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        {
            "name": "Trạm lưu động",
            "kind": "mobile",
            "finger_threshold": 40,
            "finger_retries": 3,
            "face_threshold": 90,
            "max_days_unsynced": 3,
            "max_unsent": 300,
            "device_profile": "{}",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    station.refresh_from_db()
    assert (station.name, station.finger_retries, station.code) == ("Trạm lưu động", 3, "ST-NEW")
    assert list(station.operators.all()) == []


def test_operator_may_not_create_a_station(client, op_a):
    client_for(client, op_a)
    assert client.get(reverse("enrolment:station_create")).status_code == 403
    response = client.post(reverse("enrolment:station_create"), {"code": "X", "name": "X"})
    assert response.status_code == 403
    assert not Station.objects.filter(code="X").exists()


def test_a_bad_device_profile_is_refused_with_nothing_saved(client, world, sup_a):
    client_for(client, sup_a)
    response = client.post(
        reverse("enrolment:station_create"),
        {
            "code": "ST-BAD",
            "name": "x",
            "kind": "fixed",
            "unit_id": world.commune_a.pk,
            "finger_threshold": 40,
            "finger_retries": 3,
            "face_threshold": 90,
            "max_days_unsynced": 3,
            "max_unsent": 300,
            "device_profile": "[1, 2]",
        },
    )
    assert response.status_code == 400
    assert not Station.objects.filter(code="ST-BAD").exists()


def test_sessions_open_once_a_day_and_close(client, station_a, op_a):
    client_for(client, op_a)
    url = reverse("enrolment:session_open", kwargs={"pk": station_a.pk})
    assert client.post(url, {"place": "Nhà văn hoá thôn 3"}).status_code == 302
    assert client.post(url, {"place": "again"}).status_code == 302  # double click
    session = StationSession.objects.get()
    assert (session.place, session.closed_at) == ("Nhà văn hoá thôn 3", None)
    close = reverse("enrolment:session_close", kwargs={"pk": session.pk})
    assert client.post(close).status_code == 302
    session.refresh_from_db()
    assert session.closed_at is not None


# --- The wizard without JavaScript ------------------------------------------------------------


def test_a_whole_enrolment_through_plain_form_posts(
    client, card_procedures, station_a, op_a, citizen_a
):
    client_for(client, op_a)
    find = reverse("enrolment:find", kwargs={"pk": station_a.pk})
    page = client.get(find, {"q": citizen_a.id_number})
    assert page.status_code == 200
    [result] = page.context["results"]
    assert result["citizen"] == citizen_a
    app_id = uuid.uuid4()
    response = client.post(find, {"citizen_id": citizen_a.pk, "application_id": str(app_id)})
    application = Application.objects.get()
    assert application.pk == app_id
    assert response["Location"] == wizard_url(application)

    assert client.get(wizard_url(application)).context["step"] == "confirm"
    assert post_step(client, application, "confirm").status_code == 302
    assert fresh(application).step == "fingerprints"

    assert capture_group(client, application, "fingerprints").status_code == 302
    rolled = Capture.objects.filter(application=application, kind="rolled", accepted=True)
    assert sorted(rolled.values_list("position", flat=True)) == sorted(ef.FINGERS)
    assert post_step(client, application, "fingerprints").status_code == 302
    assert fresh(application).step == "face"

    assert capture_group(client, application, "face").status_code == 302
    assert set(
        Capture.objects.filter(
            application=application, accepted=True, kind__in=("face", "iris")
        ).values_list("kind", "position")
    ) == {("face", ""), ("iris", "R"), ("iris", "L")}
    face = Capture.objects.get(application=application, kind="face", accepted=True)
    image = client.get(
        reverse("enrolment:capture_image", kwargs={"pk": application.pk, "capture_id": face.pk})
    )
    assert image.status_code == 200
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert image["Cache-Control"] == "no-store, private"

    assert post_step(client, application, "face").status_code == 302
    assert post_step(client, application, "review").status_code == 302
    assert fresh(application).step == "sign"
    # Finishing without the signature is refused and changes nothing.
    before = snapshot(application)
    post_step(client, application, "sign")
    assert snapshot(application) == before

    assert capture_group(client, application, "signature").status_code == 302
    assert post_step(client, application, "sign").status_code == 302
    application = fresh(application)
    assert application.status == "completed"
    assert application.dossier is not None
    done = client.get(wizard_url(application))
    assert done.templates[0].name == "enrolment/wizard/done.html"
    body = done.content.decode()
    assert application.dossier.code in body
    assert reverse("enrolment:cc01", kwargs={"pk": application.pk}) in body
    assert reverse("enrolment:cc02", kwargs={"pk": application.pk}) in body


def test_double_post_of_a_step_changes_nothing(client, station_a, op_a, citizen_a):
    application = ef.in_progress_application(station=station_a, citizen=citizen_a)
    client_for(client, op_a)
    post_step(client, application, "confirm")
    after_first = snapshot(application)
    assert after_first[1] == "fingerprints"
    response = post_step(client, application, "confirm")
    assert response.status_code == 302
    assert snapshot(application) == after_first

    ef.capture_all(fresh(application), actor=op_a, step="fingerprints")
    post_step(client, application, "fingerprints")
    after_second = snapshot(application)
    post_step(client, application, "fingerprints")
    post_step(client, application, "confirm")
    assert snapshot(application) == after_second


def test_double_start_with_the_same_page_makes_one_application(client, station_a, op_a, citizen_a):
    client_for(client, op_a)
    find = reverse("enrolment:find", kwargs={"pk": station_a.pk})
    data = {"citizen_id": citizen_a.pk, "application_id": str(uuid.uuid4())}
    first = client.post(find, data)
    second = client.post(find, data)
    application = Application.objects.get()
    assert first["Location"] == second["Location"] == wizard_url(application)


def test_a_second_open_application_is_refused_naming_the_first(client, station_a, op_a, citizen_a):
    ef.in_progress_application(station=station_a, citizen=citizen_a)
    client_for(client, op_a)
    find = reverse("enrolment:find", kwargs={"pk": station_a.pk})
    response = client.post(
        find, {"citizen_id": citizen_a.pk, "application_id": str(uuid.uuid4())}, follow=True
    )
    assert Application.objects.count() == 1
    [message] = [str(m) for m in response.context["messages"]]
    assert "ST-A" in message


def test_a_capture_is_not_repeated_when_its_form_is_sent_twice(client, station_a, op_a, citizen_a):
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, until="fingerprints"
    )
    client_for(client, op_a)
    url = reverse("enrolment:capture", kwargs={"pk": application.pk})
    data = {"kind": "rolled", "position": "R1", "attempt": "1"}
    one = client.post(url, data, HTTP_ACCEPT="application/json").json()
    two = client.post(url, data, HTTP_ACCEPT="application/json").json()
    assert one == two
    [result] = one["results"]
    assert (result["ok"], result["kind"], result["position"], result["attempt"]) == (
        True,
        "rolled",
        "R1",
        1,
    )
    assert Capture.objects.filter(application=application).count() == 1


def test_a_correction_needs_evidence_and_goes_to_the_registry(client, station_a, op_a, citizen_a):
    application = ef.in_progress_application(station=station_a, citizen=citizen_a)
    client_for(client, op_a)
    before = snapshot(application)
    response = post_step(client, application, "confirm", full_name="Đặng Thị Hoà")
    assert response.status_code == 400
    assert response.context["confirm_form"].errors["evidence"] == [
        "Đề nghị điều chỉnh phải kèm giấy tờ chứng minh."
    ]
    assert snapshot(application) == before
    assert not Correction.objects.exists()

    response = post_step(
        client,
        application,
        "confirm",
        full_name="Đặng Thị Hoà",
        evidence="Trích lục khai sinh số 12/2024",
    )
    assert response.status_code == 302
    correction = Correction.objects.get()
    assert correction.changes["full_name"] == {"before": "Đặng Thị Hoa", "after": "Đặng Thị Hoà"}
    assert (correction.status, correction.evidence) == ("pending", "Trích lục khai sinh số 12/2024")
    application = fresh(application)
    assert application.step == "fingerprints"
    assert application.confirmed_data["full_name"] == "Đặng Thị Hoà"
    rows = client.get(wizard_url(application)).context["review_rows"]
    assert [(r["value"], r["corrected"]) for r in rows[:3]] == [
        ("Đặng Thị Hoà", True),
        ("17/05/1990", False),
        ("Nữ", False),
    ]


def test_a_missing_finger_needs_a_supervisor_who_types_the_right_password(
    client, world, station_a, op_a, sup_a, citizen_a
):
    station_a.device_profile = {**CLEAN, "missing_fingers": ["R5"]}
    station_a.save()
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, until="fingerprints"
    )
    client_for(client, op_a)
    response = capture_group(client, application, "fingerprints")
    assert response["Location"] == wizard_url(application) + "?exception=R5"
    page = client.get(response["Location"])
    assert page.context["exception_open"] is True
    assert page.context["exception_form"]["position"].value() == "R5"
    assert page.context["exception_form"]["reason"].value() == "missing"

    url = reverse("enrolment:exception", kwargs={"pk": application.pk})
    before = snapshot(application)
    wrong = client.post(
        url,
        {
            "position": "R5",
            "reason": "missing",
            "supervisor_username": "sup_a",
            "supervisor_password": "not-it",
        },
    )
    assert wrong.status_code == 400
    assert "not-it" not in wrong.content.decode()
    assert snapshot(application) == before
    right = client.post(
        url,
        {
            "position": "R5",
            "reason": "missing",
            "supervisor_username": "sup_a",
            "supervisor_password": factories.PASSWORD,
        },
    )
    assert right.status_code == 302
    row = Capture.objects.get(application=application, position="R5", exception="missing")
    assert row.exception_signed_by == sup_a
    assert post_step(client, application, "fingerprints").status_code == 302
    assert fresh(application).step == "face"


def test_a_worn_finger_is_retried_by_the_sequence(client, station_a, op_a, citizen_a):
    station_a.device_profile = {**CLEAN, "worn_fingers": ["L3"], "worn_retries": 2}
    station_a.save()
    application = ef.in_progress_application(
        station=station_a, citizen=citizen_a, until="fingerprints"
    )
    client_for(client, op_a)
    capture_group(client, application, "fingerprints")
    attempts = list(
        Capture.objects.filter(application=application, kind="rolled", position="L3")
        .order_by("attempt")
        .values_list("attempt", "accepted")
    )
    assert attempts == [(1, False), (2, False), (3, True)]
    timing = StepTiming.objects.get(application=application, step="fingerprints")
    assert timing.retries >= 2
    page = client.get(wizard_url(application))
    tile = next(t for t in page.context["tiles"] if t["position"] == "L3")
    assert (tile["state"], tile["attempts"]) == ("accepted", 3)


def test_cancel_needs_a_reason(client, station_a, op_a, citizen_a):
    application = ef.in_progress_application(station=station_a, citizen=citizen_a)
    client_for(client, op_a)
    url = reverse("enrolment:cancel", kwargs={"pk": application.pk})
    before = snapshot(application)
    client.post(url, {"reason": ""})
    assert snapshot(application) == before
    response = client.post(url, {"reason": "Công dân bỏ về"})
    assert response["Location"] == reverse("enrolment:find", kwargs={"pk": station_a.pk})
    assert fresh(application).status == "cancelled"


# --- Supervision ----------------------------------------------------------------------------


def test_stats_page_shows_the_completed_intakes(
    client, card_procedures, station_a, op_a, sup_a, citizen_a
):
    ef.completed_application(station=station_a, citizen=citizen_a)
    client_for(client, sup_a)
    response = client.get(reverse("enrolment:stats"), {"station": station_a.pk})
    assert response.status_code == 200
    assert response.context["stats"].count == 1
    assert [s["row"].step for s in response.context["steps"]] == [
        "confirm",
        "fingerprints",
        "face",
        "review",
        "sign",
    ]
    assert [g["row"].label for g in response.context["by_operator"]] == ["op_a"]


def test_approval_then_cards_ready_handed_over_and_exported(
    client, card_procedures, station_a, op_a, sup_a, citizen_a
):
    application = ef.completed_application(station=station_a, citizen=citizen_a)
    client_for(client, sup_a)
    home = client.get(reverse("enrolment:home"))
    assert [a.pk for a in home.context["awaiting"]] == [application.pk]
    client.post(reverse("enrolment:approve"), {"application_ids": [str(application.pk)]})
    card = Card.objects.get()
    assert (card.number, card.status) == (citizen_a.id_number, "in_production")

    page = client.get(reverse("enrolment:cards"))
    assert citizen_a.id_number in page.content.decode()
    export = client.post(
        reverse("enrolment:export"), {"unit_id": station_a.unit_id, "file_format": "csv"}
    )
    assert export.status_code == 200
    assert export["Content-Disposition"].startswith('attachment; filename="production-')
    assert citizen_a.id_number in export.content.decode("utf-8")
    card.refresh_from_db()
    assert card.batch is not None

    # The printed card arrives at the desk: the operator (who receives dossiers) moves it.
    client_for(client, op_a)
    client.post(reverse("enrolment:card_action"), {"action": "mark_ready", "card_ids": [card.pk]})
    card.refresh_from_db()
    assert card.status == "ready"
    client.post(reverse("enrolment:card_action"), {"hand_over": card.pk})
    card.refresh_from_db()
    assert card.status == "delivered"


def test_clerk_of_another_unit_may_not_export_or_act_on_cards(
    client, card_procedures, station_a, op_a, sup_a, citizen_a, bob
):
    application = ef.completed_application(station=station_a, citizen=citizen_a)
    services.application_approve(actor=sup_a, application_ids=[application.pk])
    card = Card.objects.get()
    client_for(client, bob)
    assert (
        client.post(
            reverse("enrolment:export"), {"unit_id": station_a.unit_id, "file_format": "csv"}
        ).status_code
        == 403
    )
    response = client.post(
        reverse("enrolment:card_action"), {"action": "mark_ready", "card_ids": [card.pk]}
    )
    assert response.status_code == 302  # bob's desk cannot see the card: nothing chosen
    card.refresh_from_db()
    assert (card.status, card.batch) == ("in_production", None)


def test_a_conflict_is_discarded_by_a_supervisor(client, station_a, op_a, sup_a, citizen_a):
    ef.in_progress_application(station=station_a, citizen=citizen_a)
    other = Application.objects.get()
    conflict = Application.objects.create(
        citizen=citizen_a,
        province_code=station_a.province_code,
        unit=station_a.unit,
        unit_path=station_a.unit_path,
        station=station_a,
        operator=op_a,
        kind="first",
        law="2023",
        status="conflict",
        step="sign",
        started_at=other.started_at,
        offline=True,
        conflict_with=other,
    )
    client_for(client, op_a)
    url = reverse("enrolment:conflict_resolve", kwargs={"pk": conflict.pk})
    assert client.post(url, {"keep": "0"}).status_code == 403
    assert fresh(conflict).status == "conflict"
    client_for(client, sup_a)
    page = client.get(reverse("enrolment:conflicts"))
    assert [a.pk for a in page.context["page"]] == [conflict.pk]
    assert client.post(url, {"keep": "0", "note": "trùng"}).status_code == 302
    assert fresh(conflict).status == "cancelled"


def test_a_young_child_needs_a_guardian_and_gives_no_biometrics(client, world, station_a, op_a):
    import datetime as dt

    from django.utils import timezone

    today = timezone.localdate()
    child = factories.citizen(
        unit=world.commune_a, full_name="Lê Minh Khang", birth_date=dt.date(today.year - 4, 1, 2)
    )
    client_for(client, op_a)
    find = reverse("enrolment:find", kwargs={"pk": station_a.pk})
    page = client.get(find, {"q": child.id_number})
    [result] = page.context["results"]
    age = 4 if (today.month, today.day) >= (1, 2) else 3
    assert (result["age"], result["guardian"]) == (age, True)
    assert 'name="guardian_name"' in page.content.decode()
    client.post(find, {"citizen_id": child.pk, "application_id": str(uuid.uuid4())})
    assert not Application.objects.exists()
    client.post(
        find,
        {
            "citizen_id": child.pk,
            "application_id": str(uuid.uuid4()),
            "guardian_name": "Lê Văn Bố",
            "guardian_id_number": "042090001234",
        },
    )
    application = Application.objects.get()
    assert application.guardian_name == "Lê Văn Bố"
    post_step(client, application, "confirm")
    assert fresh(application).step == "review"
    steps = client.get(wizard_url(application)).context["steps"]
    assert [(s["name"], s["skipped"]) for s in steps] == [
        ("confirm", False),
        ("fingerprints", True),
        ("face", True),
        ("review", False),
        ("sign", False),
    ]
