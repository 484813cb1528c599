"""The search page (with and without script), the citizen page and the household page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cancuoc.core.models import AuditEntry
from tests import factories
from tests.registry.test_search import people  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_search_page_has_the_box_and_the_results_table(alice, people):  # noqa: F811
    body = _client(alice).get("/registry/", {"q": "nguyen thi hang"}).content.decode()
    assert 'id="q"' in body and 'name="q"' in body and 'value="nguyen thi hang"' in body
    assert '<table id="results"' in body
    assert f'href="/registry/citizens/{people["hang"].pk}/"' in body
    assert f'href="/registry/citizens/{people["hang_b"].pk}/"' not in body
    assert "js/search.js" in body
    # Lists show a masked number only.
    assert people["hang"].id_number not in body


def test_the_partial_response_is_only_the_fragment(alice, people):  # noqa: F811
    response = _client(alice).get("/registry/", {"q": "hằng", "partial": "1"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and '<table id="results"' in body
    assert body.count('href="/registry/citizens/') == 2
    assert "2 công dân khớp" in body


def test_a_capped_search_asks_to_narrow_down(alice, people, monkeypatch):  # noqa: F811
    from cancuoc.registry import selectors

    monkeypatch.setattr(selectors, "SEARCH_CAP", 1)
    body = _client(alice).get("/registry/", {"q": "hang", "partial": "1"}).content.decode()
    assert "Hơn 1 công dân khớp" in body


def test_search_pages_link_previous_and_next(alice, people, monkeypatch):  # noqa: F811
    from cancuoc.registry import selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 1)
    body = _client(alice).get("/registry/", {"q": "hang", "page": "2"}).content.decode()
    assert "q=hang&amp;page=1" in body and "q=hang&amp;page=3" not in body
    assert body.count('href="/registry/citizens/') == 1


def test_the_empty_page_invites_a_query_and_audits_nothing(alice, people):  # noqa: F811
    body = _client(alice).get("/registry/").content.decode()
    assert '<table id="results"' in body
    assert not AuditEntry.objects.exists()


def test_the_page_needs_a_login(people):  # noqa: F811
    response = Client().get("/registry/", {"q": "hang"})
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_unit_outside_the_scope_is_not_found(world, alice, people):  # noqa: F811
    response = _client(alice).get("/registry/", {"q": "hang", "unit": world.commune_b.pk})
    assert response.status_code == 404


def test_the_unit_filter_lists_the_province_communes(world, hana, people):  # noqa: F811
    body = _client(hana).get("/registry/").content.decode()
    assert '<select name="unit"' in body
    assert f'value="{world.commune_a.pk}"' in body and f'value="{world.commune_c.pk}"' not in body


def test_the_fragment_costs_the_same_queries_for_2_or_20_results(world, alice, people):  # noqa: F811
    client = _client(alice)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/registry/", {"q": "van", "partial": "1"}).status_code == 200
        return len(captured)

    count()  # warm the per-process word statistics (PostgreSQL reads them once)
    few = count()
    for i in range(18):
        factories.citizen(unit=world.commune_a, full_name=f"Phạm Văn Số {i}")
    assert count() == few


def test_the_citizen_page_shows_the_record_and_is_audited(alice, people):  # noqa: F811
    hang = people["hang"]
    body = _client(alice).get(f"/registry/citizens/{hang.pk}/").content.decode()
    assert hang.id_number in body and "17/05/1990" in body
    assert "183456789" in body  # the old CMND
    assert "Trần Văn Hùng" in body and f'href="/registry/households/{people["household"].pk}/"'
    assert f'href="/registry/citizens/{people["hung"].pk}/"' in body
    (entry,) = AuditEntry.objects.filter(action="citizen.view")
    assert (entry.actor, entry.object_id) == (alice, str(hang.pk))


def test_the_citizen_page_lists_former_numbers(alice, people):  # noqa: F811
    body = _client(alice).get(f"/registry/citizens/{people['hung'].pk}/").content.decode()
    assert "020090000777" in body and "sai mã tỉnh" in body


def test_a_citizen_outside_the_scope_is_not_found_and_nothing_is_written(alice, people):  # noqa: F811
    response = _client(alice).get(f"/registry/citizens/{people['hang_b'].pk}/")
    assert response.status_code == 404
    assert not AuditEntry.objects.exists()


def test_the_household_page_lists_members_and_is_audited(alice, bob, people):  # noqa: F811
    household = people["household"]
    body = _client(alice).get(f"/registry/households/{household.pk}/").content.decode()
    assert "42181000001" in body and "Thôn 1" in body
    assert body.index("Nguyễn Thị Hằng") < body.index("Trần Văn Hùng")
    assert AuditEntry.objects.filter(action="household.view", actor=alice).count() == 1
    assert _client(bob).get(f"/registry/households/{household.pk}/").status_code == 404
    assert AuditEntry.objects.filter(action="household.view").count() == 1


def test_an_address_that_names_its_unit_is_not_followed_by_it_again(world, alice):
    citizen = factories.citizen(
        unit=world.commune_a, full_name="Võ Thị Lan", permanent_address="Thôn 2, Xã Thạch Hà"
    )
    other = factories.citizen(
        unit=world.commune_a, full_name="Võ Văn Nam", permanent_address="Thôn 3"
    )
    body = _client(alice).get(f"/registry/citizens/{citizen.pk}/").content.decode()
    assert "Thôn 2, Xã Thạch Hà</dd>" in body and "Xã Thạch Hà, Xã Thạch Hà" not in body
    body = _client(alice).get(f"/registry/citizens/{other.pk}/").content.decode()
    assert "Thôn 3, Xã Thạch Hà" in body
