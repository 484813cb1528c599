"""A person logs in and lands on the home page in Vietnamese."""

import pytest

from cancuoc.accounts.roles import Role
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_an_officer_logs_in_and_sees_the_home_page_in_vietnamese(
    live_server, page, screenshot, world
):
    factories.user(unit=world.hatinh, role=Role.PROVINCE_MANAGER, username="hana")
    page.goto(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.fill("#id_username", "hana")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit].primary")
    assert page.locator("[role=alert]").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."
    page.fill("#id_username", "hana")
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator(".unit-badge").inner_text() == "Tỉnh Hà Tĩnh"
    assert "Lãnh đạo cấp tỉnh" in page.locator(".facts").inner_text()
    table = page.locator("table.grid tbody").inner_text()
    assert "Xã Thạch Hà" in table and "Xã Cẩm Xuyên" in table and "Tân Thuận" not in table
    nav = page.locator("nav.mainnav").inner_text()
    for section in ("Dân cư", "Chiến dịch", "Thu nhận hồ sơ", "Một cửa", "Báo cáo"):
        assert section in nav
    screenshot("home-vi")

    page.click("button[lang=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Province manager" in page.locator(".facts").inner_text()
    screenshot("home-en")
