import pytest
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_3(world, alice):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/units",
        "/api/v1/units/{unit_id}",
        "/api/v1/units/{unit_id}/children",
        "/api/v1/units/{unit_id}/subtree",
        "/api/v1/me",
    } <= set(schema["paths"])
    assert set(schema["components"]["securitySchemes"]) == {"ActiveSessionAuth", "TokenAuth"}


def test_the_interactive_docs_are_served(world, alice):
    client = Client()
    client.force_login(alice)
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize("query", ["thạch hà", "THACH HA", "thach", "Thạch Hà", "  thach   ha "])
def test_unit_search_ignores_case_and_diacritics(world, hana, query):
    client = Client()
    client.force_login(hana)
    items = client.get("/api/v1/units", {"q": query}).json()["items"]
    assert [item["name"] for item in items] == ["Xã Thạch Hà"]


def test_children_are_listed_by_name(world, hana):
    client = Client()
    client.force_login(hana)
    items = client.get(f"/api/v1/units/{world.hatinh.pk}/children").json()["items"]
    assert [item["name"] for item in items] == ["Xã Cẩm Xuyên", "Xã Thạch Hà"]


def _queries(client, url, **params) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_unit_lists_cost_the_same_number_of_queries_for_2_or_32_units(world, hana):
    from tests import factories

    client = Client()
    client.force_login(hana)
    url = f"/api/v1/units/{world.hatinh.pk}/children"
    few = (_queries(client, url, limit=100), _queries(client, "/"))
    for i in range(30):
        factories.unit(parent=world.hatinh, code=f"19{i:03d}", name=f"Xã Số {i}")
    many = (_queries(client, url, limit=100), _queries(client, "/"))
    assert many == few
    assert client.get(url, {"limit": 100}).json()["count"] == 32
