"""The citizen's timeline: every step in plain Vietnamese, postal tracking shown."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client

from cancuoc.dossiers import lifecycle
from cancuoc.portal import selectors
from tests.portal import builders
from tests.portal.builders import at

pytestmark = pytest.mark.django_db

RAW_ACTIONS = sorted(set(lifecycle.ACTIONS) | set(lifecycle.RECORD_ONLY_ACTIONS))


def _posted(world, alice, **fields):
    steps = [
        (
            "fee_pay",
            "received",
            at(2025, 8, 1, 9, 40),
            {"amount": 25000, "receipt_number": "BL-0042"},
        ),
        ("transfer", "transferred", at(2025, 8, 1, 10), {}),
        ("appraise", "in_appraisal", at(2025, 8, 4, 9), {}),
        ("approve", "approved", at(2025, 8, 4, 14), {}),
        ("sign", "signed", at(2025, 8, 5, 8), {}),
        ("result_ready", "result_ready", at(2025, 8, 5, 9), {}),
        (
            "return",
            "returned",
            at(2025, 8, 5, 10),
            {"method": "post", "timeliness": "early", "tracking_number": ""},
        ),
        (
            "delivery_update",
            "returned",
            at(2025, 8, 5, 15),
            {
                "delivery_status": "in_transit",
                "tracking_number": "EB123456789VN",
                "delivered_on": None,
            },
        ),
        (
            "delivery_update",
            "returned",
            at(2025, 8, 6, 11),
            {
                "delivery_status": "delivered",
                "tracking_number": "EB123456789VN",
                "delivered_on": "2025-08-06",
            },
        ),
    ]
    values = {
        "status": "returned",
        "steps": steps,
        "returned_at": at(2025, 8, 5, 10),
        "timeliness": "early",
        "return_method": "post",
        "delivery_status": "delivered",
        "tracking_number": "EB123456789VN",
        "delivered_on": dt.date(2025, 8, 6),
    }
    values.update(fields)
    return builders.dossier(unit=world.commune_a, officer=alice, **values)


def _timeline(html: str) -> str:
    return html.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]


def test_every_action_the_desk_records_has_a_plain_label():
    assert sorted(selectors.STEP_PLAIN) == RAW_ACTIONS


def test_fees_and_postal_delivery_read_as_plain_vietnamese_on_the_page(world, alice):
    d = _posted(world, alice)
    client = Client()
    response = client.post("/portal/", {"code": d.code, "factor": "5678"})
    html = client.get(response["Location"]).content.decode()
    timeline = _timeline(html)
    for expected in (
        "Đã nộp phí",
        "Số biên lai: BL-0042",
        "Gửi trả qua dịch vụ bưu chính công ích",
        "Bưu điện đang chuyển kết quả đến ông/bà",
        "Mã vận đơn bưu chính: EB123456789VN",
        "Bưu điện đã phát kết quả cho ông/bà",
        "Đã phát ngày 06/08/2025",
    ):
        assert expected in timeline, expected
    for name in RAW_ACTIONS:
        assert not re.search(rf"\b{name}\b", timeline), name
    assert '<dd id="delivery-status">Bưu điện đã phát kết quả cho ông/bà</dd>' in html
    assert '<dd id="tracking-number">EB123456789VN</dd>' in html
    assert '<dd id="delivered-on">06/08/2025</dd>' in html


def test_a_fee_exemption_and_an_unknown_step_show_no_internal_name(world, alice):
    d = builders.dossier(
        unit=world.commune_a,
        officer=alice,
        steps=[
            ("fee_exempt", "received", at(2025, 8, 1, 9, 45), {"reason": "Hộ nghèo"}),
            ("archive_scan", "received", at(2025, 8, 1, 9, 50), {}),
        ],
    )
    view = selectors.dossier_public(dossier_id=d.pk)
    assert [(s.label, s.details) for s in view.steps] == [
        ("Tiếp nhận hồ sơ", []),
        ("Đã miễn phí", ["Hộ nghèo"]),
        ("Hồ sơ được cập nhật", []),
    ]
    # A counter return shows no postal facts.
    assert (view.delivery_status, view.tracking_number, view.delivered_on) == ("", "", None)


@pytest.mark.urls("tests.portal.urls_api")
def test_the_api_gives_the_postal_tracking_too(world, alice):
    d = _posted(world, alice, delivery_status="in_transit", delivered_on=None)
    response = Client().post(
        "/api/test/portal/lookup",
        json.dumps({"code": d.code, "factor": "5678"}),
        content_type="application/json",
    )
    body = response.json()
    assert (
        body["delivery_status"],
        body["delivery_status_label"],
        body["tracking_number"],
        body["delivered_on"],
    ) == ("in_transit", "Bưu điện đang chuyển kết quả đến ông/bà", "EB123456789VN", None)
    assert body["steps"][1] == {
        "at": "2025-08-01T09:40:00+07:00",
        "label": "Đã nộp phí",
        "details": ["Số biên lai: BL-0042"],
    }
    assert not {s["label"] for s in body["steps"]} & set(RAW_ACTIONS)
