"""API writes: a bearer token needs no CSRF token; a browser session still does."""

import json

from django.test import Client

from cancuoc.accounts.services import api_token_create
from cancuoc.registry.models import QualityRun
from tests import factories


def test_an_integration_writes_with_its_bearer_token_and_no_csrf_token(world, hana, root):
    _, raw = api_token_create(actor=root, user=hana, name="nightly checks")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/registry/quality/runs",
        data=json.dumps({"unit_id": world.commune_a.pk}),
        content_type="application/json",
        headers={"authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 202, response.content
    assert QualityRun.objects.filter(unit=world.commune_a).count() == 1


def test_a_session_write_without_its_csrf_token_is_refused_and_changes_nothing(world, hana):
    client = Client(enforce_csrf_checks=True)
    client.login(username="hana", password=factories.PASSWORD)
    response = client.post(
        "/api/v1/registry/quality/runs",
        data=json.dumps({"unit_id": world.commune_a.pk}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert QualityRun.objects.count() == 0


def test_a_wrong_bearer_token_is_refused_and_changes_nothing(world, hana):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/registry/quality/runs",
        data=json.dumps({"unit_id": world.commune_a.pk}),
        content_type="application/json",
        headers={"authorization": "Bearer cc_not-a-real-token"},
    )
    assert response.status_code in (401, 403)
    assert QualityRun.objects.count() == 0
