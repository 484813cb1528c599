"""Complaints and feedback: filed by citizens, handled by officers in scope, on a deadline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry, Event
from cancuoc.portal import selectors, services
from cancuoc.portal.models import Complaint, ComplaintTerm, ThrottleCounter
from tests.portal import builders
from tests.portal.builders import at

pytestmark = pytest.mark.django_db


def _file(unit, **fields) -> Complaint:
    values = {
        "kind": "process",
        "text": "Chờ quá lâu ở quầy.",
        "contact_name": "Nguyễn Thị Hằng",
        "contact_phone": "0912 345 678",
        "unit_id": unit.pk,
        "at": at(2025, 8, 1, 9),
    }
    values.update(fields)
    return services.complaint_file(**values)


def test_a_complaint_is_due_ten_working_days_after_receipt(world):
    filed = _file(world.commune_a)
    # Friday 1 August 2025 + 10 working days = Friday 15 August.
    assert filed.due_date == dt.date(2025, 8, 15)
    assert (filed.unit, filed.unit_path, filed.status) == (
        world.commune_a,
        world.commune_a.path,
        "received",
    )
    assert filed.code.startswith("PA-250801-")
    assert filed.contact_phone == "0912345678"
    event = Event.objects.get(kind="portal.complaint")
    assert event.measures == {"complaints": 1, "complaints_process": 1}
    # Over the 2 September holidays (Tue 2 and Mon 1 in 2025), the term runs longer.
    assert _file(world.commune_a, at=at(2025, 8, 29, 9)).due_date == dt.date(2025, 9, 16)


def test_the_term_is_data_with_a_date(world):
    ComplaintTerm.objects.create(valid_from=dt.date(2025, 8, 1), working_days=5, source="test")
    assert _file(world.commune_a).due_date == dt.date(2025, 8, 8)
    assert _file(world.commune_a, at=at(2025, 7, 31, 9)).due_date == dt.date(2025, 8, 14)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "  "}, "Hãy mô tả sự việc."),
        ({"contact_name": ""}, "Hãy nhập họ tên của ông/bà."),
        ({"contact_phone": "12"}, "Số điện thoại không hợp lệ."),
        ({"kind": "officer"}, "Hãy nêu tên cán bộ, hoặc mô tả (quầy, thời gian)."),
        ({"kind": "gossip"}, "Hãy chọn nội dung phản ánh."),
        ({"unit_id": None}, "Hãy chọn cơ quan nhận phản ánh."),
    ],
)
def test_an_incomplete_complaint_is_refused_and_nothing_is_saved(world, fields, message):
    with pytest.raises(services.ComplaintInvalid) as caught:
        _file(world.commune_a, **fields)
    assert caught.value.message == message
    assert not Complaint.objects.exists()
    assert not Event.objects.exists()


def test_a_citizen_files_about_a_looked_up_dossier_from_its_page(world, alice):
    d = builders.returned(unit=world.commune_a, officer=alice)
    client = Client()
    client.post("/portal/", {"code": d.code, "factor": "5678"})
    form = client.get("/portal/complaint/", {"dossier": d.code}).content.decode()
    assert f'value="{d.code}"' in form
    assert 'name="factor"' not in form  # already verified in this session
    response = client.post(
        "/portal/complaint/",
        {
            "kind": "officer",
            "text": "Cán bộ yêu cầu nộp thêm giấy tờ không có trong quy định.",
            "officer_named": "Quầy số 2, sáng 01/08",
            "contact_name": "Nguyễn Thị Hằng",
            "dossier_code": d.code,
        },
    )
    assert response["Location"] == "/portal/complaint/sent/"
    filed = Complaint.objects.get()
    assert (filed.dossier, filed.unit, filed.kind, filed.officer_named) == (
        d,
        world.commune_a,
        "officer",
        "Quầy số 2, sáng 01/08",
    )
    sent = client.get("/portal/complaint/sent/").content.decode()
    assert filed.code in sent and "Xã Thạch Hà" in sent


def test_a_dossier_complaint_with_a_wrong_factor_is_refused(world, alice):
    d = builders.dossier(unit=world.commune_a, officer=alice)
    response = Client().post(
        "/portal/complaint/",
        {
            "kind": "process",
            "text": "Chậm.",
            "contact_name": "A",
            "dossier_code": d.code,
            "factor": "0000",
        },
    )
    assert response.status_code == 200
    assert "Không có hồ sơ nào khớp" in response.content.decode()
    assert not Complaint.objects.exists()


def test_a_complaint_without_a_dossier_goes_to_the_chosen_office(world):
    client = Client()
    picked = client.post("/portal/complaint/", {"province": str(world.hatinh.pk), "pick": "1"})
    html = picked.content.decode()
    assert "Xã Thạch Hà" in html and "Xã Cẩm Xuyên" in html and "Xã Tân Thuận" not in html
    response = client.post(
        "/portal/complaint/",
        {
            "kind": "feedback",
            "text": "Nên mở thêm quầy buổi trưa.",
            "contact_name": "Lê Văn Nam",
            "province": str(world.hatinh.pk),
            "unit": str(world.commune_b.pk),
        },
    )
    assert response.status_code == 302
    assert Complaint.objects.get().unit == world.commune_b


def test_officers_see_and_handle_only_the_complaints_of_their_units(world, alice, bob, hana, carl):
    mine = _file(world.commune_a)
    theirs = _file(world.commune_b)
    alice_client, hana_client = Client(), Client()
    alice_client.force_login(alice)
    hana_client.force_login(hana)
    listing = alice_client.get("/portal/complaints/").content.decode()
    assert mine.code in listing and theirs.code not in listing
    province = hana_client.get("/portal/complaints/").content.decode()
    assert mine.code in province and theirs.code in province
    assert alice_client.get(f"/portal/complaints/{theirs.pk}/").status_code == 404
    clerk = Client()
    clerk.force_login(bob)  # a clerk cannot handle complaints
    assert clerk.get("/portal/complaints/").status_code == 403
    detail = alice_client.get(f"/portal/complaints/{mine.pk}/")
    assert "0912345678" in detail.content.decode()
    assert AuditEntry.objects.filter(action="complaint.view", object_id=str(mine.pk)).count() == 1

    no_answer = alice_client.post(
        f"/portal/complaints/{mine.pk}/", {"status": "answered", "answer": ""}
    )
    assert "Hãy nhập nội dung trả lời công dân." in no_answer.content.decode()
    assert Complaint.objects.get(pk=mine.pk).status == "received"
    done = alice_client.post(
        f"/portal/complaints/{mine.pk}/", {"status": "answered", "answer": "Đã bố trí thêm quầy."}
    )
    assert done.status_code == 302
    mine.refresh_from_db()
    assert (mine.status, mine.answer, mine.handled_by) == (
        "answered",
        "Đã bố trí thêm quầy.",
        alice,
    )
    assert mine.answered_at is not None
    assert Event.objects.get(kind="portal.complaint_answered").measures["complaints_answered"] == 1

    with pytest.raises(OutOfScope):
        services.complaint_handle(actor=carl, complaint_id=theirs.pk, status="in_progress")
    with pytest.raises(PermissionDenied):
        services.complaint_handle(actor=bob, complaint_id=theirs.pk, status="in_progress")
    theirs.refresh_from_db()
    assert (theirs.status, theirs.handled_by) == ("received", None)


def test_a_closed_complaint_cannot_be_reopened(world, alice):
    filed = _file(world.commune_a)
    services.complaint_handle(
        actor=alice, complaint_id=filed.pk, status="answered", answer="Đã xử lý."
    )
    services.complaint_handle(actor=alice, complaint_id=filed.pk, status="closed")
    with pytest.raises(services.ComplaintInvalid) as caught:
        services.complaint_handle(actor=alice, complaint_id=filed.pk, status="in_progress")
    assert caught.value.message == (
        "Phản ánh đang ở trạng thái “Đã kết thúc” không thể chuyển sang “Đang xử lý”."
    )
    filed.refresh_from_db()
    assert filed.status == "closed"


def test_the_overdue_filter_lists_unanswered_complaints_past_their_date(world, alice):
    late = _file(world.commune_a, at=at(2020, 1, 6, 9))
    fresh = _file(world.commune_a, at=at(2099, 1, 5, 9))
    client = Client()
    client.force_login(alice)
    html = client.get("/portal/complaints/", {"overdue": "1"}).content.decode()
    assert late.code in html and fresh.code not in html


THROTTLED = (
    "Đã có quá nhiều phản ánh, kiến nghị được gửi từ kết nối này. Vui lòng thử lại sau 60 phút."
)


def test_one_address_may_file_five_complaints_an_hour(world):
    # A refused (incomplete) complaint is not counted.
    with pytest.raises(services.ComplaintInvalid):
        _file(world.commune_a, text=" ", client_address="10.3.0.1")
    for _ in range(5):
        _file(world.commune_a, client_address="10.3.0.1")
    with pytest.raises(services.ComplaintThrottled) as caught:
        _file(world.commune_a, client_address="10.3.0.1")
    assert caught.value.message == THROTTLED
    assert Complaint.objects.count() == 5
    assert Event.objects.filter(kind="portal.complaint").count() == 5
    # Another address, and the officers' own calls without an address, are not limited.
    _file(world.commune_a, client_address="10.3.0.2")
    _file(world.commune_a)
    assert Complaint.objects.count() == 7
    # When the hour is over the address may file again.
    ThrottleCounter.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _file(world.commune_a, client_address="10.3.0.1")
    assert Complaint.objects.count() == 8


def test_the_complaint_page_answers_429_in_vietnamese_past_the_limit(world, settings):
    settings.PORTAL_COMPLAINT_MAX_PER_ADDRESS = 1
    settings.PORTAL_COMPLAINT_WINDOW_SECONDS = 600
    body = {
        "kind": "feedback",
        "text": "Nên mở thêm quầy buổi trưa.",
        "contact_name": "Lê Văn Nam",
        "province": str(world.hatinh.pk),
        "unit": str(world.commune_b.pk),
    }
    client = Client(REMOTE_ADDR="10.3.1.1")
    assert client.post("/portal/complaint/", body).status_code == 302
    refused = client.post("/portal/complaint/", body)
    assert refused.status_code == 429
    assert (
        "Đã có quá nhiều phản ánh, kiến nghị được gửi từ kết nối này. Vui lòng thử lại sau 10 phút."
    ) in refused.content.decode()
    assert Complaint.objects.count() == 1
    assert Client(REMOTE_ADDR="10.3.1.2").post("/portal/complaint/", body).status_code == 302


def test_reading_a_complaint_on_the_page_is_audited_by_the_selector(world, alice, carl):
    filed = _file(world.commune_a)
    item = selectors.complaint_get(user=alice, complaint_id=filed.pk)
    assert item == filed
    entry = AuditEntry.objects.get(action="complaint.view")
    assert (entry.actor, entry.object_id, entry.unit) == (alice, str(filed.pk), world.commune_a)
    with pytest.raises(OutOfScope):
        selectors.complaint_get(user=carl, complaint_id=filed.pk)
    assert AuditEntry.objects.filter(action="complaint.view").count() == 1
    # The officers' list page shows no personal data and is not audited.
    client = Client()
    client.force_login(alice)
    assert filed.code in client.get("/portal/complaints/").content.decode()
    assert not AuditEntry.objects.filter(action="complaint.list").exists()
