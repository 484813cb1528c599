"""Pure pieces of the importer: the fast ID check, name folding, dates, the ID set, headers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.core.text import fold
from cancuoc.registry import idnumber
from cancuoc.registry.importing.columns import map_header, normalise_heading
from cancuoc.registry.importing.dedupe import SeenIds
from cancuoc.registry.importing.validation import (
    RowValidator,
    UnitRef,
    id_number_ok,
    parse_date,
    search_key,
)

TODAY = dt.date(2026, 1, 15)


@given(
    number=st.text(alphabet="0123456789", min_size=11, max_size=13),
    birth_year=st.none() | st.integers(1890, 2130),
    sex=st.sampled_from(["", "M", "F"]),
)
def test_the_fast_id_check_agrees_with_idnumber_is_valid(number, birth_year, sex):
    word = {"M": "male", "F": "female"}.get(sex)
    expected = idnumber.is_valid(number, birth_year=birth_year, sex=word, on=TODAY)
    assert id_number_ok(number, birth_year, sex, TODAY) == expected


@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyÀÁẢÃẠàáảãạĐđƠơƯư ’'-", max_size=40))
def test_search_key_is_fold(name):
    assert search_key(name) == fold(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17/05/1985", (dt.date(1985, 5, 17), "day")),
        ("7-5-1985", (dt.date(1985, 5, 7), "day")),
        ("1985-05-17", (dt.date(1985, 5, 17), "day")),
        ("05/1985", (dt.date(1985, 5, 1), "month")),
        ("1985", (dt.date(1985, 1, 1), "year")),
        (1985, (dt.date(1985, 1, 1), "year")),
        (dt.datetime(1985, 5, 17, 0, 0), (dt.date(1985, 5, 17), "day")),
    ],
)
def test_dates_keep_their_precision(text, expected):
    assert parse_date(text) == expected


def test_the_id_set_spills_to_disk_and_still_finds_duplicates():
    seen = SeenIds(limit=3)
    numbers = [f"0420850000{i:02d}" for i in range(10)]
    assert [seen.first_row(n, row) for row, n in enumerate(numbers, start=2)] == [None] * 10
    assert seen.first_row(numbers[0], 50) == 2 and seen.first_row(numbers[9], 51) == 11
    seen.close()


def test_headings_match_with_or_without_diacritics_and_overrides_win():
    assert normalise_heading("Số định danh (*)") == "so_dinh_danh"
    mapping = map_header(
        ["Số định danh", "HỌ VÀ TÊN", "Ghi chú", "Số CMND cũ", "Mã xã"],
        {"Ghi chú": "", "Số CMND cũ": "cmnd_cu"},
    )
    assert mapping.fields == {"so_dinh_danh": 0, "ho_ten": 1, "cmnd_cu": 3, "ma_xa_thuong_tru": 4}
    assert mapping.ignored == ("Ghi chú",) and mapping.missing_required == ()


def test_a_row_out_of_the_officers_scope_is_refused_even_if_valid():
    units = {
        "18100": UnitRef(1, "/2025/42/18100/", "42", True),
        "32000": UnitRef(2, "/2025/96/32000/", "96", False),
    }
    validator = RowValidator(
        fields={"so_dinh_danh": 0, "ho_ten": 1, "ma_xa_thuong_tru": 2, "ma_xa_tam_tru": 3},
        units=units,
        today=TODAY,
    )
    number = idnumber.generate("042", "male", 1980, 1)
    ok = validator.validate(2, [number, "An", "18100", ""])
    assert ok.citizen[17:19] == ("/2025/42/18100/", "42")
    moved = validator.validate(3, [number, "An", "18100", "32000"])
    assert [(i.field, i.code, i.params) for i in moved] == [
        ("ma_xa_tam_tru", "unit_out_of_scope", {"code": "32000"})
    ]


def test_a_row_with_a_bad_date_still_reports_what_is_wrong_with_its_id():
    validator = RowValidator(
        fields={"so_dinh_danh": 0, "ho_ten": 1, "ma_xa_thuong_tru": 2, "ngay_sinh": 3},
        units={"18100": UnitRef(1, "/2025/42/18100/", "42", True)},
        today=TODAY,
    )
    issues = validator.validate(7, ["12345", "An", "18100", "32/13/1990"])
    # The date and the ID number are both reported, in the row's one pass.
    assert [(i.row_number, i.field) for i in issues] == [
        (7, "ngay_sinh"),
        (7, "so_dinh_danh"),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_threaded_postgresql_writer_applies_every_chunk(world, tmp_path, settings):
    """Outside a transaction on PostgreSQL the writer thread runs with its own connection."""
    if connection.vendor != "postgresql":
        pytest.skip("the writer thread is used on PostgreSQL only")
    from cancuoc.registry.importing import pipeline
    from cancuoc.registry.importing.services import import_run, import_start_from_path
    from cancuoc.registry.models import Citizen

    lines = ["so_dinh_danh,ho_ten,ma_xa_thuong_tru"]
    lines += [f"{idnumber.generate('042', 'male', 1980, i)},Người {i},18100" for i in range(50)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    original = pipeline.chunk_size
    pipeline.chunk_size = lambda: 7  # several chunks in flight
    try:
        job = import_run(job_id=import_start_from_path(actor=None, path=path).pk, parallel=True)
    finally:
        pipeline.chunk_size = original
    assert (job.status, job.inserted, job.rejected) == ("done", 50, 0)
    assert Citizen.objects.count() == 50
