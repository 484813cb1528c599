"""Card expiry by the milestone rules of both laws, and the QR payload."""

import datetime as dt

import pytest

from cancuoc.enrolment.card import card_expiry_date, card_qr_payload

BIRTH = dt.date(2000, 3, 15)


@pytest.mark.parametrize(
    ("issued", "expires"),
    [
        # Law on Citizen Identification 2014: renew at 25, 40, 60.
        (dt.date(2021, 3, 1), dt.date(2025, 3, 15)),  # age 20 → expires at 25
        (dt.date(2023, 3, 14), dt.date(2025, 3, 15)),  # one day before 23: still 25
        # Law on Identity 2023 (from 1/7/2024): same milestones for adults.
        (dt.date(2024, 7, 1), dt.date(2040, 3, 15)),  # age 24, within 2 years of 25 → 40
        (dt.date(2023, 3, 15), dt.date(2040, 3, 15)),  # exactly 2 years before 25 → 40
        (dt.date(2025, 3, 15), dt.date(2040, 3, 15)),  # on the 25th birthday → 40
    ],
)
def test_expiry_by_milestones_and_the_two_year_rule(issued, expires):
    assert card_expiry_date(birth_date=BIRTH, issue_date=issued) == expires


def test_a_child_card_under_the_2023_law_expires_at_14():
    assert card_expiry_date(
        birth_date=dt.date(2018, 5, 2), issue_date=dt.date(2024, 9, 1)
    ) == dt.date(2032, 5, 2)


def test_a_card_issued_after_58_is_for_life():
    birth = dt.date(1960, 1, 10)
    assert card_expiry_date(birth_date=birth, issue_date=dt.date(2018, 1, 10)) is None
    assert card_expiry_date(birth_date=birth, issue_date=dt.date(2018, 1, 9)) == dt.date(
        2020, 1, 10
    )


def test_the_qr_payload_joins_the_fields_with_bars():
    payload = card_qr_payload(
        id_number="042090001234",
        old_cmnd="183456789",
        full_name="Nguyễn Thị Hằng",
        birth_date=dt.date(1990, 5, 17),
        sex="F",
        residence="Thôn 3, Xã Thạch Hà, Hà Tĩnh",
        issue_date=dt.date(2025, 8, 1),
    )
    assert payload == (
        "042090001234|183456789|Nguyễn Thị Hằng|17051990|Nữ|Thôn 3, Xã Thạch Hà, Hà Tĩnh|01082025"
    )


def test_a_bar_inside_a_field_is_refused():
    with pytest.raises(ValueError, match="contains"):
        card_qr_payload(
            id_number="042090001234",
            old_cmnd="",
            full_name="A|B",
            birth_date=dt.date(1990, 5, 17),
            sex="M",
            residence="",
            issue_date=dt.date(2025, 8, 1),
        )
