"""The card's MRZ: the domain's example, the ICAO specimen, and an independent checker."""

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mrz.checker.td1 import TD1CodeChecker

from cancuoc.enrolment.card import card_expiry_date
from cancuoc.enrolment.mrz import MrzError, card_mrz, check_digit, mrz_name_part, td1_mrz
from cancuoc.registry.idnumber import generate

ISSUE_FLOOR = dt.date(2016, 1, 1)  # the first chip-less CCCD cards


def test_the_synthetic_example_of_the_domain_notes_is_reproduced_exactly():
    mrz = card_mrz(
        id_number="001099012345",
        full_name="Nguyễn Văn A",
        birth_date=dt.date(1999, 1, 1),
        sex="M",
        expiry=dt.date(2024, 1, 1),
    )
    assert str(mrz) == (
        "IDVNM0990123459001099012345<<0\n"
        "9901018M2401014VNM<<<<<<<<<<<2\n"
        "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"
    )


def test_the_icao_9303_td1_specimen_check_digits():
    # ICAO 9303 part 5 specimen (Utopia): document number, birth, expiry and composite.
    assert check_digit("D23145890") == "7"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    upper = "D231458907<<<<<<<<<<<<<<<"
    middle = "7408122F1204159UTO<<<<<<<<<<<"
    assert check_digit(upper + middle[0:7] + middle[8:15] + middle[18:29]) == "6"


def test_the_icao_9303_td1_specimen_is_reproduced_exactly():
    # ICAO Doc 9303 part 5, the TD1 specimen of Utopia (Anna Maria Eriksson).
    mrz = td1_mrz(
        document_code="I",
        issuing_state="UTO",
        document_number="D23145890",
        birth="740812",
        sex="F",
        expiry="120415",
        nationality="UTO",
        surname="Eriksson",
        given_names="Anna Maria",
    )
    assert str(mrz) == (
        "I<UTOD231458907<<<<<<<<<<<<<<<\n"
        "7408122F1204159UTO<<<<<<<<<<<6\n"
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
    )
    assert TD1CodeChecker(str(mrz)).report.falses == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Đặng Thị Ánh Tuyết", "DANG<THI<ANH<TUYET"),
        ("đỗ  đức   Hưng", "DO<DUC<HUNG"),
        ("Lê Thị Hằng", "LE<THI<HANG"),
        ("Nguyễn Thị Ngọc Ánh-Nguyệt", "NGUYEN<THI<NGOC<ANH<NGUYET"),
        ("H'Hen Niê", "HHEN<NIE"),
    ],
)
def test_vietnamese_names_become_mrz_names(name, expected):
    assert mrz_name_part(name) == expected


def test_a_card_for_life_prints_no_expiry_and_still_checks():
    mrz = card_mrz(
        id_number="042058000123",
        full_name="Trần Thị Đào",
        birth_date=dt.date(1958, 6, 30),
        sex="F",
        expiry=None,
    )
    assert mrz.line2[7:18] == "F<<<<<<0VNM"
    # The independent checker accepts every check digit; it only wants a date as expiry.
    assert TD1CodeChecker(str(mrz)).report.falses == [("expiry date", False)]


def test_bad_data_is_refused():
    with pytest.raises(MrzError):
        card_mrz(
            id_number="12345", full_name="A B", birth_date=dt.date(2000, 1, 1), sex="M", expiry=None
        )
    with pytest.raises(MrzError):
        card_mrz(
            id_number="001099012345",
            full_name=" ",
            birth_date=dt.date(2000, 1, 1),
            sex="M",
            expiry=None,
        )
    with pytest.raises(MrzError):
        card_mrz(
            id_number="001099012345",
            full_name="A B",
            birth_date=dt.date(2000, 1, 1),
            sex="X",
            expiry=None,
        )


_SYLLABLES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Đặng",
    "Thị",
    "Văn",
    "Hằng",
    "Đức",
    "Ánh",
    "Quỳnh",
    "Thắng",
    "Ngọc",
    "Hữu",
    "Tuyết",
    "Xuân",
    "Ỷ",
]


@settings(max_examples=300, deadline=None)
@given(
    birth=st.dates(dt.date(1930, 1, 1), dt.date(2012, 12, 31)),
    sex=st.sampled_from(["M", "F"]),
    serial=st.integers(0, 999_999),
    words=st.lists(st.sampled_from(_SYLLABLES), min_size=2, max_size=6),
    issued_after_days=st.integers(14 * 366, 95 * 365),
)
def test_generated_mrzs_pass_an_independent_checker(birth, sex, serial, words, issued_after_days):
    # Real cards: issued from age 14 up to today, expiring by the milestone rules.
    issued = min(birth + dt.timedelta(days=issued_after_days), dt.date(2026, 11, 1))
    if issued < dt.date(2016, 1, 1):
        issued = dt.date(2016, 1, 1)
    expiry = card_expiry_date(birth_date=birth, issue_date=issued)
    number = generate("042", "male" if sex == "M" else "female", birth.year, serial)
    mrz = card_mrz(
        id_number=number, full_name=" ".join(words), birth_date=birth, sex=sex, expiry=expiry
    )
    assert all(len(line) == 30 for line in (mrz.line1, mrz.line2, mrz.line3))
    checked = TD1CodeChecker(str(mrz))
    if expiry is None:
        assert checked.report.falses == [("expiry date", False)], str(mrz)
    else:
        assert bool(checked), str(mrz)


def test_ten_thousand_random_citizens_pass_the_independent_checker():
    # Faker's Vietnamese names and the registry's own ID generator: 10,000 cards, each
    # issued on a random day from age 14 and expiring by the milestone rules.
    from faker import Faker

    fake = Faker("vi_VN")
    fake.seed_instance(20261122)
    rng = random.Random(20261122)
    for_life = 0
    for _ in range(10_000):
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 30_000))
        sex = rng.choice("MF")
        issued = max(birth + dt.timedelta(days=14 * 366 + rng.randrange(0, 80 * 365)), ISSUE_FLOOR)
        issued = min(issued, dt.date(2026, 11, 1))
        expiry = card_expiry_date(birth_date=birth, issue_date=issued)
        full_name = fake.name_male() if sex == "M" else fake.name_female()
        number = generate(
            "042", "male" if sex == "M" else "female", birth.year, rng.randrange(10**6)
        )
        mrz = card_mrz(
            id_number=number, full_name=full_name, birth_date=birth, sex=sex, expiry=expiry
        )
        report = TD1CodeChecker(str(mrz)).report
        if expiry is None:
            for_life += 1
            assert report.falses == [("expiry date", False)], str(mrz)
        else:
            assert report.falses == [], str(mrz)
        assert mrz.line3.startswith(mrz_name_part(full_name.split()[0]) + "<<"), full_name
    assert 0 < for_life < 10_000
