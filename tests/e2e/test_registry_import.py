"""An officer imports a file with errors, follows the progress, downloads the error report,
and finds an imported citizen by typing her name without diacritics."""

from __future__ import annotations

import csv
import io

import pytest

from cancuoc.accounts.roles import Role
from cancuoc.registry.idnumber import generate
from cancuoc.registry.models import Citizen
from tests import factories

HANG = generate("042", "female", 1985, 9001)
WRONG_SEX = generate("042", "male", 1990, 9003)
ROWS = [
    "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_xa_thuong_tru,so_ho,quan_he_chu_ho",
    f"{HANG},Nguyễn Thị Hằng,17/05/1985,Nữ,18100,HK-E2E-1,Chủ hộ",
    f"{generate('042', 'male', 1960, 9002)},Lê Văn Tám,1960,Nam,18100,HK-E2E-1,Chồng",
    f"{WRONG_SEX},Sai Giới Tính,1990,Nữ,18100,,",
    f"{HANG},Nguyễn Thị Hằng Trùng,17/05/1985,Nữ,18100,,",
]


@pytest.mark.django_db(transaction=True)
def test_an_officer_imports_watches_progress_downloads_errors_and_finds_hang(
    live_server, page, screenshot, world, tmp_path
):
    factories.user(unit=world.commune_a, role=Role.UNIT_MANAGER, username="alice")
    upload = tmp_path / "danh-sach.csv"
    upload.write_text("\n".join(ROWS) + "\n", encoding="utf-8")

    page.goto(f"{live_server.url}/registry/imports/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/registry/imports/")
    assert page.locator("h1").inner_text() == "Nhập dữ liệu công dân"

    page.set_input_files("#id_file", str(upload))
    page.click("#import-form button[type=submit]")
    page.wait_for_url("**/registry/imports/*/")
    page.wait_for_function("document.getElementById('import-percent').textContent === '100'")
    assert page.locator("#import-bar").get_attribute("value") == "100"
    assert page.locator("#import-summary").inner_text() == "Đã nhập xong."
    counts = {
        key: page.locator(f"[data-count={key}]").inner_text()
        for key in ("processed_rows", "inserted", "rejected")
    }
    assert counts == {"processed_rows": "4", "inserted": "2", "rejected": "2"}
    screenshot("registry-import-progress")

    with page.expect_download() as download_info:
        page.click("#report-csv")
    report = download_info.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(report)))
    assert [r[:4] for r in rows] == [
        ["Dòng", "Cột", "Giá trị", "Mã lỗi"],
        ["4", "so_dinh_danh", WRONG_SEX, "id_sex_mismatch"],
        ["5", "so_dinh_danh", HANG, "duplicate_in_file"],
    ]
    assert rows[2][4] == "Số định danh đã có ở dòng 2 của tệp này."
    assert Citizen.objects.count() == 2

    page.goto(f"{live_server.url}/registry/")
    page.type("#q", "nguyen thi hang", delay=30)
    results = page.locator("table#results")
    results.locator("text=Nguyễn Thị Hằng").first.wait_for(timeout=10_000)
    assert "Lê Văn Tám" not in results.inner_text()
    screenshot("registry-import-search")
