"""Portal API: public lookup, rating and complaint; scoped complaint handling."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cancuoc.core.models import AuditEntry
from cancuoc.portal.models import Complaint, Rating
from tests.portal import builders

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.urls_api")]

BASE = "/api/test/portal"


def _post(client: Client, path: str, body: dict):
    return client.post(f"{BASE}{path}", json.dumps(body), content_type="application/json")


def test_public_lookup_returns_the_citizens_view_and_nothing_more(world, alice):
    d = builders.returned(unit=world.commune_a, officer=alice)
    response = _post(Client(), "/lookup", {"code": d.code, "factor": "5678"})
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["status"], body["timeliness"], body["can_rate"]) == (
        d.code,
        "returned",
        "early",
        True,
    )
    assert body["due_date"] == "2025-08-06"
    assert [s["label"] for s in body["steps"]] == [
        "Tiếp nhận hồ sơ",
        "Chuyển đến bộ phận giải quyết",
        "Đang thẩm định",
        "Đã phê duyệt",
        "Đã ký, đóng dấu",
        "Có kết quả",
        "Đã trả kết quả",
    ]
    assert "alice" not in response.content.decode()
    assert builders.PHONE not in response.content.decode()


def test_public_lookup_failures_are_generic_and_throttled(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    client = Client(REMOTE_ADDR="10.8.8.8")
    wrong = _post(client, "/lookup", {"code": d.code, "factor": "0000"})
    unknown = _post(client, "/lookup", {"code": "XX-1", "factor": "5678"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    for guess in ("0001", "0002", "0003"):
        _post(client, "/lookup", {"code": d.code, "factor": guess})
    locked = _post(client, "/lookup", {"code": d.code, "factor": "5678"})
    assert locked.status_code == 429


def test_public_rating_once_and_complaint(world, alice):
    d = builders.returned(unit=world.commune_a, officer=alice)
    client = Client()
    body = {"code": d.code, "factor": "001234", "score": "satisfied", "comment": ""}
    assert _post(client, "/ratings", body).status_code == 201
    again = _post(client, "/ratings", body)
    assert again.status_code == 400
    assert again.json() == {"detail": "Hồ sơ này đã được đánh giá. Xin cảm ơn."}
    assert Rating.objects.count() == 1
    filed = _post(
        client,
        "/complaints",
        {
            "kind": "process",
            "text": "Phí thu không đúng niêm yết.",
            "contact_name": "Nguyễn Thị Hằng",
            "dossier_code": d.code,
            "factor": "5678",
        },
    )
    assert filed.status_code == 201
    assert filed.json()["unit_name"] == "Xã Thạch Hà"
    assert Complaint.objects.get().dossier == d


def test_officer_endpoints_are_scoped(world, alice, carl):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    _post(
        Client(),
        "/complaints",
        {"kind": "feedback", "text": "Tốt.", "contact_name": "A", "unit_id": world.commune_a.pk},
    )
    complaint = Complaint.objects.get()
    assert complaint.dossier is None and d.pk
    anonymous = Client().get(f"{BASE}/complaints")
    assert anonymous.status_code == 401
    alice_client, carl_client = Client(), Client()
    alice_client.force_login(alice)
    carl_client.force_login(carl)
    assert alice_client.get(f"{BASE}/complaints").json()["count"] == 1
    assert carl_client.get(f"{BASE}/complaints").json()["count"] == 0
    assert carl_client.get(f"{BASE}/complaints/{complaint.pk}").status_code == 404
    denied = _post(carl_client, f"/complaints/{complaint.pk}/handle", {"status": "in_progress"})
    assert denied.status_code == 404
    done = _post(
        alice_client,
        f"/complaints/{complaint.pk}/handle",
        {"status": "answered", "answer": "Cảm ơn."},
    )
    assert done.status_code == 200
    assert done.json()["status"] == "answered"


def test_public_complaints_are_limited_per_address_with_429(world, settings):
    settings.PORTAL_COMPLAINT_MAX_PER_ADDRESS = 2
    body = {"kind": "feedback", "text": "Tốt.", "contact_name": "A", "unit_id": world.commune_a.pk}
    client = Client(REMOTE_ADDR="10.8.9.1")
    assert [_post(client, "/complaints", body).status_code for _ in range(2)] == [201, 201]
    refused = _post(client, "/complaints", body)
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "Đã có quá nhiều phản ánh, kiến nghị được gửi từ kết nối này. "
        "Vui lòng thử lại sau 60 phút."
    }
    assert Complaint.objects.count() == 2
    assert _post(Client(REMOTE_ADDR="10.8.9.2"), "/complaints", body).status_code == 201


def test_reading_complaints_through_the_api_is_audited(world, alice, carl):
    body = {"kind": "feedback", "text": "Tốt.", "contact_name": "A", "unit_id": world.commune_a.pk}
    _post(Client(), "/complaints", body)
    complaint = Complaint.objects.get()
    alice_client, carl_client = Client(), Client()
    alice_client.force_login(alice)
    carl_client.force_login(carl)
    listing = alice_client.get(f"{BASE}/complaints", {"status": "received"})
    assert listing.json()["items"][0]["contact_name"] == "A"
    entry = AuditEntry.objects.get(action="complaint.list")
    assert (entry.actor, entry.unit, entry.detail) == (
        alice,
        world.commune_a,
        {"status": "received", "overdue_on": "", "matches": 1},
    )
    assert alice_client.get(f"{BASE}/complaints/{complaint.pk}").status_code == 200
    view = AuditEntry.objects.get(action="complaint.view")
    assert (view.actor, view.object_id, view.unit) == (alice, str(complaint.pk), world.commune_a)
    # Out of scope: 404 and nothing read, nothing audited.
    assert carl_client.get(f"{BASE}/complaints/{complaint.pk}").status_code == 404
    assert AuditEntry.objects.filter(action="complaint.view").count() == 1
