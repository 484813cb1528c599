"""The citizen search API: scoped, paginated, audited reads."""

from __future__ import annotations

import pytest
from django.test import Client

from cancuoc.core.models import AuditEntry
from tests.registry.test_search import people  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_search_returns_minimal_fields_and_a_bounded_count(hana, people):  # noqa: F811
    body = _client(hana).get("/api/v1/registry/citizens", {"q": "nguyen thi hang"}).json()
    hang = people["hang"]
    assert body["count"] == 2 and body["capped"] is False
    assert body["limit"] == 50 and body["offset"] == 0
    assert body["items"][1] == {
        "id": hang.pk,
        "full_name": "Nguyễn Thị Hằng",
        "birth_year": 1990,
        "sex": "F",
        "masked_id_number": hang.id_number[:3] + "••••••" + hang.id_number[-3:],
        "unit_name": "Xã Thạch Hà",
        "deceased": False,
    }
    assert AuditEntry.objects.filter(action="citizen.search", actor=hana).count() == 1


def test_search_paginates_with_limit_and_offset(hana, people):  # noqa: F811
    client = _client(hana)
    first = client.get("/api/v1/registry/citizens", {"q": "hang", "limit": 2}).json()
    rest = client.get("/api/v1/registry/citizens", {"q": "hang", "limit": 2, "offset": 2}).json()
    assert [i["full_name"] for i in first["items"] + rest["items"]] == [
        "Lê Thị Thu Hằng",
        "Nguyễn Thị Hằng",
        "Nguyễn Thị Hằng",
    ]
    assert client.get("/api/v1/registry/citizens", {"limit": 0}).status_code == 422


def test_alice_never_finds_commune_b_through_the_api(world, alice, people):  # noqa: F811
    client = _client(alice)
    items = client.get("/api/v1/registry/citizens", {"q": "nguyen thi hang"}).json()["items"]
    assert [i["id"] for i in items] == [people["hang"].pk]
    by_id = client.get("/api/v1/registry/citizens", {"q": people["hang_b"].id_number}).json()
    assert by_id["items"] == [] and by_id["count"] == 0
    response = client.get("/api/v1/registry/citizens", {"q": "hang", "unit": world.commune_b.pk})
    assert response.status_code == 404


def test_get_returns_the_whole_record_and_is_audited(alice, people):  # noqa: F811
    hang = people["hang"]
    body = _client(alice).get(f"/api/v1/registry/citizens/{hang.pk}").json()
    assert body["id_number"] == hang.id_number
    assert body["birth_date"] == "1990-05-17"
    assert body["documents"] == [
        {
            "kind": "cmnd9",
            "number": "183456789",
            "issue_date": None,
            "issue_place": "",
            "expiry_date": None,
            "status": "valid",
        }
    ]
    assert body["former_numbers"] == []
    assert body["household"]["number"] == "42181000001"
    assert [(m["full_name"], m["relationship"]) for m in body["household"]["members"]] == [
        ("Nguyễn Thị Hằng", "head"),
        ("Trần Văn Hùng", "spouse"),
    ]
    (entry,) = AuditEntry.objects.filter(action="citizen.view")
    assert (entry.actor, entry.object_id) == (alice, str(hang.pk))


def test_get_outside_the_scope_is_404_and_writes_nothing(alice, people):  # noqa: F811
    response = _client(alice).get(f"/api/v1/registry/citizens/{people['hang_b'].pk}")
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="citizen.view").exists()


def test_anonymous_callers_are_refused(people):  # noqa: F811
    assert Client().get("/api/v1/registry/citizens", {"q": "hang"}).status_code == 401
    assert Client().get(f"/api/v1/registry/citizens/{people['hang'].pk}").status_code == 401
    assert not AuditEntry.objects.exists()


def test_the_schema_documents_both_endpoints(world):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/registry/citizens", "/api/v1/registry/citizens/{citizen_id}"} <= set(paths)
