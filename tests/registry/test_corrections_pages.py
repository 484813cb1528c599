"""Correction pages and API: propose from a citizen, decide, queues, scope."""

from __future__ import annotations

import datetime as dt

import pytest

from cancuoc.accounts.roles import Role
from cancuoc.registry.models import Citizen, Correction, LifeStatus
from tests import factories


@pytest.fixture
def dan(world):
    return factories.user(unit=world.commune_a, role=Role.ONE_STOP_CLERK, username="dan")


@pytest.fixture
def an(world):
    return factories.citizen(
        unit=world.commune_a,
        full_name="Nguyễn Văn An",
        birth_date=dt.date(1990, 5, 17),
        id_number="042090123456",
        place_of_origin="Thạch Hà",
    )


def form_data(citizen, **changes):
    data = {
        "kind": "correct",
        "id_number": citizen.id_number,
        "full_name": citizen.full_name,
        "birth_date": citizen.birth_date.isoformat(),
        "birth_precision": citizen.birth_precision,
        "sex": citizen.sex,
        "ethnicity": citizen.ethnicity,
        "religion": citizen.religion,
        "nationality": citizen.nationality,
        "birth_registration_place": citizen.birth_registration_place,
        "place_of_origin": citizen.place_of_origin,
        "permanent_address": citizen.permanent_address,
        "current_address": citizen.current_address,
        "phone": citizen.phone,
        "death_date": "",
        "reason": "Sai chính tả",
        "evidence": "Giấy khai sinh",
    }
    data.update(changes)
    return data


def test_the_form_proposes_only_what_was_edited(client, dan, an):
    client.force_login(dan)
    url = f"/registry/citizens/{an.pk}/corrections/new/"
    page = client.get(url)
    assert page.status_code == 200 and 'value="Nguyễn Văn An"' in page.content.decode()
    response = client.post(url, form_data(an, full_name="Nguyễn Văn Anh"))
    correction = Correction.objects.get()
    assert response.status_code == 302 and response["Location"] == (
        f"/registry/corrections/{correction.pk}/"
    )
    assert correction.changes == {
        "full_name": {"before": "Nguyễn Văn An", "after": "Nguyễn Văn Anh"}
    }
    assert (correction.proposed_by, correction.reason, correction.evidence) == (
        dan,
        "Sai chính tả",
        "Giấy khai sinh",
    )


def test_the_form_shows_a_service_refusal(client, dan, an):
    client.force_login(dan)
    response = client.post(f"/registry/citizens/{an.pk}/corrections/new/", form_data(an))
    assert response.status_code == 200
    assert "Đề xuất không thay đổi thông tin nào." in response.content.decode()
    assert Correction.objects.count() == 0


def test_a_death_is_registered_through_the_pages(client, dan, alice, an):
    client.force_login(dan)
    client.post(
        f"/registry/citizens/{an.pk}/corrections/new/",
        form_data(an, kind="death", death_date="2025-02-01", full_name="ignored"),
    )
    correction = Correction.objects.get()
    assert set(correction.changes) == {"life_status", "death_date"}
    client.force_login(alice)
    detail = client.get(f"/registry/corrections/{correction.pk}/").content.decode()
    assert 'data-action="approve"' in detail
    client.post(f"/registry/corrections/{correction.pk}/decide/", {"action": "approve"})
    citizen = Citizen.objects.get(pk=an.pk)
    assert (citizen.life_status, citizen.death_date, citizen.full_name) == (
        LifeStatus.DECEASED,
        dt.date(2025, 2, 1),
        "Nguyễn Văn An",
    )


def test_the_proposer_sees_no_approve_button_and_cannot_approve(client, alice, an):
    client.force_login(alice)
    client.post(
        f"/registry/citizens/{an.pk}/corrections/new/", form_data(an, full_name="Nguyễn Văn Anh")
    )
    correction = Correction.objects.get()
    detail = client.get(f"/registry/corrections/{correction.pk}/").content.decode()
    assert 'data-action="approve"' not in detail and 'data-action="withdraw"' in detail
    response = client.post(
        f"/registry/corrections/{correction.pk}/decide/", {"action": "approve"}, follow=True
    )
    assert "Bạn không thể phê duyệt đề xuất của chính mình." in response.content.decode()
    assert Citizen.objects.get(pk=an.pk).full_name == "Nguyễn Văn An"
    assert Correction.objects.get().status == Correction.Status.PENDING


def test_out_of_scope_pages_are_not_found(client, dan, bob, an):
    client.force_login(dan)
    client.post(
        f"/registry/citizens/{an.pk}/corrections/new/", form_data(an, full_name="Nguyễn Văn Anh")
    )
    correction = Correction.objects.get()
    client.force_login(bob)
    assert client.get(f"/registry/citizens/{an.pk}/corrections/new/").status_code == 404
    assert client.get(f"/registry/corrections/{correction.pk}/").status_code == 404
    response = client.post(f"/registry/corrections/{correction.pk}/decide/", {"action": "withdraw"})
    assert response.status_code == 404
    assert "Nguyễn Văn An" not in client.get("/registry/corrections/?tab=all").content.decode()
    assert Correction.objects.get().status == Correction.Status.PENDING


def test_the_queues(client, dan, alice, an):
    client.force_login(dan)
    client.post(
        f"/registry/citizens/{an.pk}/corrections/new/", form_data(an, full_name="Nguyễn Văn Anh")
    )
    mine = client.get("/registry/corrections/").content.decode()
    assert "Nguyễn Văn An" in mine and "Chờ phê duyệt" in mine
    client.force_login(alice)
    pending = client.get("/registry/corrections/").content.decode()
    assert "Chờ tôi phê duyệt" in pending and "Nguyễn Văn An" in pending


def test_the_api_round_trip(client, dan, alice, carl, an):
    client.force_login(dan)
    created = client.post(
        "/api/v1/registry/corrections",
        {
            "citizen_id": an.pk,
            "kind": "correct",
            "changes": {"phone": "0987654321"},
            "reason": "Số mới",
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["proposed_by"], body["changes"]) == (
        "pending",
        "dan",
        {"phone": {"before": "", "after": "0987654321"}},
    )
    pk = body["id"]
    self_approval = client.post(
        f"/api/v1/registry/corrections/{pk}/approve", {}, content_type="application/json"
    )
    assert self_approval.status_code == 403
    client.force_login(carl)
    outsider = client.post(
        f"/api/v1/registry/corrections/{pk}/approve", {}, content_type="application/json"
    )
    assert outsider.status_code == 404
    client.force_login(alice)
    queue = client.get("/api/v1/registry/corrections?to_decide=true").json()
    assert [item["id"] for item in queue["items"]] == [pk]
    approved = client.post(
        f"/api/v1/registry/corrections/{pk}/approve",
        {"note": "ok"},
        content_type="application/json",
    )
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "alice")
    assert Citizen.objects.get(pk=an.pk).phone == "0987654321"
    invalid = client.post(
        "/api/v1/registry/corrections",
        {"citizen_id": an.pk, "kind": "correct", "changes": {"phone": "1"}, "reason": "x"},
        content_type="application/json",
    )
    assert invalid.status_code == 400
    assert invalid.json()["detail"] == "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0."
