"""The desk API: scope and roles on both sides, double submission, refusals, public catalogue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cancuoc.dossiers.models import Dossier, DossierTransition
from tests.dossiers.factories import Desk, procedure, received_dossier

pytestmark = pytest.mark.django_db

API = "/api/v1/dossiers"
LIST = f"{API}/"  # the root of a nested ninja router ends with a slash


@pytest.fixture
def desk_a(world) -> Desk:
    return Desk(world.commune_a, "a")


@pytest.fixture
def birth(db):
    return procedure(code="1.000001", name="Đăng ký khai sinh", days=3, fee=50_000)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def receipt(**overrides):
    body = {
        "procedure_code": "1.000001",
        "applicant_name": "Trần Thị Bình",
        "applicant_phone": "0912345678",
        "submission_key": "api-key-1",
    }
    body.update(overrides)
    return body


def test_anonymous_callers_get_nothing_but_the_catalogue(world, birth):
    client = Client()
    assert client.get(LIST).status_code == 401
    assert client.post(LIST, receipt(), content_type="application/json").status_code == 401
    assert Dossier.objects.count() == 0

    catalogue = client.get(f"{API}/procedures")
    assert catalogue.status_code == 200
    [item] = catalogue.json()
    assert (item["code"], item["processing_days"], item["fee"]) == ("1.000001", 3, 50_000)
    assert item["required_documents"] == ["Tờ khai"]
    one = client.get(f"{API}/procedures/1.000001").json()
    assert [v["processing_days"] for v in one["versions"]] == [3]
    assert client.get(f"{API}/procedures/0.000000").status_code == 404


def test_a_clerk_receives_through_the_api_and_a_retry_creates_nothing(desk_a, birth):
    client = login(desk_a.clerk)
    created = client.post(LIST, receipt(), content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    dossier = Dossier.objects.get()
    assert body["code"] == dossier.code
    assert body["due_date"] == dossier.due_date.isoformat()
    assert (body["status"], body["fee_amount"], body["fee_status"]) == ("received", 50_000, "due")
    assert body["allowed_actions"] == ["transfer", "withdraw", "route"]

    retry = client.post(LIST, receipt(applicant_name="Khác"), content_type="application/json")
    assert retry.status_code == 409
    assert retry.json()["dossier_id"] == dossier.pk
    assert Dossier.objects.count() == 1
    assert DossierTransition.objects.count() == 1


def test_the_list_and_reads_stay_in_scope(desk_a, bob, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    mine = login(desk_a.clerk).get(LIST).json()
    assert [item["code"] for item in mine["items"]] == [dossier.code]
    other = login(bob)
    assert other.get(LIST).json() == {"items": [], "count": 0}
    assert other.get(f"{API}/{dossier.pk}").status_code == 404
    assert other.get(f"{API}/{dossier.pk}/history").status_code == 404


def test_bob_cannot_act_on_commune_a_dossier_and_nothing_changes(desk_a, bob, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    response = login(bob).post(
        f"{API}/{dossier.pk}/act", {"action": "transfer"}, content_type="application/json"
    )
    assert response.status_code == 404
    dossier.refresh_from_db()
    assert dossier.status == "received"
    assert dossier.transitions.count() == 1


def test_a_wrong_role_gets_403_and_an_illegal_step_400_and_nothing_changes(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    denied = login(desk_a.appraiser).post(
        f"{API}/{dossier.pk}/act", {"action": "transfer"}, content_type="application/json"
    )
    assert denied.status_code == 403
    illegal = login(desk_a.approver).post(
        f"{API}/{dossier.pk}/act", {"action": "approve"}, content_type="application/json"
    )
    assert illegal.status_code == 400
    assert "“" in illegal.json()["detail"]
    unknown = login(desk_a.clerk).post(
        f"{API}/{dossier.pk}/act", {"action": "teleport"}, content_type="application/json"
    )
    assert unknown.status_code == 400
    dossier.refresh_from_db()
    assert dossier.status == "received" and dossier.transitions.count() == 1


def test_the_whole_path_through_the_api_with_its_history(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    steps = [
        (desk_a.clerk, {"action": "transfer"}),
        (desk_a.clerk, {"action": "supplement_request", "missing": ["Giấy chứng sinh"]}),
        (desk_a.clerk, {"action": "supplement_receive"}),
        (desk_a.approver, {"action": "approve", "note": "Đủ điều kiện"}),
        (desk_a.approver, {"action": "sign"}),
        (desk_a.clerk, {"action": "result_ready"}),
        (desk_a.clerk, {"action": "fee_pay", "receipt_number": "BL-7"}),
        (desk_a.clerk, {"action": "return", "method": "counter"}),
    ]
    for user, body in steps:
        response = login(user).post(
            f"{API}/{dossier.pk}/act", body, content_type="application/json"
        )
        assert response.status_code == 200, (body, response.json())
    final = response.json()
    assert (final["status"], final["fee_status"], final["allowed_actions"]) == (
        "returned",
        "paid",
        [],
    )
    history = login(desk_a.clerk).get(f"{API}/{dossier.pk}/history").json()
    assert [h["action"] for h in history] == [
        "receive",
        "transfer",
        "supplement_request",
        "supplement_receive",
        "approve",
        "sign",
        "result_ready",
        "fee_pay",
        "return",
    ]
    assert history[2]["data"]["missing"] == ["Giấy chứng sinh"]
    assert history[4]["note"] == "Đủ điều kiện"


def test_the_api_applies_the_appraiser_step_only_for_appraisers(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    login(desk_a.clerk).post(
        f"{API}/{dossier.pk}/act", {"action": "transfer"}, content_type="application/json"
    )
    clerk_try = login(desk_a.clerk).post(
        f"{API}/{dossier.pk}/act", {"action": "appraise"}, content_type="application/json"
    )
    assert clerk_try.status_code == 403
    ok = login(desk_a.appraiser).post(
        f"{API}/{dossier.pk}/act", {"action": "appraise"}, content_type="application/json"
    )
    assert ok.json()["status"] == "in_appraisal"


def test_the_list_filters_and_costs_a_fixed_number_of_queries(desk_a, birth):
    client = login(desk_a.clerk)
    from django.utils import timezone

    old = received_dossier(
        actor=desk_a.clerk, proc=birth, at=timezone.now() - dt.timedelta(days=30)
    )
    received_dossier(actor=desk_a.clerk, proc=birth, applicant_name="Phạm Thị Dung")
    overdue = client.get(LIST, {"term": "overdue"}).json()
    assert [i["id"] for i in overdue["items"]] == [old.pk]
    assert client.get(LIST, {"status": "nonsense"}).status_code == 400
    with CaptureQueriesContext(connection) as two:
        client.get(LIST)
    for _ in range(3):
        received_dossier(actor=desk_a.clerk, proc=birth)
    with CaptureQueriesContext(connection) as five:
        assert client.get(LIST).json()["count"] == 5
    assert len(five) == len(two)
