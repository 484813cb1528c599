"""A dossier's whole journey in a real browser.

A clerk receives a dossier at the desk and prints the slip; the dossier moves through
appraisal, approval and signature to return; the citizen looks it up on the portal and
rates it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cancuoc.dossiers.models import Dossier
from tests import factories
from tests.dossiers.factories import Desk, procedure


def log_in(context, base: str, username: str):
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/desk/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/desk/")
    return page


def act(page, url: str, action: str, expected_status: str) -> None:
    """Open the dossier, press the action's button, wait for the page that follows."""
    page.goto(url)
    with page.expect_navigation():
        page.click(f'button[data-action="{action}"]')
    assert page.url == url
    expect(page.locator("#status")).to_have_text(expected_status)


@pytest.mark.django_db(transaction=True)
def test_a_dossier_goes_from_the_desk_to_the_citizen_rating(
    live_server, browser, page, screenshot, world
):
    base = live_server.url
    desk = Desk(world.commune_a, "a")
    procedure(code="1.000001", name="Đăng ký khai sinh", days=3, fee=50_000)

    # The clerk receives the dossier at the counter.
    page.goto(f"{base}/accounts/login/?next=/desk/receive/")
    page.fill("#id_username", desk.clerk.username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/desk/receive/")
    page.select_option("#id_procedure_code", "1.000001")
    assert page.locator("#proc-info").inner_text() == (
        "Thời hạn giải quyết: 3 ngày làm việc · Phí, lệ phí: 50.000 đ"
    )
    page.fill("#id_applicant_name", "Trần Thị Bình")
    page.fill("#id_applicant_phone", "0912345678")
    page.fill("#id_applicant_address", "Thôn 1, xã Thạch Hà")
    screenshot("desk-receive")
    page.click("#submit-receive")
    page.wait_for_url(f"{base}/desk/dossiers/*/")

    dossier = Dossier.objects.get()
    detail_url = f"{base}/desk/dossiers/{dossier.pk}/"
    assert page.url == detail_url
    assert page.locator("#dossier-code").inner_text() == dossier.code
    assert page.locator("#due-date strong").inner_text() == dossier.due_date.strftime("%d/%m/%Y")
    assert page.locator("#status").inner_text() == "Đã tiếp nhận"
    assert page.locator(".msg-success").inner_text() == (
        f"Đã tiếp nhận hồ sơ {dossier.code}; hẹn trả kết quả ngày {dossier.due_date:%d/%m/%Y}."
    )
    screenshot("desk-detail")

    # The slip (Mẫu 01) is a PDF.
    slip = page.locator("#slip-link").get_attribute("href")
    assert slip == f"/desk/dossiers/{dossier.pk}/forms/01.pdf"
    response = page.request.get(f"{base}{slip}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"

    act(page, detail_url, "transfer", "Đã chuyển xử lý")

    # Appraisal and approval by the other officers of the commune.
    appraiser_context = browser.new_context(locale="vi-VN")
    appraiser = log_in(appraiser_context, base, desk.appraiser.username)
    act(appraiser, detail_url, "appraise", "Đang thẩm định")
    appraiser_context.close()

    approver_context = browser.new_context(locale="vi-VN")
    approver = log_in(approver_context, base, desk.approver.username)
    act(approver, detail_url, "approve", "Đã phê duyệt")
    act(approver, detail_url, "sign", "Đã ký, đóng dấu")
    approver_context.close()

    # The clerk hands the result over at the counter.
    act(page, detail_url, "result_ready", "Có kết quả")
    act(page, detail_url, "return", "Đã trả kết quả")
    dossier.refresh_from_db()
    assert (dossier.status, dossier.timeliness) == ("returned", "early")
    steps = page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.step)")
    assert steps == ["receive", "transfer", "appraise", "approve", "sign", "result_ready", "return"]

    page.goto(f"{base}/desk/?q={dossier.code}")
    assert page.locator("#dossiers tbody tr").count() == 1
    assert page.locator("#dossiers .badge").inner_text() == "Trước hạn"
    screenshot("desk-list")

    # The citizen, not logged in, reads the public listing, then looks the dossier up
    # and rates it.
    page.context.clear_cookies()
    page.goto(f"{base}/desk/procedures/")
    assert page.locator("tr[data-code='1.000001'] td.num").first.inner_text() == "3 ngày làm việc"
    screenshot("desk-catalogue")
    page.goto(f"{base}/portal/")
    page.fill("input[name=code]", dossier.code)
    page.fill("input[name=factor]", "5678")  # the last 4 digits of the phone
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/portal/dossiers/**")
    assert page.locator("#due-date").inner_text() == dossier.due_date.strftime("%d/%m/%Y")
    page.check("input[name=score][value=very_satisfied]")
    page.fill("textarea[name=comment]", "Cán bộ tận tình, trả trước hẹn.")
    page.click("form.rating button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("form.rating").count() == 0
    screenshot("portal-rated")

    from cancuoc.portal.models import Rating

    rating = Rating.objects.get()
    assert (rating.dossier_id, rating.score, rating.comment) == (
        dossier.pk,
        "very_satisfied",
        "Cán bộ tận tình, trả trước hẹn.",
    )
