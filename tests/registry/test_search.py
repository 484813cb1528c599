"""Citizen search: query parsing, matching, ranking, scope and audit."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.core.text import fold
from cancuoc.registry import selectors
from cancuoc.registry.models import DocumentKind, FormerNumber, Household, IdentityDocument
from cancuoc.registry.selectors import ParsedQuery, citizen_search, mask_id, query_parse
from tests import factories

# --- Parsing (pure) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Thị Hằng", ParsedQuery(name="nguyen thi hang")),
        ("  THI   HANG ", ParsedQuery(name="thi hang")),
        ("042190012345", ParsedQuery(numbers=("042190012345",))),
        ("183456789", ParsedQuery(numbers=("183456789",))),
        ("hk-0042 x", ParsedQuery(name="x", numbers=("HK-0042",))),
        ("hằng 1990", ParsedQuery(name="hang", birth_year=1990)),
        ("17/05/1990", ParsedQuery(birth_date=dt.date(1990, 5, 17))),
        ("1990-05-17 an", ParsedQuery(name="an", birth_date=dt.date(1990, 5, 17))),
        ("7.5.1990", ParsedQuery(birth_date=dt.date(1990, 5, 7))),
        ("05/1990", ParsedQuery(birth_month=(1990, 5))),
        ("Hằng, (1990)", ParsedQuery(name="hang", birth_year=1990)),
        # An impossible date stays a word, so it matches nothing rather than everything.
        ("31/02/1990", ParsedQuery(name="31/02/1990")),
        # 1234 is no plausible birth year: it is an identifier.
        ("1234", ParsedQuery(numbers=("1234",))),
        ("", ParsedQuery()),
    ],
)
def test_query_parse_splits_the_box_into_filters(text, expected):
    assert query_parse(text) == expected


@given(st.text(alphabet=st.characters(categories=["L"]) | st.just(" "), max_size=40))
def test_a_query_without_digits_is_all_name_folded(text):
    parsed = query_parse(text)
    assert parsed == ParsedQuery(name=fold(text))


def test_rank_puts_whole_names_then_prefixes_then_word_starts_first():
    names = ["le thi hang", "hang van an", "nguyen thi thang", "hang", "thi hang ba"]
    ranked = sorted(names, key=lambda n: selectors.rank_key("hang", n, None, 1))
    assert ranked == ["hang", "hang van an", "le thi hang", "thi hang ba", "nguyen thi thang"]
    names = ["nguyen thi hang", "hang nguyen", "nguyen hang", "nguyen thi thang", "an nguyen hang"]
    ranked = sorted(names, key=lambda n: selectors.rank_key("nguyen hang", n, None, 1))
    assert ranked == [
        "nguyen hang",
        "an nguyen hang",
        "hang nguyen",
        "nguyen thi hang",
        "nguyen thi thang",
    ]


def test_mask_id_keeps_the_prefix_and_the_last_three_digits():
    assert mask_id("042190012345") == "042••••••345"
    assert mask_id("183456789") == "183•••789"
    assert mask_id("1234") == "••••"


# --- Matching -----------------------------------------------------------------------------


@pytest.fixture
def people(world):
    a, b, c = world.commune_a, world.commune_b, world.commune_c
    household = Household.objects.create(
        province_code="42", number="42181000001", unit=a, unit_path=a.path, address="Thôn 1"
    )
    hang = factories.citizen(
        unit=a,
        full_name="Nguyễn Thị Hằng",
        birth_date=dt.date(1990, 5, 17),
        sex="F",
        household=household,
        relationship="head",
    )
    hung = factories.citizen(
        unit=a,
        full_name="Trần Văn Hùng",
        birth_date=dt.date(1990, 1, 2),
        household=household,
        relationship="spouse",
    )
    thu = factories.citizen(
        unit=a, full_name="Lê Thị Thu Hằng", birth_date=dt.date(2001, 3, 2), sex="F"
    )
    duc = factories.citizen(unit=a, full_name="Đặng Văn Đức", birth_date=dt.date(1975, 8, 9))
    hang_b = factories.citizen(
        unit=b, full_name="Nguyễn Thị Hằng", birth_date=dt.date(1985, 2, 3), sex="F"
    )
    hang_c = factories.citizen(
        unit=c, full_name="Nguyễn Thị Hằng", birth_date=dt.date(1990, 5, 17), sex="F"
    )
    IdentityDocument.objects.create(
        citizen=hang, province_code="42", kind=DocumentKind.CMND9, number="183456789"
    )
    IdentityDocument.objects.create(
        citizen=hang_b, province_code="42", kind=DocumentKind.CMND9, number="183999999"
    )
    FormerNumber.objects.create(citizen=hung, number="020090000777", reason="sai mã tỉnh")
    return {
        "hang": hang,
        "hung": hung,
        "thu": thu,
        "duc": duc,
        "hang_b": hang_b,
        "hang_c": hang_c,
        "household": household,
    }


def _names(page) -> list[tuple[str, int]]:
    return [(c.full_name, c.birth_year) for c in page.items]


@pytest.mark.parametrize("query", ["nguyen thi hang", "Nguyễn Thị Hằng", "NGUYEN THI HANG"])
def test_a_name_is_found_whatever_the_case_and_diacritics(hana, people, query):
    page = citizen_search(user=hana, q=query)
    assert _names(page) == [("Nguyễn Thị Hằng", 1985), ("Nguyễn Thị Hằng", 1990)]
    assert (page.total, page.capped) == (2, False)


@pytest.mark.parametrize("query", ["THI HANG", "thị hằng", "Thi Hằng"])
def test_a_partial_name_ranks_the_phrase_before_scattered_words(hana, people, query):
    assert _names(citizen_search(user=hana, q=query)) == [
        ("Nguyễn Thị Hằng", 1985),
        ("Nguyễn Thị Hằng", 1990),
        ("Lê Thị Thu Hằng", 2001),
    ]


def test_a_partial_name_finds_every_name_containing_it(hana, people):
    page = citizen_search(user=hana, q="hằng")
    assert _names(page) == [
        ("Lê Thị Thu Hằng", 2001),
        ("Nguyễn Thị Hằng", 1985),
        ("Nguyễn Thị Hằng", 1990),
    ]
    assert _names(citizen_search(user=hana, q="đức")) == [("Đặng Văn Đức", 1975)]
    assert _names(citizen_search(user=hana, q="dang van duc")) == [("Đặng Văn Đức", 1975)]


def test_words_match_in_any_order_and_phrases_rank_first(hana, people):
    assert _names(citizen_search(user=hana, q="nguyen hang")) == [
        ("Nguyễn Thị Hằng", 1985),
        ("Nguyễn Thị Hằng", 1990),
    ]
    assert _names(citizen_search(user=hana, q="hằng thị")) == [
        ("Lê Thị Thu Hằng", 2001),
        ("Nguyễn Thị Hằng", 1985),
        ("Nguyễn Thị Hằng", 1990),
    ]
    assert citizen_search(user=hana, q="nguyen duc").items == []


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("nguyen thi h", True),  # still typing the last word
        ("nguyen thi hằ", True),
        ("hang", True),
        ("ng thi hang", False),  # only the last word may be unfinished
        ("thi han", True),
        ("han thi", False),
    ],
)
def test_only_the_last_word_may_be_unfinished(alice, people, query, found):
    names = _names(citizen_search(user=alice, q=query))
    assert (("Nguyễn Thị Hằng", 1990) in names) is found


def test_a_word_matches_whole_words_only(world, alice, people):
    factories.citizen(
        unit=world.commune_a, full_name="Phạm Văn Thắng", birth_date=dt.date(1970, 1, 1)
    )
    assert _names(citizen_search(user=alice, q="hang")) == [
        ("Lê Thị Thu Hằng", 2001),
        ("Nguyễn Thị Hằng", 1990),
    ]
    assert _names(citizen_search(user=alice, q="thang")) == [("Phạm Văn Thắng", 1970)]
    assert citizen_search(user=alice, q="-").items == []


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("personal id", "hang"),
        ("183456789", "hang"),  # old 9-digit CMND on a document
        ("020090000777", "hung"),  # cancelled former number
    ],
)
def test_identifiers_match_exactly(hana, people, query, who):
    number = people[who].id_number if query == "personal id" else query
    page = citizen_search(user=hana, q=number)
    assert [c.pk for c in page.items] == [people[who].pk]
    assert citizen_search(user=hana, q=number[:-1]).items == []


def test_a_household_number_lists_its_members(hana, people):
    page = citizen_search(user=hana, q="42181000001")
    assert _names(page) == [("Nguyễn Thị Hằng", 1990), ("Trần Văn Hùng", 1990)]


def test_birth_year_date_and_month_narrow_the_search(hana, people):
    assert _names(citizen_search(user=hana, q="hang 1990")) == [("Nguyễn Thị Hằng", 1990)]
    assert _names(citizen_search(user=hana, q="1990")) == [
        ("Nguyễn Thị Hằng", 1990),
        ("Trần Văn Hùng", 1990),
    ]
    assert _names(citizen_search(user=hana, q="17/05/1990")) == [("Nguyễn Thị Hằng", 1990)]
    assert _names(citizen_search(user=hana, q="01/1990")) == [("Trần Văn Hùng", 1990)]
    assert citizen_search(user=hana, q="hang 1991").items == []


def test_results_are_paginated_without_counting_beyond_the_cap(hana, people, monkeypatch):
    first = citizen_search(user=hana, q="hang", limit=2)
    second = citizen_search(user=hana, q="hang", limit=2, offset=2)
    assert (first.total, first.has_next, second.has_next) == (3, True, False)
    assert [c.pk for c in first.items + second.items] == [
        c.pk for c in citizen_search(user=hana, q="hang").items
    ]
    monkeypatch.setattr(selectors, "SEARCH_CAP", 2)
    capped = citizen_search(user=hana, q="hang")
    assert (capped.total, capped.capped, len(capped.items)) == (2, True, 2)


def test_the_list_shows_a_masked_id_number(hana, people):
    (item,) = citizen_search(user=hana, q="dang van duc").items
    assert item.masked_id == people["duc"].id_number[:3] + "••••••" + people["duc"].id_number[-3:]


# --- Scope --------------------------------------------------------------------------------


def test_alice_finds_only_commune_a(alice, people):
    assert _names(citizen_search(user=alice, q="nguyen thi hang")) == [("Nguyễn Thị Hằng", 1990)]
    assert citizen_search(user=alice, q=people["hang_b"].id_number).items == []
    assert citizen_search(user=alice, q="183999999").items == []  # B's old CMND
    assert citizen_search(user=alice, q="1985").items == []


def test_bob_never_finds_commune_a_even_through_its_household(bob, people):
    assert citizen_search(user=bob, q="42181000001").items == []
    assert _names(citizen_search(user=bob, q="hang")) == [("Nguyễn Thị Hằng", 1985)]


def test_carl_in_ca_mau_sees_only_ca_mau(carl, people):
    page = citizen_search(user=carl, q="nguyen thi hang")
    assert [c.pk for c in page.items] == [people["hang_c"].pk]


def test_the_unit_filter_narrows_within_scope_and_refuses_outside(world, hana, alice, people):
    page = citizen_search(user=hana, q="nguyen thi hang", unit_id=world.commune_b.pk)
    assert [c.pk for c in page.items] == [people["hang_b"].pk]
    before = AuditEntry.objects.count()
    with pytest.raises(OutOfScope):
        citizen_search(user=alice, q="hang", unit_id=world.commune_b.pk)
    assert AuditEntry.objects.count() == before


def test_an_inactive_user_may_not_search(world, alice, people):
    alice.is_active = False
    with pytest.raises(PermissionDenied):
        citizen_search(user=alice, q="hang")


# --- Audit --------------------------------------------------------------------------------


def test_each_search_writes_one_audit_row_not_one_per_result(world, hana, people):
    citizen_search(user=hana, q="hằng 1990")
    (entry,) = AuditEntry.objects.filter(action="citizen.search")
    assert entry.actor == hana
    assert entry.unit_path == world.hatinh.path
    assert entry.detail == {"q": "hằng 1990", "unit": None, "matches": 1, "capped": False}


def test_an_empty_query_reads_nothing_and_is_not_audited(hana, people):
    page = citizen_search(user=hana, q="   ")
    assert page.items == [] and page.query.is_empty
    assert not AuditEntry.objects.filter(action="citizen.search").exists()


def test_viewing_a_citizen_is_audited_and_out_of_scope_leaves_nothing(world, alice, people):
    citizen = selectors.citizen_view(user=alice, citizen_id=people["hang"].pk)
    assert citizen.pk == people["hang"].pk
    (entry,) = AuditEntry.objects.filter(action="citizen.view")
    assert (entry.actor, entry.object_id, entry.unit_path) == (
        alice,
        str(citizen.pk),
        world.commune_a.path,
    )
    with pytest.raises(OutOfScope):
        selectors.citizen_view(user=alice, citizen_id=people["hang_b"].pk)
    assert AuditEntry.objects.filter(action="citizen.view").count() == 1


# --- How name words are looked up (PostgreSQL) -------------------------------------------


@pytest.fixture
def frequencies(monkeypatch):
    """Word shares as PostgreSQL's statistics of the word index would give them."""
    freqs = {"nguyen": 0.4, "van": 0.3, "thi": 0.3, "hoang": 0.08, "khanh": 0.05, "kim": 0.05}
    monkeypatch.setattr(selectors, "_word_frequencies", lambda: (freqs, 0.004))
    monkeypatch.setattr(selectors, "_rows", lambda: 1_000_000.0)


def _split(name: str) -> tuple[list[str], list[str]]:
    indexed, tested = selectors._split_terms(selectors._terms(name))
    return [t.tsquery for t in indexed], [t.tsquery for t in tested]


def test_dense_queries_scan_instead_of_looking_words_up(frequencies):
    assert _split("nguyen van") == ([], ["nguyen", "van:*"])


def test_a_rare_word_is_looked_up_with_the_others(frequencies):
    assert _split("nguyen thi hang") == (["nguyen", "thi", "hang:*"], [])


def test_a_common_prefix_is_tested_on_the_rows_the_whole_words_found(frequencies):
    assert _split("nguyen hoang k") == (["nguyen", "hoang"], ["k:*"])


@pytest.mark.parametrize(
    "strategy",
    [
        lambda terms: (terms, []),  # every word from the index
        lambda terms: ([], terms),  # every word tested on the rows
        lambda terms: ([t for t in terms if not t.prefix], [t for t in terms if t.prefix]),
    ],
    ids=["indexed", "tested", "mixed"],
)
@pytest.mark.parametrize("query", ["nguyen thi hang", "thi h", "hằng", "nguyen hang", "van"])
def test_every_lookup_strategy_finds_the_same_citizens(hana, people, monkeypatch, strategy, query):
    expected = [c.pk for c in citizen_search(user=hana, q=query, audit=False).items]
    monkeypatch.setattr(selectors, "_split_terms", strategy)
    assert [c.pk for c in citizen_search(user=hana, q=query, audit=False).items] == expected
    assert expected  # the query finds someone, so the comparison means something
