"""Looking up a dossier: code + second factor, nothing leaked, throttled, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cancuoc.core.models import AuditEntry
from cancuoc.portal.models import ThrottleCounter
from tests.portal import builders
from tests.portal.builders import at

pytestmark = pytest.mark.django_db

GENERIC = "Không có hồ sơ nào khớp với mã và các chữ số này. Vui lòng kiểm tra lại cả hai."
LOCKED = "Bạn đã thử quá nhiều lần. Vui lòng thử lại sau 15 phút."


def _lookup(client: Client, code: str, factor: str):
    return client.post("/portal/", {"code": code, "factor": factor})


def _page(client: Client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"]).content.decode()


def test_the_right_phone_digits_open_the_public_page_without_officer_data(world, alice):
    d = builders.dossier(
        unit=world.commune_a,
        officer=alice,
        status="supplement",
        steps=[
            ("transfer", "transferred", at(2025, 8, 1, 10), {"assignee": "alice"}),
            (
                "supplement_request",
                "supplement",
                at(2025, 8, 1, 11),
                {"missing": ["Giấy chứng sinh bản chính"]},
            ),
        ],
        note="Ghi chú nội bộ của cán bộ",
    )
    client = Client(REMOTE_ADDR="10.1.1.1")
    response = _lookup(client, d.code.lower(), "5678")
    assert response["Location"] == f"/portal/dossiers/{d.code}/"
    html = _page(client, response)
    assert d.code in html
    assert "Đăng ký khai sinh" in html
    assert "Đang chờ ông/bà bổ sung giấy tờ" in html
    assert "Yêu cầu bổ sung giấy tờ" in html
    assert "Giấy chứng sinh bản chính" in html
    assert '<dd id="due-date">06/08/2025</dd>' in html
    assert "01/08/2025" in html
    for secret in ("alice", alice.full_name, "Ghi chú nội bộ", builders.ID_NUMBER, builders.PHONE):
        assert secret not in html, secret
    entry = AuditEntry.objects.get(action="portal.lookup")
    assert (entry.actor, entry.object_id, entry.unit) == (None, str(d.pk), world.commune_a)
    assert entry.client_address == "10.1.1.1"


def test_the_last_six_digits_of_the_id_number_work_too(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    client = Client()
    assert _lookup(client, d.code, "001234").status_code == 302


def test_a_wrong_factor_and_an_unknown_code_get_the_same_answer(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    client = Client(REMOTE_ADDR="10.2.2.2")
    wrong_factor = _lookup(client, d.code, "0000")
    unknown_code = _lookup(client, "H42.18-250801-9999", "5678")
    assert wrong_factor.status_code == unknown_code.status_code == 200
    assert GENERIC in wrong_factor.content.decode()
    assert GENERIC in unknown_code.content.decode()
    assert not AuditEntry.objects.filter(action="portal.lookup").exists()
    # The page stays closed to this browser.
    page = client.get(f"/portal/dossiers/{d.code}/")
    assert page.status_code == 302
    assert page["Location"] == f"/portal/?code={d.code.replace('.', '.')}"


def test_five_failures_from_one_address_lock_it_even_for_the_right_answer(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    client = Client(REMOTE_ADDR="10.3.3.3")
    for guess in ("0001", "0002", "0003", "0004", "0005"):
        assert _lookup(client, d.code, guess).status_code == 200
    locked = _lookup(client, d.code, "5678")
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert not AuditEntry.objects.filter(action="portal.lookup").exists()
    # Another address is locked out of this code too (it had 5 failures)...
    assert _lookup(Client(REMOTE_ADDR="10.4.4.4"), d.code, "5678").status_code == 429
    # ...but can still look up another dossier.
    other = builders.dossier(unit=world.commune_a, officer=alice)
    assert _lookup(Client(REMOTE_ADDR="10.4.4.4"), other.code, "5678").status_code == 302


def test_failures_spread_over_addresses_lock_the_code_and_expire_after_the_window(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    for i in range(5):
        _lookup(Client(REMOTE_ADDR=f"10.5.5.{i}"), d.code, f"{i:04d}")
    assert _lookup(Client(REMOTE_ADDR="10.5.6.1"), d.code, "5678").status_code == 429
    ThrottleCounter.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _lookup(Client(REMOTE_ADDR="10.5.6.1"), d.code, "5678").status_code == 302


def test_an_unknown_code_locks_like_a_real_one(world, alice):
    client = Client(REMOTE_ADDR="10.6.6.6")
    for guess in ("0001", "0002", "0003", "0004", "0005"):
        _lookup(client, "NO-SUCH-CODE", guess)
    response = _lookup(Client(REMOTE_ADDR="10.6.6.7"), "no-such-code", "1111")
    assert response.status_code == 429


def test_the_lookup_page_prefills_the_code_from_the_qr_link(world):
    html = Client().get("/portal/", {"code": "H42.18-250801-0001"}).content.decode()
    assert 'name="code"' in html and 'value="H42.18-250801-0001"' in html
    assert 'name="factor"' in html


def test_a_returned_dossier_shows_whether_it_was_early_on_time_or_late(world, alice):
    early = builders.returned(unit=world.commune_a, officer=alice, timeliness="early")
    late = builders.returned(unit=world.commune_a, officer=alice, timeliness="late")
    client = Client()
    assert "Trả kết quả trước hạn" in _page(client, _lookup(client, early.code, "5678"))
    assert "Trả kết quả sau hạn" in _page(client, _lookup(client, late.code, "5678"))


def test_an_open_dossier_past_its_due_date_says_so(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice, due=dt.date(2020, 1, 6))
    client = Client()
    assert "Đã quá hạn" in _page(client, _lookup(client, d.code, "5678"))


def test_a_dossier_waiting_for_documents_is_paused_never_overdue(world, alice):
    d = builders.dossier(
        unit=world.commune_a,
        officer=alice,
        status="supplement",
        due=dt.date(2020, 1, 6),
        steps=[
            ("transfer", "transferred", at(2025, 8, 1, 10), {}),
            ("supplement_request", "supplement", at(2025, 8, 1, 11), {"missing": ["Giấy X"]}),
        ],
    )
    client = Client()
    html = _page(client, _lookup(client, d.code, "5678"))
    assert (
        '<dd id="timeliness" class="timeliness timeliness-paused">'
        "Tạm dừng tính thời hạn, đang chờ ông/bà bổ sung giấy tờ</dd>"
    ) in html
    assert "Thời hạn giải quyết tạm dừng cho đến khi ông/bà nộp đủ giấy tờ" in html
    assert "Đã quá hạn" not in html
    # The same dossier back in appraisal, still past its date, is overdue again.
    d.status = "in_appraisal"
    d.save()
    html = client.get(f"/portal/dossiers/{d.code}/").content.decode()
    assert '<dd id="timeliness" class="timeliness timeliness-overdue">Đã quá hạn</dd>' in html
