"""The synthetic population: sizes, validity, planted problems counted exactly, idempotence."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from cancuoc.registry import idnumber
from cancuoc.registry.cohort_rules import card_expiry
from cancuoc.registry.models import Citizen, Household, IdentityDocument
from cancuoc.registry.population import (
    IMPORT_COLUMNS,
    PLANTED,
    REFERENCE_DATE,
    population_generate,
    population_rows,
)

PEOPLE = 3_000
_PHONE = re.compile(r"0\d{9}")


@pytest.fixture
def generated(world):
    counts = population_generate(province=world.hatinh, people=PEOPLE, seed=7)
    return world, counts


def _detect() -> Counter[str]:
    """Re-detect every planted rule from the stored rows, independently of the generator."""
    found: Counter[str] = Counter()
    citizens = list(Citizen.objects.values())
    docs_by_citizen: dict[int, list[dict]] = {}
    for doc in IdentityDocument.objects.values():
        docs_by_citizen.setdefault(doc["citizen_id"], []).append(doc)
    keys: Counter[tuple] = Counter()
    for c in citizens:
        number = c["id_number"]
        docs = docs_by_citizen.get(c["id"], [])
        if len(number) != 12 or not number.isdigit():
            found["id_malformed"] += 1
        else:
            decoded = idnumber.decode(number, require_known_prefix=False)
            if not (decoded.province_code or decoded.abroad):
                found["id_unknown_prefix"] += 1
            elif c["sex"] and decoded.sex != {"M": "male", "F": "female"}[c["sex"]]:
                found["id_sex_mismatch"] += 1
            elif c["birth_year"] != decoded.birth_year:
                found["id_year_mismatch"] += 1
        keys[(c["search_name"], c["birth_date"], c["place_of_origin"])] += 1
        birth = c["birth_date"]
        if (
            birth > REFERENCE_DATE
            or birth.year < 1900
            or (c["death_date"] and c["death_date"] < birth)
            or any(d["issue_date"] and d["issue_date"] < birth for d in docs)
        ):
            found["impossible_date"] += 1
        if not (c["full_name"] and c["birth_year"] and c["sex"] and c["place_of_origin"]):
            found["missing_required"] += 1
        if c["life_status"] == "deceased" and any(d["status"] == "valid" for d in docs):
            found["deceased_with_valid_card"] += 1
        if c["phone"] and not _PHONE.fullmatch(c["phone"]):
            found["phone_invalid"] += 1
        if docs and all(d["kind"] == "cmnd9" for d in docs):
            found["cmnd9_only"] += 1
    found["duplicate_person"] = sum(n - 1 for n in keys.values() if n > 1)
    heads = Counter(
        Citizen.objects.filter(relationship="head").values_list("household_id", flat=True)
    )
    for household in Household.objects.values_list("id", flat=True):
        if heads[household] == 0:
            found["household_without_head"] += 1
        elif heads[household] > 1:
            found["household_several_heads"] += 1
    return found


def test_counts_match_the_database_and_every_planted_problem_is_found_exactly(generated):
    _, counts = generated
    assert Citizen.objects.count() == counts["citizens"] == PEOPLE
    assert Household.objects.count() == counts["households"]
    assert IdentityDocument.objects.count() == counts["documents"]
    found = _detect()
    for rule in [*PLANTED, "household_without_head", "household_several_heads", "cmnd9_only"]:
        assert found[rule] == counts[rule], rule
    for rule, share in PLANTED.items():
        assert counts[rule] == round(PEOPLE * share), rule
    assert counts["household_without_head"] + counts["household_several_heads"] >= 1


def test_people_live_in_the_province_communes_with_valid_numbers_mostly_own_prefix(generated):
    world, _ = generated
    citizens = Citizen.objects.all()
    assert {c.permanent_unit_id for c in citizens} <= {world.commune_a.pk, world.commune_b.pk}
    assert all(c.unit_path.startswith(world.hatinh.path) for c in citizens)
    assert all(c.province_code == "42" for c in citizens)
    numbers = [c.id_number for c in citizens]
    assert len(set(numbers)) == len(numbers)
    own = sum(n.startswith("042") for n in numbers)
    assert 0.88 < own / len(numbers) < 0.97
    valid = [n for n in numbers if idnumber.is_valid(n)]
    assert len(valid) / len(numbers) > 0.98


def test_pyramid_households_and_documents_look_like_vietnam(generated):
    _, counts = generated
    ages = [REFERENCE_DATE.year - y for y in Citizen.objects.values_list("birth_year", flat=True)]
    children = sum(a < 15 for a in ages) / len(ages)
    elderly = sum(a >= 65 for a in ages) / len(ages)
    assert 0.20 < children < 0.29  # 2019 census: about 24 %
    assert 0.05 < elderly < 0.12  # about 8 %
    sizes = Counter(Citizen.objects.values_list("household_id", flat=True)).values()
    assert max(sizes) <= 8 and min(sizes) >= 1  # 1-7, plus a planted duplicate at most
    assert 3.0 < counts["citizens"] / counts["households"] < 4.2
    adults = Citizen.objects.filter(birth_year__lte=REFERENCE_DATE.year - 20)
    holders = adults.filter(documents__kind__in=["cccd_chip", "cancuoc"]).distinct().count()
    assert holders / adults.count() > 0.7
    cmnd_only = counts["cmnd9_only"] / adults.count()
    assert 0.02 < cmnd_only < 0.07
    # Chip cards carry the legal expiry (2-year rule) for their holder's birth date.
    chips = IdentityDocument.objects.filter(kind="cccd_chip").select_related("citizen")[:200]
    for doc in chips:
        if doc.citizen.birth_precision == "day" and doc.issue_date >= doc.citizen.birth_date:
            assert doc.expiry_date == card_expiry(doc.citizen.birth_date, doc.issue_date)
    students = Citizen.objects.exclude(school="")
    assert students.exists() and all(s.grade.isdigit() for s in students[:50])


def test_same_seed_twice_inserts_nothing(generated):
    world, _ = generated
    before = Citizen.objects.count(), IdentityDocument.objects.count()
    again = population_generate(province=world.hatinh, people=PEOPLE, seed=7)
    assert again["skipped"] == 1 and again["citizens"] == 0
    assert (Citizen.objects.count(), IdentityDocument.objects.count()) == before


def test_rows_are_the_same_people_in_the_import_format(world):
    rows = list(
        population_rows(
            province_code="42", communes=[world.commune_a, world.commune_b], people=500, seed=3
        )
    )
    assert len(rows) == 500
    assert all(tuple(row) == IMPORT_COLUMNS for row in rows)
    population_generate(province=world.hatinh, people=500, seed=3)
    stored = dict(Citizen.objects.values_list("id_number", "full_name"))
    assert {r["so_dinh_danh"]: r["ho_ten"] for r in rows} == stored
    assert {r["ma_xa_thuong_tru"] for r in rows} == {"18100", "18200"}
    assert all(r["gioi_tinh"] in ("Nam", "Nữ") for r in rows)
    born = [r["ngay_sinh"] for r in rows]
    assert all(re.fullmatch(r"(\d\d/)?(\d\d/)?\d{4}", b) for b in born)
    first = rows[0]
    assert (
        dt.datetime.strptime(first["ngay_sinh"], "%d/%m/%Y")
        if len(first["ngay_sinh"]) == 10
        else True
    )


def test_without_quality_problems_nothing_is_planted(world):
    counts = population_generate(province=world.hatinh, people=400, seed=5, quality_problems=False)
    found = _detect()
    for rule in [*PLANTED, "household_without_head", "household_several_heads"]:
        assert counts[rule] == 0 and found[rule] == 0, rule
