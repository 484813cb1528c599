"""The personal ID number: decoding, validation, older documents and `cancuoc check-id`."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.registry.idnumber import (
    DOCUMENT_NUMBER_RULES,
    InvalidIdNumber,
    Issue,
    classify_document_number,
    decode,
    generate,
    is_valid,
    province_prefixes,
    validate,
)

# The oracle, written out independently of data/id_prefixes.tsv: the 2-digit codes of the
# 63 provinces in force before 1 July 2025.
OLD_PROVINCE_CODES = (  # noqa: SIM905 (a list literal would take 63 lines)
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 "
    "44 45 46 48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 "
    "89 91 92 93 94 95 96"
).split()
PROVINCE_PREFIXES = {"0" + code for code in OLD_PROVINCE_CODES}
FAR_FUTURE = date(2399, 12, 31)


def _oracle_known(prefix: str) -> bool:
    return prefix in PROVINCE_PREFIXES or 101 <= int(prefix) <= 295


prefixes = st.sampled_from(sorted(PROVINCE_PREFIXES)) | st.integers(101, 295).map(str)
sexes = st.sampled_from(["male", "female"])
birth_years = st.integers(1900, 2399)
serials = st.integers(0, 999_999)


def _codes(issues: list[Issue]) -> list[str]:
    return [issue.code for issue in issues]


def _mutate(number: str, position: int, digit: str) -> str:
    return number[:position] + digit + number[position + 1 :]


def test_the_prefix_table_is_the_63_pre_2025_provinces():
    table = province_prefixes()
    assert len(OLD_PROVINCE_CODES) == 63
    assert set(table) == PROVINCE_PREFIXES
    assert table["001"] == "Thành phố Hà Nội"
    assert table["020"] == "Tỉnh Lạng Sơn"
    assert table["036"] == "Tỉnh Nam Định"
    assert table["042"] == "Tỉnh Hà Tĩnh"
    assert table["079"] == "Thành phố Hồ Chí Minh"
    assert table["089"] == "Tỉnh An Giang"
    assert table["096"] == "Tỉnh Cà Mau"


# --- Properties ---------------------------------------------------------------------------


@given(prefix=prefixes, sex=sexes, birth_year=birth_years, serial=serials)
def test_a_generated_number_decodes_back_to_its_parts(prefix, sex, birth_year, serial):
    number = generate(prefix, sex, birth_year, serial)
    decoded = decode(number)

    assert len(number) == 12
    assert number.isdigit()
    assert decoded.number == number
    assert decoded.prefix == prefix
    assert decoded.sex == sex
    assert decoded.birth_year == birth_year
    assert decoded.serial == f"{serial:06d}"
    assert decoded.abroad is (int(prefix) >= 101)
    if decoded.abroad:
        assert (decoded.province_code, decoded.province_name) == (None, None)
    else:
        assert decoded.province_code == prefix[1:]
        assert decoded.province_name == province_prefixes()[prefix]
    issues = validate(number, birth_year=birth_year, sex=sex, on=FAR_FUTURE)
    assert _codes(issues) == (["suspicious_serial"] if serial == 0 else [])
    assert is_valid(number, birth_year=birth_year, sex=sex, on=FAR_FUTURE)


@given(
    prefix=prefixes,
    sex=sexes,
    birth_year=birth_years,
    serial=serials,
    position=st.integers(0, 2),
    digit=st.sampled_from("0123456789"),
)
def test_a_prefix_digit_changed_to_an_unknown_prefix_is_caught(
    prefix, sex, birth_year, serial, position, digit
):
    number = generate(prefix, sex, birth_year, serial)
    mutated = _mutate(number, position, digit)
    unknown = not _oracle_known(mutated[:3])

    codes = _codes(validate(mutated, birth_year=birth_year, sex=sex, on=FAR_FUTURE))

    # Both sides: an unknown prefix is reported, a known one (another province) is not.
    assert ("unknown_prefix" in codes) is unknown
    assert is_valid(mutated, birth_year=birth_year, sex=sex, on=FAR_FUTURE) is not unknown
    if unknown:
        with pytest.raises(InvalidIdNumber) as caught:
            decode(mutated)
        assert caught.value.codes == ["unknown_prefix"]


@given(
    prefix=prefixes,
    sex=sexes,
    birth_year=birth_years,
    serial=serials,
    position=st.integers(3, 5),
    data=st.data(),
)
def test_a_changed_century_sex_or_year_digit_disagrees_with_the_record(
    prefix, sex, birth_year, serial, position, data
):
    number = generate(prefix, sex, birth_year, serial)
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[position]))
    mutated = _mutate(number, position, digit)
    g, yy = int(mutated[3]), int(mutated[4:6])
    sex_changed = (g % 2 == 0) != (sex == "male")
    year_changed = 1900 + 100 * (g // 2) + yy != birth_year

    codes = _codes(validate(mutated, birth_year=birth_year, sex=sex))

    assert {"sex_mismatch", "birth_year_mismatch"} & set(codes)
    assert ("sex_mismatch" in codes) is sex_changed
    assert ("birth_year_mismatch" in codes) is year_changed
    assert not is_valid(mutated, birth_year=birth_year, sex=sex)


# --- Exact values -------------------------------------------------------------------------


def test_001099012345_is_a_man_born_1999_registered_in_ha_noi():
    decoded = decode("001099012345")
    assert decoded.prefix == "001"
    assert decoded.province_code == "01"
    assert decoded.province_name == "Thành phố Hà Nội"
    assert decoded.abroad is False
    assert decoded.sex == "male"
    assert decoded.birth_year == 1999
    assert decoded.serial == "012345"
    assert validate("001099012345", birth_year=1999, sex="male", on=date(2026, 1, 1)) == []


def test_042301000001_is_a_woman_born_2001_registered_in_ha_tinh():
    decoded = decode("042301000001")
    assert (decoded.province_code, decoded.province_name) == ("42", "Tỉnh Hà Tĩnh")
    assert decoded.sex == "female"
    assert decoded.birth_year == 2001
    assert generate("042", "female", 2001, 1) == "042301000001"


def test_a_prefix_from_101_to_295_is_a_birth_registered_abroad():
    for number in ("101099012345", "295099012345"):
        decoded = decode(number)
        assert (decoded.abroad, decoded.province_code, decoded.province_name) == (
            True,
            None,
            None,
        )
    for prefix in ("000", "003", "097", "099", "100", "296", "999"):
        assert _codes(validate(prefix + "099012345", on=date(2026, 1, 1))) == ["unknown_prefix"]


def test_surrounding_whitespace_is_accepted():
    assert decode(" 042099012345\n").number == "042099012345"
    assert validate("\t042099012345 ", on=date(2026, 1, 1)) == []


@pytest.mark.parametrize(
    "number",
    [
        "04209901234",
        "0420990123456",
        "04209901234a",
        "042-099-012345",
        "042 099 012345",
        "",
        "０４２０９９０１２３４５",  # full-width digits
    ],
)
def test_anything_but_12_ascii_digits_is_a_format_error(number):
    assert validate(number) == [
        Issue(
            "format",
            "error",
            "A personal ID number is exactly 12 digits.",
            "Số định danh cá nhân phải gồm đúng 12 chữ số.",
        )
    ]
    assert is_valid(number) is False
    with pytest.raises(InvalidIdNumber) as caught:
        decode(number)
    assert caught.value.codes == ["format"]


def test_a_birth_year_after_the_given_day_is_born_in_the_future():
    number = "001226012345"  # a man born in 2026
    assert validate(number, on=date(2025, 12, 31)) == [
        Issue(
            "born_in_future",
            "error",
            "Birth year 2026 is after 2025-12-31.",
            "Năm sinh 2026 sau ngày 31/12/2025.",
        )
    ]
    assert validate(number, on=date(2026, 1, 1)) == []


def test_disagreeing_sex_and_birth_year_are_both_reported_with_messages():
    assert validate("042099012345", birth_year=1998, sex="female", on=date(2026, 1, 1)) == [
        Issue(
            "sex_mismatch",
            "error",
            "The number is for a male person but the record says female.",
            "Số định danh cho giới tính nam nhưng hồ sơ ghi nữ.",
        ),
        Issue(
            "birth_year_mismatch",
            "error",
            "The number gives birth year 1999 but the record says 1998.",
            "Số định danh cho năm sinh 1999 nhưng hồ sơ ghi 1998.",
        ),
    ]


def test_an_all_zero_serial_is_a_warning_not_an_error():
    assert _codes(validate("042099000000", on=date(2026, 1, 1))) == ["suspicious_serial"]
    assert is_valid("042099000000", on=date(2026, 1, 1)) is True


def test_a_sex_other_than_male_or_female_is_a_programming_error():
    with pytest.raises(ValueError):
        validate("042099012345", sex="M")


@pytest.mark.parametrize(
    ("prefix", "sex", "birth_year", "serial"),
    [
        ("097", "male", 1999, 1),
        ("42", "male", 1999, 1),
        ("042", "M", 1999, 1),
        ("042", "male", 1899, 1),
        ("042", "male", 2400, 1),
        ("042", "male", 1999, 1_000_000),
        ("042", "male", 1999, -1),
    ],
)
def test_generate_refuses_parts_no_number_can_hold(prefix, sex, birth_year, serial):
    with pytest.raises(ValueError):
        generate(prefix, sex, birth_year, serial)


# --- Older documents ----------------------------------------------------------------------


def test_a_9_digit_cmnd_is_accepted_until_the_end_of_2024():
    rule = next(r for r in DOCUMENT_NUMBER_RULES if r.kind == "cmnd_9")
    assert rule.invalid_from == date(2025, 1, 1)
    assert "26/2023/QH15" in rule.source

    before = classify_document_number("123456789", on=date(2024, 12, 31))
    after = classify_document_number("123456789", on=date(2025, 1, 1))
    assert (before.kind, before.accepted) == ("cmnd_9", True)
    assert (after.kind, after.accepted) == ("cmnd_9", False)


def test_a_12_digit_number_is_a_personal_id_and_other_strings_are_unknown():
    twelve = classify_document_number(" 042099012345 ", on=date(2026, 1, 1))
    assert (twelve.number, twelve.kind, twelve.accepted) == ("042099012345", "personal_id", True)
    for number in ("12345", "12345678a", "1234567890", ""):
        result = classify_document_number(number, on=date(2024, 1, 1))
        assert (result.kind, result.rule, result.accepted) == ("unknown", None, False)


# --- The command --------------------------------------------------------------------------


def test_check_id_prints_one_json_line_per_number_and_fails_on_an_invalid_one():
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("check-id", "042099012345", "001099012345", "12345", stdout=out)

    assert caught.value.returncode == 1
    assert out.getvalue().splitlines() == [
        '{"number": "042099012345", "valid": true, "errors": [], "warnings": [], '
        '"province_code": "42", "province_name": "Tỉnh Hà Tĩnh", "abroad": false, '
        '"sex": "male", "birth_year": 1999}',
        '{"number": "001099012345", "valid": true, "errors": [], "warnings": [], '
        '"province_code": "01", "province_name": "Thành phố Hà Nội", "abroad": false, '
        '"sex": "male", "birth_year": 1999}',
        '{"number": "12345", "valid": false, "errors": ["format"], "warnings": [], '
        '"province_code": null, "province_name": null, "abroad": null, '
        '"sex": null, "birth_year": null}',
    ]


def test_check_id_succeeds_with_warnings_and_shows_what_an_unknown_prefix_still_tells():
    out = io.StringIO()
    call_command("check-id", "150301000000", stdout=out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {
            "number": "150301000000",
            "valid": True,
            "errors": [],
            "warnings": ["suspicious_serial"],
            "province_code": None,
            "province_name": None,
            "abroad": True,
            "sex": "female",
            "birth_year": 2001,
        }
    ]

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check-id", "097099012345", stdout=out)
    assert json.loads(out.getvalue()) == {
        "number": "097099012345",
        "valid": False,
        "errors": ["unknown_prefix"],
        "warnings": [],
        "province_code": None,
        "province_name": None,
        "abroad": False,
        "sex": "male",
        "birth_year": 1999,
    }
