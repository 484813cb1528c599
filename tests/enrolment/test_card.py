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


def _on(birth: dt.date, years: int, days: int = 0) -> dt.date:
    """The day ``birth`` + ``years`` (29 February → 1 March) shifted by ``days``."""
    try:
        day = birth.replace(year=birth.year + years)
    except ValueError:
        day = dt.date(birth.year + years, 3, 1)
    return day + dt.timedelta(days=days)


B = dt.date(1990, 6, 10)  # 2014-law cards (issued before 1/7/2024)
K = dt.date(2012, 8, 20)  # 2023-law cards for the young


@pytest.mark.parametrize(
    ("law", "birth", "issued", "expires"),
    [
        # 2014 law: milestones 25, 40, 60; none at 14.
        ("2014", dt.date(2005, 5, 1), dt.date(2019, 5, 1), dt.date(2030, 5, 1)),  # at 14 → 25
        ("2014", B, _on(B, 22, -1), _on(B, 25)),  # a day more than 2 years before 25 → 25
        ("2014", B, _on(B, 23), _on(B, 40)),  # exactly 2 years before 25 → 40
        ("2014", dt.date(1980, 6, 10), dt.date(2018, 6, 9), dt.date(2020, 6, 10)),  # → 40
        ("2014", dt.date(1980, 6, 10), dt.date(2018, 6, 10), dt.date(2040, 6, 10)),  # 38 → 60
        ("2014", dt.date(1960, 6, 10), dt.date(2018, 6, 9), dt.date(2020, 6, 10)),  # → 60
        ("2014", dt.date(1960, 6, 10), dt.date(2018, 6, 10), None),  # 58 → for life
        ("2014", dt.date(1950, 1, 1), dt.date(2021, 3, 1), None),  # 71 → for life
        # 2023 law: milestones 14, 25, 40, 60.
        ("2023", K, dt.date(2024, 8, 19), _on(K, 14)),  # aged 11, not within 2 years → 14
        ("2023", K, dt.date(2024, 8, 20), _on(K, 25)),  # exactly 2 years before 14 → 25
        ("2023", dt.date(2019, 3, 1), dt.date(2025, 3, 1), dt.date(2033, 3, 1)),  # 6 → 14
        ("2023", dt.date(2000, 2, 29), dt.date(2024, 7, 1), dt.date(2040, 2, 29)),  # → 40
        ("2023", dt.date(1986, 1, 2), dt.date(2025, 1, 2), dt.date(2046, 1, 2)),  # 39 → 60
        ("2023", dt.date(1967, 9, 30), dt.date(2025, 9, 29), dt.date(2027, 9, 30)),  # → 60
        ("2023", dt.date(1967, 9, 30), dt.date(2025, 9, 30), None),  # 58 → for life
    ],
)
def test_the_expiry_table_under_both_laws(law, birth, issued, expires):
    regime_starts = dt.date(2024, 7, 1)
    assert (issued >= regime_starts) == (law == "2023")
    assert card_expiry_date(birth_date=birth, issue_date=issued) == expires
