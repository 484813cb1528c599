"""Rating the service: after return, once, with an event for the reports."""

from __future__ import annotations

import pytest
from django.test import Client

from cancuoc.core.models import DailyRollup, Event
from cancuoc.portal import services
from cancuoc.portal.models import Rating
from tests.portal import builders

pytestmark = pytest.mark.django_db


def _verified_client(code: str) -> Client:
    client = Client()
    assert client.post("/portal/", {"code": code, "factor": "5678"}).status_code == 302
    return client


def test_a_returned_dossier_can_be_rated_once(world, alice):
    d = builders.returned(unit=world.commune_a, officer=alice)
    client = _verified_client(d.code)
    url = f"/portal/dossiers/{d.code}/"
    page = client.get(url).content.decode()
    for value in ("very_satisfied", "satisfied", "not_satisfied"):
        assert f'name="score" value="{value}"' in page
    response = client.post(url, {"score": "very_satisfied", "comment": "Cán bộ nhiệt tình."})
    assert response.status_code == 302
    rating = Rating.objects.get()
    assert (rating.dossier, rating.score, rating.comment, rating.unit_path) == (
        d,
        "very_satisfied",
        "Cán bộ nhiệt tình.",
        world.commune_a.path,
    )
    event = Event.objects.get(kind="portal.rating")
    assert (event.subject, event.measures, event.unit) == (
        "proc:1.001612",
        {"rating_very_satisfied": 1},
        world.commune_a,
    )
    assert (
        DailyRollup.objects.get(measure="rating_very_satisfied", subject__startswith="proc:").value
        == 1
    )
    after = client.get(url).content.decode()
    assert 'name="score"' not in after
    assert "Ông/bà đã đánh giá dịch vụ này. Xin cảm ơn." in after
    again = client.post(url, {"score": "not_satisfied"})
    assert again.status_code == 200
    assert "Hồ sơ này đã được đánh giá. Xin cảm ơn." in again.content.decode()
    assert Rating.objects.count() == 1
    assert Event.objects.filter(kind="portal.rating").count() == 1


def test_a_dossier_still_in_progress_cannot_be_rated(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    client = _verified_client(d.code)
    url = f"/portal/dossiers/{d.code}/"
    assert 'name="score"' not in client.get(url).content.decode()
    response = client.post(url, {"score": "satisfied"})
    assert "Ông/bà có thể đánh giá khi đã nhận kết quả." in response.content.decode()
    assert not Rating.objects.exists()
    assert not Event.objects.filter(kind="portal.rating").exists()


def test_rating_needs_a_verified_dossier(world, alice):
    d = builders.returned(unit=world.commune_a, officer=alice)
    response = Client().post(f"/portal/dossiers/{d.code}/", {"score": "satisfied"})
    assert response.status_code == 302
    assert not Rating.objects.exists()


def test_the_service_refuses_an_unknown_score(world, alice):
    d = builders.returned(unit=world.commune_a, officer=alice)
    with pytest.raises(services.RatingRefused):
        services.rating_submit(dossier_id=d.pk, score="perfect")
    assert not Rating.objects.exists()
