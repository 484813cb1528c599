"""The one-stop desk pages: list, receipt form, dossier page and actions, catalogue, calendar.

Both sides every time: what a role may do happens, and what it may not leaves the
dossier, its control sheet and the counts exactly as they were.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from cancuoc.core.workdays import due_date
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.models import (
    Dossier,
    DossierTransition,
    ProcedureVersion,
    WorkdayAdjustment,
)
from tests import factories
from tests.dossiers.factories import Desk, procedure, received_dossier

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk_a(world) -> Desk:
    return Desk(world.commune_a, "a")


@pytest.fixture
def birth(db):
    """Birth registration: 3 working days, 50,000 đ, with an older version (5 days, free)."""
    proc = procedure(
        code="1.000001",
        name="Đăng ký khai sinh",
        days=3,
        fee=50_000,
        valid_from=dt.date(2024, 1, 1),
    )
    ProcedureVersion.objects.create(
        procedure=proc,
        valid_from=dt.date(2020, 1, 1),
        valid_to=dt.date(2023, 12, 31),
        processing_days=5,
        fee=0,
        legal_basis="Nghị định cũ",
    )
    proc.required_documents = ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"]
    proc.save()
    return proc


@pytest.fixture
def spot(db):
    return procedure(code="1.000002", name="Chứng thực bản sao", days=0, on_the_spot=True)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def form_data(**overrides):
    data = {
        "procedure_code": "1.000001",
        "channel": "counter",
        "applicant_name": "  Trần   Thị Bình ",
        "applicant_id_number": "",
        "applicant_phone": "0912345678",
        "applicant_address": "Thôn 1, xã Thạch Hà",
        "competent_unit_id": "",
        "return_method": "counter",
        "delivery_address": "",
        "fee_exemption_reason": "",
        "note": "",
        "submission_key": "key-1",
        "intent": "receive",
    }
    data.update(overrides)
    return data


# --- Public catalogue -----------------------------------------------------------------


def test_the_catalogue_is_public_and_shows_time_fee_and_documents(birth):
    response = Client().get("/desk/procedures/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Đăng ký khai sinh" in html
    assert "3 ngày làm việc" in html
    assert "50.000 đ" in html
    assert "Giấy chứng sinh" in html


def test_a_procedure_page_is_public_and_lists_its_versions(birth):
    response = Client().get("/desk/procedures/1.000001/")
    assert response.status_code == 200
    versions = response.context["versions"]
    assert [(v["row"].valid_from, v["row"].processing_days) for v in versions] == [
        (dt.date(2020, 1, 1), 5),
        (dt.date(2024, 1, 1), 3),
    ]
    assert response.context["current"].processing_days == 3
    assert Client().get("/desk/procedures/9.999999/").status_code == 404


# --- Access ---------------------------------------------------------------------------


def test_the_desk_needs_a_login(world):
    response = Client().get("/desk/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Client().get("/desk/receive/").status_code == 302


def test_an_appraiser_cannot_open_the_receipt_form(desk_a, birth):
    client = login(desk_a.appraiser)
    assert client.get("/desk/receive/").status_code == 403
    assert client.post("/desk/receive/", form_data()).status_code == 403
    assert Dossier.objects.count() == 0


# --- Receipt --------------------------------------------------------------------------


def test_a_clerk_receives_a_dossier_and_gets_the_slip_link(desk_a, birth):
    client = login(desk_a.clerk)
    page = client.get("/desk/receive/")
    assert page.status_code == 200
    assert page.context["form"].initial["competent_unit_id"] == desk_a.unit.pk
    assert len(page.context["form"].initial["submission_key"]) == 32

    response = client.post("/desk/receive/", form_data(), follow=True)
    dossier = Dossier.objects.get()
    assert response.redirect_chain == [(f"/desk/dossiers/{dossier.pk}/", 302)]
    assert dossier.applicant_name == "Trần Thị Bình"
    assert dossier.status == "received"
    assert dossier.unit == desk_a.unit
    assert dossier.fee_amount == 50_000 and dossier.fee_status == "due"
    expected_due = due_date(dossier.received_at, 3, calendar=work_calendar())
    assert dossier.due_date == expected_due
    assert messages_of(response) == [
        f"Đã tiếp nhận hồ sơ {dossier.code}; hẹn trả kết quả ngày {expected_due:%d/%m/%Y}."
    ]
    html = response.content.decode()
    assert dossier.code in html
    assert f'href="/desk/dossiers/{dossier.pk}/forms/01.pdf"' in html


def test_the_same_form_submitted_twice_leads_to_the_first_dossier(desk_a, birth):
    client = login(desk_a.clerk)
    client.post("/desk/receive/", form_data(), follow=True)  # reads its own message
    first = Dossier.objects.get()
    second = client.post("/desk/receive/", form_data(), follow=True)
    assert Dossier.objects.count() == 1
    assert DossierTransition.objects.count() == 1
    assert second.redirect_chain == [(f"/desk/dossiers/{first.pk}/", 302)]
    assert messages_of(second) == ["Biểu mẫu này đã được gửi: đây là hồ sơ đã được tạo."]


def test_a_bad_receipt_form_shows_errors_and_creates_nothing(desk_a, birth):
    client = login(desk_a.clerk)
    response = client.post(
        "/desk/receive/",
        form_data(applicant_name="", applicant_id_number="12345", return_method="post"),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    with translation.override("vi"):  # Django's own message, whatever its wording
        required = str(forms.Field.default_error_messages["required"])
    assert errors["applicant_name"] == [required]
    assert errors["applicant_id_number"] == [
        "Số định danh phải gồm 12 chữ số (hoặc 9 chữ số với CMND cũ)."
    ]
    assert errors["delivery_address"] == ["Nhập địa chỉ nhận kết quả qua bưu điện."]
    assert Dossier.objects.count() == 0


def test_a_clerk_can_receive_for_another_commune_of_the_province(world, desk_a, birth):
    client = login(desk_a.clerk)
    options = client.get("/desk/receive/").context["form"].fields["competent_unit_id"].choices
    assert [label for _pk, label in options] == ["Xã Thạch Hà", "Tỉnh Hà Tĩnh", "Xã Cẩm Xuyên"]
    client.post("/desk/receive/", form_data(competent_unit_id=str(world.commune_b.pk)))
    dossier = Dossier.objects.get()
    assert dossier.unit == world.commune_b and dossier.receiving_unit == world.commune_a


def test_after_routing_the_receiving_clerk_reads_but_only_the_competent_unit_acts(
    world, desk_a, bob, birth
):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    clerk = login(desk_a.clerk)
    route = clerk.get(f"/desk/dossiers/{dossier.pk}/").context["route_units"]
    assert (world.commune_b.pk, "Xã Cẩm Xuyên") in route
    post_action(clerk, dossier, "route", unit_id=str(world.commune_b.pk))
    dossier.refresh_from_db()
    assert dossier.unit == world.commune_b

    page = clerk.get(f"/desk/dossiers/{dossier.pk}/")
    assert page.status_code == 200
    assert page.context["actions"] == [] and page.context["can_fee"] is False
    assert post_action(clerk, dossier, "transfer").status_code == 404
    assert [
        a["name"] for a in login(bob).get(f"/desk/dossiers/{dossier.pk}/").context["actions"]
    ] == [
        "transfer",
        "withdraw",
        "route",
    ]
    post_action(login(bob), dossier, "transfer")
    dossier.refresh_from_db()
    assert dossier.status == "transferred"


def test_a_unit_of_another_province_is_refused_and_nothing_is_created(world, desk_a, birth):
    client = login(desk_a.clerk)
    response = client.post("/desk/receive/", form_data(competent_unit_id=str(world.commune_c.pk)))
    assert response.status_code == 400
    assert Dossier.objects.count() == 0


def test_on_the_spot_resolves_every_stage_in_one_sitting(desk_a, spot):
    client = login(desk_a.clerk)
    client.post("/desk/receive/", form_data(procedure_code="1.000002", on_the_spot="on"))
    dossier = Dossier.objects.get()
    assert dossier.status == "returned"
    assert list(dossier.transitions.values_list("action", flat=True)) == [
        "receive",
        "transfer",
        "appraise",
        "approve",
        "sign",
        "result_ready",
        "return",
    ]


def test_refusing_at_intake_needs_a_reason(desk_a, birth):
    client = login(desk_a.clerk)
    response = client.post("/desk/receive/", form_data(intent="reject"))
    assert response.status_code == 400
    assert Dossier.objects.count() == 0
    client.post(
        "/desk/receive/",
        form_data(intent="reject", intake_refusal_reason="Không thuộc thẩm quyền"),
    )
    assert Dossier.objects.get().status == "rejected"


def test_the_applicant_is_filled_from_the_registry_in_scope_only(world, desk_a, bob, birth):
    citizen = factories.citizen(unit=world.commune_a, full_name="Lê Văn Cường", phone="0987654321")
    data = form_data(applicant_id_number=citizen.id_number, applicant_name="", intent="lookup")
    found = login(desk_a.clerk).post("/desk/receive/", data)
    form = found.context["form"]
    assert form["applicant_name"].value() == "Lê Văn Cường"
    assert form["applicant_phone"].value() == "0987654321"
    assert form["citizen_id"].value() == str(citizen.pk)
    assert Dossier.objects.count() == 0

    from cancuoc.core.models import AuditEntry

    # Reading a citizen's personal data leaves an audit row.
    assert AuditEntry.objects.filter(action="citizen.view", actor=desk_a.clerk).count() == 1

    other = login(bob).post("/desk/receive/", data)
    assert other.context["form"]["applicant_name"].value() == ""
    assert other.context["lookup_message"] == (
        "Không tìm thấy số định danh này trong dữ liệu dân cư của đơn vị: "
        "nhập thông tin người nộp bằng tay."
    )
    assert not AuditEntry.objects.filter(action="citizen.view", actor=bob).exists()


# --- List ----------------------------------------------------------------------------


def test_the_list_shows_only_dossiers_in_scope_with_filters_and_badges(world, desk_a, bob, birth):
    today = timezone.localdate()
    old = received_dossier(
        actor=desk_a.clerk,
        proc=birth,
        at=timezone.now() - dt.timedelta(days=30),
        applicant_phone="0911111111",
    )
    fresh = received_dossier(actor=desk_a.clerk, proc=birth, applicant_name="Phạm Thị Dung")
    client = login(desk_a.clerk)

    rows = client.get("/desk/").context["rows"]
    assert [r["dossier"].pk for r in rows] == [fresh.pk, old.pk]
    late = work_calendar().working_days_between(old.due_date, today)
    assert rows[1]["badge"].colour == "red"
    assert rows[1]["badge"].label == f"Quá hạn {late} ngày làm việc"
    assert rows[0]["badge"].colour in ("green", "amber")

    overdue = client.get("/desk/", {"term": "overdue"}).context["rows"]
    assert [r["dossier"].pk for r in overdue] == [old.pk]
    within = client.get("/desk/", {"term": "within"}).context["rows"]
    assert [r["dossier"].pk for r in within] == [fresh.pk]
    by_phone = client.get("/desk/", {"q": "0911111111"}).context["rows"]
    assert [r["dossier"].pk for r in by_phone] == [old.pk]
    by_name = client.get("/desk/", {"q": "Dung"}).context["rows"]
    assert [r["dossier"].pk for r in by_name] == [fresh.pk]

    assert login(bob).get("/desk/").context["rows"] == []


def test_the_list_costs_the_same_queries_for_one_or_many_dossiers(desk_a, birth):
    client = login(desk_a.clerk)
    received_dossier(actor=desk_a.clerk, proc=birth)
    with CaptureQueriesContext(connection) as one:
        client.get("/desk/")
    for _ in range(4):
        received_dossier(actor=desk_a.clerk, proc=birth)
    with CaptureQueriesContext(connection) as five:
        client.get("/desk/")
    assert len(five) == len(one)


# --- Detail and actions ----------------------------------------------------------------


def post_action(client, dossier, action, **fields):
    return client.post(f"/desk/dossiers/{dossier.pk}/act/", {"action": action, **fields})


def test_the_dossier_moves_from_desk_to_return_through_the_pages(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    clerk, appraiser, approver = (
        login(u) for u in (desk_a.clerk, desk_a.appraiser, desk_a.approver)
    )

    page = clerk.get(f"/desk/dossiers/{dossier.pk}/")
    assert [a["name"] for a in page.context["actions"]] == [
        "transfer",
        "withdraw",
        "route",
    ]
    assert 'data-action="transfer"' in page.content.decode()
    assert [
        a["name"] for a in approver.get(f"/desk/dossiers/{dossier.pk}/").context["actions"]
    ] == ["apologise"]

    for client, action in (
        (clerk, "transfer"),
        (appraiser, "appraise"),
        (approver, "approve"),
        (approver, "sign"),
        (clerk, "result_ready"),
    ):
        response = post_action(client, dossier, action)
        assert response.status_code == 302, action
    response = clerk.post(
        f"/desk/dossiers/{dossier.pk}/act/", {"action": "return", "method": "counter"}, follow=True
    )
    # The clerk's three steps, each confirmed (messages wait for the next page shown).
    assert messages_of(response) == [
        "Đã chuyển hồ sơ sang xử lý.",
        "Kết quả đã sẵn sàng để trả.",
        "Đã trả kết quả.",
    ]
    dossier.refresh_from_db()
    assert dossier.status == "returned"
    assert dossier.timeliness == "early"
    timeline = response.context["history"]
    assert [t["action"] for t in timeline] == [
        "receive",
        "transfer",
        "appraise",
        "approve",
        "sign",
        "result_ready",
        "return",
    ]


def test_bob_cannot_see_or_act_on_commune_a_dossier(desk_a, bob, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    client = login(bob)
    assert client.get(f"/desk/dossiers/{dossier.pk}/").status_code == 404
    assert post_action(client, dossier, "transfer").status_code == 404
    dossier.refresh_from_db()
    assert dossier.status == "received"
    assert dossier.transitions.count() == 1


def test_a_wrong_role_is_refused_with_a_message_and_nothing_changes(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    response = post_action(login(desk_a.appraiser), dossier, "transfer")
    assert response.status_code == 403
    assert messages_of(response) == [
        "Vai trò của bạn không được thực hiện thao tác này: Chuyển xử lý."
    ]
    dossier.refresh_from_db()
    assert dossier.status == "received" and dossier.transitions.count() == 1


def test_an_illegal_transition_is_refused_with_a_message_and_nothing_changes(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    client = login(desk_a.approver)
    response = client.post(f"/desk/dossiers/{dossier.pk}/act/", {"action": "approve"}, follow=True)
    assert messages_of(response) == [
        "Không thể “Phê duyệt” khi hồ sơ đang ở trạng thái “Đã tiếp nhận”."
    ]
    dossier.refresh_from_db()
    assert dossier.status == "received" and dossier.transitions.count() == 1


def test_a_form_submitted_twice_on_the_dossier_page_changes_it_once(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    client = login(desk_a.clerk)
    client.post(f"/desk/dossiers/{dossier.pk}/act/", {"action": "transfer"}, follow=True)
    again = client.post(f"/desk/dossiers/{dossier.pk}/act/", {"action": "transfer"}, follow=True)
    assert messages_of(again) == [
        "Không thể “Chuyển xử lý” khi hồ sơ đang ở trạng thái “Đã chuyển xử lý”."
    ]
    assert list(dossier.transitions.values_list("action", flat=True)) == ["receive", "transfer"]


def test_an_action_missing_its_field_is_refused_before_the_service(desk_a, birth):
    dossier = received_dossier(actor=desk_a.clerk, proc=birth)
    client = login(desk_a.clerk)
    response = client.post(f"/desk/dossiers/{dossier.pk}/act/", {"action": "withdraw"}, follow=True)
    assert messages_of(response) == ["Lý do: Trường này bắt buộc cho thao tác này."]
    dossier.refresh_from_db()
    assert dossier.status == "received"


def test_fees_are_paid_or_exempted_with_a_receipt_or_a_reason(desk_a, birth):
    paid = received_dossier(actor=desk_a.clerk, proc=birth)
    exempt = received_dossier(actor=desk_a.clerk, proc=birth)
    client = login(desk_a.clerk)
    post_action(client, paid, "fee_pay", receipt_number="BL-0001")
    post_action(client, exempt, "fee_exempt", reason="Hộ nghèo")
    paid.refresh_from_db()
    exempt.refresh_from_db()
    assert (paid.fee_status, paid.fee_receipt_number) == ("paid", "BL-0001")
    assert (exempt.fee_status, exempt.fee_exemption_reason) == ("exempt", "Hộ nghèo")
    # A second payment of the same fee is refused and changes nothing.
    post_action(client, paid, "fee_pay", receipt_number="BL-0002")
    paid.refresh_from_db()
    assert paid.fee_receipt_number == "BL-0001"


def test_a_result_sent_by_post_is_tracked_to_delivery(desk_a, birth):
    dossier = received_dossier(
        actor=desk_a.clerk, proc=birth, return_method="post", delivery_address="Thôn 2"
    )
    desk_a.advance(dossier, until="result_ready")
    client = login(desk_a.clerk)
    post_action(client, dossier, "return", method="post", tracking_number="EMS123")
    dossier.refresh_from_db()
    assert (dossier.status, dossier.delivery_status) == ("returned", "in_transit")
    today = timezone.localdate()
    post_action(
        client,
        dossier,
        "delivery_update",
        delivery_status="delivered",
        tracking_number="EMS123",
        delivered_on=today.isoformat(),
    )
    dossier.refresh_from_db()
    assert (dossier.delivery_status, dossier.delivered_on) == ("delivered", today)


# --- Calendar ------------------------------------------------------------------------


def test_everyone_reads_the_calendar_but_only_a_catalogue_manager_edits_it(desk_a, hana):
    year = 2030
    clerk = login(desk_a.clerk)
    page = clerk.get("/desk/calendar/", {"year": year})
    assert page.status_code == 200
    assert page.context["can_edit"] is False
    assert len(page.context["months"]) == 12
    data = {
        "op": "set",
        "year": year,
        "day": "2030-05-04",
        "is_working_day": "True",
        "note": "Làm bù cho ngày 29/4",
        "source": "Thông báo 01/TB",
    }
    assert clerk.post("/desk/calendar/", data).status_code == 403
    assert not WorkdayAdjustment.objects.filter(day=dt.date(2030, 5, 4)).exists()

    manager = login(hana)
    assert manager.post("/desk/calendar/", data).status_code == 302
    row = WorkdayAdjustment.objects.get(day=dt.date(2030, 5, 4))
    assert (row.is_working_day, row.note) == (True, "Làm bù cho ngày 29/4")
    assert work_calendar().is_working_day(dt.date(2030, 5, 4))  # a Saturday worked
    months = manager.get("/desk/calendar/", {"year": year}).context["months"]
    may = [c for week in months[4]["weeks"] for c in week if c and c["day"] == 4]
    assert may[0]["cls"] == "swap-work"

    editing = manager.get("/desk/calendar/", {"year": year, "edit": "2030-05-04"}).context
    assert editing["form"].initial["note"] == "Làm bù cho ngày 29/4"

    no_note = manager.post("/desk/calendar/", {**data, "day": "2030-05-11", "note": ""})
    assert no_note.status_code == 400
    assert not WorkdayAdjustment.objects.filter(day=dt.date(2030, 5, 11)).exists()

    manager.post("/desk/calendar/", {"op": "delete", "year": year, "day": "2030-05-04"})
    assert not WorkdayAdjustment.objects.filter(day=dt.date(2030, 5, 4)).exists()


def test_the_calendar_needs_a_login(world):
    assert Client().get("/desk/calendar/").status_code == 302
