# ruff: noqa: E501 - the verdict table reads best one case per line
"""The legal rules of the cohort, pure: ages, regimes, the 2-year rule, verdicts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.registry import cohort_rules as rules
from cancuoc.registry.cohort_rules import Card, Person, evaluate, ymd

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))


def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@given(dates, dates)
def test_integer_age_is_the_calendar_age(birth, day):
    expected = _age(birth, day) if day >= birth else -1
    assert rules.age_on(ymd(birth), ymd(day)) == expected


@given(dates)
def test_a_birthday_on_the_day_counts_as_reached(birth):
    for age in (14, 25, 40, 60):
        day = rules.birthday(birth, age)
        assert rules.age_on(ymd(birth), ymd(day)) == age
        assert rules.age_on(ymd(birth), ymd(day - dt.timedelta(days=1))) == age - 1


def test_29_february_turns_a_year_older_on_1_march():
    birth = ymd(dt.date(2012, 2, 29))
    assert rules.age_on(birth, ymd(dt.date(2026, 2, 28))) == 13
    assert rules.age_on(birth, ymd(dt.date(2026, 3, 1))) == 14
    assert rules.birthday(dt.date(2012, 2, 29), 14) == dt.date(2026, 3, 1)


def test_regimes_switch_on_1_july_2024_and_nothing_before_2016():
    assert rules.regime_on(dt.date(2024, 6, 30)).code == "cccd_2014"
    assert rules.regime_on(dt.date(2024, 7, 1)).code == "identity_2023"
    assert rules.regime_on(dt.date(2016, 1, 1)).code == "cccd_2014"
    with pytest.raises(rules.NoRegime):
        rules.regime_on(dt.date(2015, 12, 31))


@pytest.mark.parametrize(
    ("regime", "age_at_issue", "expires_at"),
    [
        ("cccd_2014", 14, 25),
        ("cccd_2014", 22, 25),  # more than 2 years before 25
        ("cccd_2014", 23, 40),  # within 2 years before 25: lasts until 40
        ("cccd_2014", 37, 40),
        ("cccd_2014", 38, 60),
        ("cccd_2014", 57, 60),
        ("cccd_2014", 58, None),  # within 2 years before 60: for life
        ("cccd_2014", 70, None),
        ("identity_2023", 5, 14),
        ("identity_2023", 11, 14),
        ("identity_2023", 12, 25),  # within 2 years before 14
        ("identity_2023", 58, None),
    ],
)
def test_card_term_with_the_two_year_rule(regime, age_at_issue, expires_at):
    law = next(r for r in rules.REGIMES if r.code == regime)
    assert rules.card_expiry_age(age_at_issue, law) == expires_at


def test_two_year_rule_edges_in_dates():
    birth = dt.date(2001, 3, 15)
    # Issued exactly two years before the 25th birthday: inside the window, lasts to 40.
    assert rules.card_expiry(birth, dt.date(2024, 3, 15)) == dt.date(2041, 3, 15)
    # One day earlier: outside, expires on the 25th birthday.
    assert rules.card_expiry(birth, dt.date(2024, 3, 14)) == dt.date(2026, 3, 15)
    assert rules.card_expiry(dt.date(1963, 4, 1), dt.date(2021, 4, 1)) is None


@given(dates, st.integers(min_value=0, max_value=90))
def test_card_term_expires_at_a_renewal_age_at_least_window_plus_one_years_later(birth, age):
    issued = rules.birthday(birth, age)
    if issued.year < 2016:
        return
    expiry = rules.card_expiry(birth, issued)
    regime = rules.regime_on(issued)
    if expiry is None:
        assert all(age >= a - regime.window_years for a in regime.renewal_ages)
    else:
        years = _age(birth, expiry)
        assert years in regime.renewal_ages
        assert years - age > regime.window_years


D1 = dt.date(2026, 3, 15)  # Law on Identity 2023
D0 = dt.date(2021, 6, 1)  # Law on CCCD 2014


def _p(birth: dt.date | None, *cards: Card, **kw) -> Person:
    return Person(birth=ymd(birth) if birth else None, documents=cards, **kw)


def _card(kind: str, issued: dt.date, expires: dt.date | None = None, status="valid") -> Card:
    return Card(
        kind=kind, status=status, issued=ymd(issued), expires=ymd(expires) if expires else None
    )


@pytest.mark.parametrize(
    ("person", "day", "bucket", "reason"),
    [
        (_p(dt.date(2012, 3, 15)), D1, "must", "no_card"),  # 14 on the day
        (_p(dt.date(2012, 3, 16)), D1, "may", "under_14"),
        (_p(dt.date(2022, 1, 1)), D1, "may", "under_6"),
        (_p(dt.date(2012, 3, 15)), D0, "excluded", "under_age"),  # 2014 law: no card < 14
        (_p(None), D1, "must", "age_unknown"),
        (_p(dt.date(1970, 1, 1), _card("cmnd9", dt.date(2005, 1, 1), status="expired")), D1, "must", "cmnd_only"),
        (_p(dt.date(1990, 1, 1), _card("cmnd12", dt.date(2014, 1, 1), dt.date(2029, 1, 1))), D0, "must", "cmnd_only"),
        # A barcode CCCD in its term is a valid card under both laws.
        (_p(dt.date(1990, 6, 10), _card("cccd_barcode", dt.date(2017, 1, 10), dt.date(2030, 6, 10))), D1, "not_due", "valid_barcode"),
        (_p(dt.date(1985, 2, 1), _card("cccd_barcode", dt.date(2016, 5, 1), dt.date(2025, 2, 1))), D1, "must", "renewal_40"),
        # The 2-year rule at its edges, with no printed expiry to lean on.
        (_p(dt.date(2001, 3, 15), _card("cccd_chip", dt.date(2024, 3, 15), dt.date(2041, 3, 15))), D1, "not_due", "valid_card"),
        (_p(dt.date(2001, 3, 15), _card("cccd_chip", dt.date(2024, 3, 14))), D1, "must", "renewal_25"),
        # A mistyped printed expiry cannot hide the legal one.
        (_p(dt.date(2001, 3, 15), _card("cccd_chip", dt.date(2024, 3, 14), dt.date(2041, 3, 15))), D1, "must", "renewal_25"),
        # Printed expiry passed (not at a milestone): due on the expiry day itself.
        (_p(dt.date(1980, 1, 1), _card("cccd_chip", dt.date(2021, 1, 1), D1)), D1, "must", "card_expired"),
        (_p(dt.date(1980, 1, 1), _card("cccd_chip", dt.date(2021, 1, 1), D1 + dt.timedelta(days=1))), D1, "not_due", "valid_card"),
        # The newest card counts; a lost one does not.
        (_p(dt.date(1988, 9, 9), _card("cccd_chip", dt.date(2021, 6, 1), status="lost")), D1, "must", "card_lost"),
        (_p(dt.date(1995, 7, 7), Card(kind="cancuoc", status="enrolled")), D1, "excluded", "enrolled"),
        (_p(dt.date(1995, 7, 7), Card(kind="cancuoc", status="in_production")), D0, "excluded", "in_production"),
        (_p(dt.date(1940, 1, 1), deceased=True, death=ymd(dt.date(2025, 1, 10))), D1, "excluded", "deceased"),
        # Died after the day: alive on it.
        (_p(dt.date(1940, 1, 1), _card("cccd_chip", dt.date(2021, 3, 1)), deceased=True, death=ymd(dt.date(2025, 1, 10))), D0, "not_due", "valid_card"),
        # A card issued after the day does not exist yet on it.
        (_p(dt.date(2001, 3, 15), _card("cccd_chip", dt.date(2024, 3, 15))), D0, "must", "no_card"),
    ],
)  # fmt: skip
def test_verdicts_under_both_laws(person, day, bucket, reason):
    verdict = evaluate(person, day)
    assert (verdict.bucket, verdict.reason) == (bucket, reason)


def test_priority_groups():
    assert evaluate(_p(dt.date(1946, 1, 1)), D1).group == "home_visit"  # 80
    assert evaluate(_p(dt.date(1947, 1, 1)), D1).group == "regular"  # 79
    assert evaluate(_p(dt.date(1980, 1, 1), flags=rules.DISABILITY), D1).group == "home_visit"
    assert evaluate(_p(dt.date(2010, 1, 1), flags=rules.STUDENT), D1).group == "school"
    both = rules.STUDENT | rules.ILLNESS
    assert evaluate(_p(dt.date(2010, 1, 1), flags=both), D1).group == "home_visit"


card_kinds = st.sampled_from(["cmnd9", "cmnd12", "cccd_barcode", "cccd_chip", "cancuoc"])
statuses = st.sampled_from(["valid", "expired", "lost", "cancelled", "enrolled", "in_production"])
cards = st.builds(
    lambda kind, status, issued, expires: Card(
        kind=kind, status=status, issued=ymd(issued) if issued else None,
        expires=ymd(expires) if expires else None,
    ),
    card_kinds, statuses,
    st.none() | st.dates(dt.date(1999, 1, 1), dt.date(2030, 1, 1)),
    st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2080, 1, 1)),
)  # fmt: skip
people = st.builds(
    lambda birth, docs, dead, flags: Person(
        birth=ymd(birth) if birth else None, documents=tuple(docs), deceased=dead, flags=flags
    ),
    st.none() | st.dates(dt.date(1920, 1, 1), dt.date(2025, 12, 31)),
    st.lists(cards, max_size=4),
    st.booleans(),
    st.integers(min_value=0, max_value=63),
)
days = st.dates(dt.date(2016, 1, 1), dt.date(2040, 12, 31))


@given(people, days)
def test_every_citizen_gets_exactly_one_known_verdict(person, day):
    verdict = evaluate(person, day)
    assert verdict.reason in rules.REASONS[verdict.bucket]
    if person.deceased:
        assert (verdict.bucket, verdict.reason) == ("excluded", "deceased")
    elif any(c.status in ("enrolled", "in_production") for c in person.documents):
        assert verdict.bucket == "excluded"


@given(people, days)
def test_a_new_valid_card_issued_today_takes_a_living_citizen_out_of_the_cohort(person, day):
    if person.deceased or any(c.status in ("enrolled", "in_production") for c in person.documents):
        return
    if person.birth is None or person.birth > ymd(day):
        return
    fresh = Card(kind="cancuoc", status="valid", issued=ymd(day) + 0, expires=None)
    renewed = Person(birth=person.birth, documents=(*person.documents, fresh), flags=person.flags)
    # The 2-year rule guarantees a card issued today is not already due today.
    assert evaluate(renewed, day).bucket == "not_due"


@given(people, days)
def test_must_holds_only_from_fourteen_or_unknown_age(person, day):
    verdict = evaluate(person, day)
    if verdict.bucket == "must":
        assert verdict.age is None or verdict.age >= 14
    if verdict.bucket == "may":
        assert rules.regime_on(day).code == "identity_2023" and verdict.age < 14
