"""The cohort on the database: hand-computed counts under both laws, SQL = pure rules, scope."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection

from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.registry import cohort_rules as rules
from cancuoc.registry.cohort import cohort_counts, cohort_list, cohort_page
from cancuoc.registry.models import Citizen, IdentityDocument
from cancuoc.registry.population import population_generate
from tests import factories

D1 = dt.date(2026, 3, 15)  # Law on Identity 2023
D0 = dt.date(2021, 6, 1)  # Law on CCCD 2014
_names = iter(f"Công Dân {i}" for i in range(1000))


def _citizen(unit, birth: dt.date, *docs: tuple, sex="M", **fields) -> Citizen:
    person = factories.citizen(
        unit=unit, full_name=next(_names), birth_date=birth, sex=sex, **fields
    )
    for kind, issued, expiry, status in docs:
        IdentityDocument.objects.create(
            citizen=person, province_code="42", kind=kind, number=person.id_number,
            issue_date=issued, expiry_date=expiry, status=status,
        )  # fmt: skip
    return person


@pytest.fixture
def town(world):
    """Twenty citizens whose verdicts on D1 and D0 are worked out by hand (see comments)."""
    a, d = world.commune_a, dt.date
    _citizen(a, d(2012, 3, 15))  # a: 14 on D1 → must no_card; D0 under_age
    _citizen(a, d(2012, 3, 16))  # b: 13 → may under_14; D0 under_age
    _citizen(a, d(2022, 1, 1))  # c: 4 → may under_6; D0 not born: not counted
    # d: 25 on D1, card issued exactly 2 years before → lasts to 40; D0: no card yet
    _citizen(a, d(2001, 3, 15), ("cccd_chip", d(2024, 3, 15), d(2041, 3, 15), "valid"))
    # e: same birthday, card one day earlier → expires on D1 → renewal_25; D0: no card yet
    _citizen(a, d(2001, 3, 15), ("cccd_chip", d(2024, 3, 14), d(2026, 3, 15), "valid"))
    # f: card expires the day after D1 → valid on D1 and D0
    _citizen(a, d(2001, 3, 16), ("cccd_chip", d(2021, 5, 1), d(2026, 3, 16), "valid"))
    # g: barcode CCCD in its term → valid_barcode on both days
    _citizen(a, d(1990, 6, 10), ("cccd_barcode", d(2017, 1, 10), d(2030, 6, 10), "valid"))
    # h: barcode expired at 40 (2025-02-01) → D1 renewal_40; D0 valid_barcode
    _citizen(a, d(1985, 2, 1), ("cccd_barcode", d(2016, 5, 1), d(2025, 2, 1), "expired"))
    _citizen(a, d(1970, 1, 1), ("cmnd9", d(2005, 1, 1), d(2020, 1, 1), "expired"))  # i: cmnd_only
    # j: old CMND cancelled, chip to 60 → valid both days
    _citizen(
        a, d(1970, 5, 5),
        ("cmnd9", d(2000, 1, 1), d(2015, 1, 1), "cancelled"),
        ("cccd_chip", d(2021, 4, 1), d(2030, 5, 5), "valid"),
    )  # fmt: skip
    # k: died 2025-01-10 → D1 deceased; D0 alive, but the card is cancelled now → card_lost
    _citizen(
        a, d(1940, 1, 1), ("cccd_chip", d(2021, 3, 1), None, "cancelled"),
        life_status="deceased", death_date=d(2025, 1, 10),
    )  # fmt: skip
    _citizen(a, d(1995, 7, 7), ("cancuoc", None, None, "enrolled"))  # l: enrolled
    _citizen(
        a, d(1996, 8, 8),
        ("cccd_chip", d(2021, 2, 2), d(2036, 8, 8), "valid"),
        ("cancuoc", None, None, "in_production"),
    )  # fmt: skip  # m: in_production
    _citizen(a, d(1988, 9, 9), ("cccd_chip", d(2021, 6, 1), d(2028, 9, 9), "lost"))  # n: card_lost
    # o: birth year only (stored as 1 January): 80 on D1 → home visit; frail
    _citizen(a, d(1946, 1, 1), birth_precision="year", frail_elderly=True)
    _citizen(a, d(2010, 1, 20), school="Trường THPT Thạch Hà", grade="10")  # p: student
    _citizen(world.commune_b, d(1980, 1, 1))  # r: commune B, no card
    # s58: chip at exactly 58 → for life; s57: at 57 → expires at 60 (2023-04-02)
    _citizen(a, d(1963, 4, 1), ("cccd_chip", d(2021, 4, 1), None, "valid"))
    _citizen(a, d(1963, 4, 2), ("cccd_chip", d(2021, 4, 1), d(2023, 4, 2), "valid"))
    _citizen(a, d(1990, 1, 1), ("cmnd12", d(2014, 1, 1), d(2029, 1, 1), "valid"))  # t
    return world


def test_counts_under_the_2023_law_match_the_hand_computation(town, hana):
    result = cohort_counts(user=hana, unit=town.hatinh, on=D1)
    t = result.tally
    assert result.regime.code == "identity_2023"
    assert t.total == 20
    assert t.buckets == {"must": 10, "may": 2, "excluded": 3, "not_due": 5}
    assert t.reasons == {
        "must:no_card": 4,  # a, o, p, r
        "must:renewal_25": 1,  # e
        "must:renewal_40": 1,  # h
        "must:renewal_60": 1,  # s57
        "must:cmnd_only": 2,  # i, t
        "must:card_lost": 1,  # n
        "may:under_14": 1,
        "may:under_6": 1,
        "excluded:deceased": 1,
        "excluded:enrolled": 1,
        "excluded:in_production": 1,
        "not_due:valid_card": 4,  # d, f, j, s58
        "not_due:valid_barcode": 1,  # g
    }
    assert t.groups["home_visit"] == {"must": 1, "excluded": 1}  # o; k (86, deceased)
    assert t.groups["school"] == {"must": 1}  # p
    assert t.bands["14-17"] == {"must": 2}  # a (14 today), p (16)
    assert t.bands["0-5"] == {"may": 1}
    by_unit = {u.code: counts for u, _, counts in result.by_unit}
    assert by_unit["18200"] == {"must": 1}
    assert sum(by_unit["18100"].values()) == 19


def test_counts_under_the_2014_law_match_the_hand_computation(town, hana):
    result = cohort_counts(user=hana, unit=town.hatinh, on=D0)
    t = result.tally
    assert result.regime.code == "cccd_2014"
    assert t.total == 19  # c was not born yet
    assert t.reasons == {
        "must:no_card": 4,  # d, e (their cards come later), o, r
        "must:cmnd_only": 2,  # i, t
        # n; and k, whose card was cancelled at death: statuses are today's, not D0's.
        "must:card_lost": 2,
        "excluded:under_age": 3,  # a, b, p
        "excluded:enrolled": 1,
        "excluded:in_production": 1,
        "not_due:valid_card": 4,  # f, j, s58, s57
        "not_due:valid_barcode": 2,  # g, h
    }
    assert "may" not in t.buckets


def test_the_list_gives_the_same_people_as_the_counts(town, hana):
    rows = list(cohort_list(user=hana, unit=town.hatinh, on=D1, bucket="must"))
    assert len(rows) == 10
    assert Counter(r.verdict.reason for r in rows)["no_card"] == 4
    renewal = list(
        cohort_list(user=hana, unit=town.hatinh, on=D1, bucket="must", reason="renewal_25")
    )
    assert [r.birth_date for r in renewal] == [dt.date(2001, 3, 15)]
    school = list(cohort_list(user=hana, unit=town.hatinh, on=D1, bucket="must", group="school"))
    assert [r.school for r in school] == ["Trường THPT Thạch Hà"]


def test_scope_limits_units_and_people(town, alice, carl, hana):
    mine = cohort_counts(user=alice, unit=town.commune_a, on=D1)
    assert mine.tally.total == 19
    with pytest.raises(OutOfScope):
        cohort_counts(user=alice, unit=town.hatinh, on=D1)
    with pytest.raises(OutOfScope):
        cohort_counts(user=alice, unit=town.commune_b, on=D1)
    with pytest.raises(OutOfScope):
        list(cohort_list(user=carl, unit=town.commune_a, on=D1))
    assert cohort_counts(user=carl, unit=town.camau, on=D1).tally.total == 0


def test_a_date_before_any_law_is_refused(town, hana):
    with pytest.raises(DomainError):
        cohort_counts(user=hana, unit=town.hatinh, on=dt.date(2015, 6, 1))


def _naive(on: dt.date) -> Counter[tuple[str, str, str]]:
    """Per citizen through the ORM and the pure rules: what the SQL must reproduce."""
    found: Counter[tuple[str, str, str]] = Counter()
    day = rules.ymd(on)
    for c in Citizen.objects.prefetch_related("documents"):
        birth = c.birth_date or (dt.date(c.birth_year, 1, 1) if c.birth_year else None)
        if birth is not None and birth > on:
            continue
        flags = (
            rules.FRAIL * c.frail_elderly + rules.DISABILITY * c.disability
            + rules.ILLNESS * c.serious_illness + rules.ALONE * c.living_alone
            + rules.WAR_MERIT * c.war_merit + rules.STUDENT * bool(c.school)
        )  # fmt: skip
        person = rules.Person(
            birth=rules.ymd(birth) if birth else None,
            deceased=c.life_status == "deceased",
            death=rules.ymd(c.death_date) if c.death_date else None,
            documents=tuple(
                rules.Card(
                    kind=d.kind, status=d.status,
                    issued=rules.ymd(d.issue_date) if d.issue_date else None,
                    expires=rules.ymd(d.expiry_date) if d.expiry_date else None,
                )
                for d in c.documents.all()
            ),
            flags=flags,
        )  # fmt: skip
        verdict = rules.evaluate_key(rules.cohort_key(person, day), rules.regime_on(on), day)
        found[(verdict.bucket, verdict.reason, verdict.group)] += 1
    return found


@pytest.mark.parametrize("on", [dt.date(2021, 6, 1), dt.date(2024, 6, 30), dt.date(2026, 7, 1)])
def test_sql_agrees_with_the_pure_rules_on_a_generated_population(world, hana, on):
    population_generate(province=world.hatinh, people=1500, seed=11)
    result = cohort_counts(user=hana, unit=world.hatinh, on=on)
    listed = Counter(
        (r.verdict.bucket, r.verdict.reason, r.verdict.group)
        for bucket in rules.BUCKETS
        for r in cohort_list(user=hana, unit=world.hatinh, on=on, bucket=bucket)
    )
    naive = _naive(on)
    assert listed == naive
    assert result.tally.total == sum(naive.values())
    reasons = Counter()
    for (bucket, reason, _), n in naive.items():
        reasons[f"{bucket}:{reason}"] += n
    assert result.tally.reasons == dict(reasons)
    assert result.tally.buckets["must"] > 0 and result.tally.buckets["not_due"] > 0


# --- Speed without a change of result (the grouped SQL and the paged list) ---------------


def _keys(age: int) -> list[rules.CohortKey]:
    """A spread of keys at one age: every kind of card and term, flags, applications."""
    found = []
    for kind in (None, *rules.CARD_KINDS):
        for legal_age in (None, *sorted({a for r in rules.REGIMES for a in r.renewal_ages})):
            for printed in (False, True):
                for flags in (0, rules.FRAIL, rules.STUDENT):
                    for dead, applied, cmnd, gone in (
                        (False, None, False, False), (True, None, False, False),
                        (False, "enrolled", False, False), (False, None, True, True),
                    ):  # fmt: skip
                        found.append(
                            rules.CohortKey(
                                age=age, dead=dead, applied=applied, cmnd=cmnd, gone=gone,
                                card_kind=kind, card_legal_age=legal_age,
                                card_legal_due=legal_age is not None and age >= legal_age,
                                card_printed_due=printed and kind is not None, flags=flags,
                            )
                        )  # fmt: skip
    return found


@pytest.mark.parametrize("regime", rules.REGIMES, ids=lambda r: r.code)
def test_ages_in_one_step_get_the_same_verdict_band_and_group(regime):
    for age in range(0, 131):
        step = rules.age_step(age, rules.AGE_STEPS)
        assert step <= age and rules.age_band(step) == rules.age_band(age)
        for key in _keys(age):
            stepped = rules.CohortKey(
                **{
                    **{f: getattr(key, f) for f in key.__dataclass_fields__},
                    "age": step,
                    "card_legal_due": key.card_legal_age is not None and step >= key.card_legal_age,
                }
            )
            exact = rules.evaluate_key(key, regime, 20260701)
            grouped = rules.evaluate_key(stepped, regime, 20260701)
            assert (grouped.bucket, grouped.reason, grouped.group) == (
                exact.bucket, exact.reason, exact.group,
            ), (age, key)  # fmt: skip


@pytest.mark.parametrize("regime", rules.REGIMES, ids=lambda r: r.code)
def test_ages_at_issue_in_one_step_get_the_same_legal_term(regime):
    assert rules.age_step(-1, rules.ISSUE_AGE_STEPS) == rules.ISSUE_AGE_STEPS[0] - 1
    for age in range(-1, 131):
        step = rules.age_step(age, rules.ISSUE_AGE_STEPS)
        assert rules.card_expiry_age(step, regime) == rules.card_expiry_age(age, regime), age


def _pure(on: dt.date) -> dict[int, tuple[str, str, str, int | None]]:
    """Verdict (and exact age) per citizen through the ORM and the pure rules."""
    found = {}
    day = rules.ymd(on)
    for c in Citizen.objects.prefetch_related("documents"):
        birth = c.birth_date or (dt.date(c.birth_year, 1, 1) if c.birth_year else None)
        if birth is not None and birth > on:
            continue
        person = rules.Person(
            birth=rules.ymd(birth) if birth else None,
            deceased=c.life_status == "deceased",
            death=rules.ymd(c.death_date) if c.death_date else None,
            documents=tuple(
                rules.Card(
                    kind=d.kind, status=d.status,
                    issued=rules.ymd(d.issue_date) if d.issue_date else None,
                    expires=rules.ymd(d.expiry_date) if d.expiry_date else None,
                )
                for d in c.documents.all()
            ),
            flags=rules.STUDENT * bool(c.school),
        )  # fmt: skip
        v = rules.evaluate_key(rules.cohort_key(person, day), rules.regime_on(on), day)
        found[c.pk] = (v.bucket, v.reason, v.group, v.age)
    return found


@pytest.mark.parametrize("on", [dt.date(2028, 2, 29), dt.date(2027, 2, 28), dt.date(2027, 3, 1)])
def test_29_february_and_the_edges_of_every_age_step_agree_with_the_pure_rules(world, hana, on):
    """Birthdays and card issues on both sides of each step, around 29 February."""
    a, d, day = world.commune_a, dt.date, dt.timedelta(days=1)
    births = set()
    for age in rules.AGE_STEPS:
        year = on.year - age
        for month, dom in ((on.month, on.day), (2, 28), (3, 1)):
            try:
                edge = d(year, month, dom)
            except ValueError:  # 29 February in a common year
                edge = d(year, 3, 1)
            births.update({edge - day, edge, edge + day})
    for birth in sorted(births):
        _citizen(a, birth)
    for birth in (d(2000, 2, 29), d(1968, 2, 29), d(2001, 3, 1), d(1969, 2, 28)):
        for step in rules.ISSUE_AGE_STEPS:
            turned = rules.birthday(birth, step)
            for issued in (turned - day, turned, turned + day, d(turned.year, 2, 28)):
                if d(2016, 1, 1) <= issued <= on:
                    _citizen(a, birth, ("cccd_chip", issued, None, "valid"))
    sql = {
        r.citizen_id: (r.verdict.bucket, r.verdict.reason, r.verdict.group, r.verdict.age)
        for bucket in rules.BUCKETS
        for r in cohort_list(user=hana, unit=world.hatinh, on=on, bucket=bucket)
    }
    assert sql == _pure(on)
    counts = cohort_counts(user=hana, unit=world.hatinh, on=on).tally
    assert counts.total == len(sql)


def test_pages_walked_or_read_whole_are_slices_of_the_list(world, hana, monkeypatch):
    from cancuoc.registry import cohort as module

    population_generate(province=world.hatinh, people=600, seed=5)
    on = dt.date(2026, 7, 1)
    counts = cohort_counts(user=hana, unit=world.hatinh, on=on)
    for bucket, reason in (("must", ""), ("may", ""), ("not_due", ""), ("must", "cmnd_only")):
        whole = [
            r.citizen_id
            for r in cohort_list(user=hana, unit=world.hatinh, on=on, bucket=bucket, reason=reason)
        ]
        assert whole, bucket
        for walk_limit in (10**9, 0):  # always walk; never walk
            monkeypatch.setattr(module, "WALK_LIMITS", {connection.vendor: walk_limit})
            for offset in (0, 7, len(whole) - 3):
                page = cohort_list(
                    user=hana, unit=world.hatinh, on=on, bucket=bucket, reason=reason,
                    offset=offset, limit=10, codes=counts.codes,
                )  # fmt: skip
                assert [r.citizen_id for r in page] == whole[offset : offset + 10]
        count, rows = cohort_page(
            user=hana, unit=world.hatinh, on=on, bucket=bucket, reason=reason, offset=2, limit=5
        )
        assert count == len(whole) and [r.citizen_id for r in rows] == whole[2:7]
