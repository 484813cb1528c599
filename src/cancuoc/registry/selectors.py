"""Reads of citizens and households, always within the user's unit scope.

Citizen search takes what an officer types in one box and splits it into filters:
a 9- or 12-digit number (or any token with a digit) is an identifier (personal ID,
cancelled former number, document number or household number, matched exactly); a
4-digit year or a date filters the birth; every other word is part of the name, folded
(no diacritics, lower case). Each name word must be a word of `search_name`, in any
order, the last one possibly unfinished: "thi hang", "hằng", "nguyen hang" and
"nguyen thi h" (still typing) all find "Nguyễn Thị Hằng"; "hang" does not find "Thắng".

Search never counts a million rows: it fetches at most `SEARCH_CAP + 1` matching keys,
first the names that begin with the typed words (a B-tree range), then, if those are
fewer than the cap, the other matches (a word index on PostgreSQL); each query stops at
the cap. The keys are ranked in Python and only the page's rows are read. More than
`SEARCH_CAP` matches is reported as "capped": the officer refines the query rather
than paging through thousands of namesakes.

Reads of one citizen's personal data (`citizen_view`) and every search are audited.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Prefetch, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.scoping import prefix_q, scope_queryset
from cancuoc.core.text import fold, nfc
from cancuoc.registry.models import Citizen, FormerNumber, Household, IdentityDocument
from cancuoc.units.models import Unit

SEARCH_CAP = 200
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# How name words are looked up (see _split_terms): a query whose words together match
# 2 % of names or more is a plain scan that stops at the cap; reading a row costs about
# as much as merging 20 row ids from the index.
_DENSE = 0.02
_ROW_COST = 20
# The word index of migration 0002 and its expression, which the query must repeat.
WORD_INDEX = "citizen_name_words"
_TSVECTOR = 'to_tsvector(\'simple\'::regconfig, ("registry_citizen"."search_name")::text)'
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_YEAR = re.compile(r"^(19|20|21)\d\d$")
# Punctuation people paste around a token ("Hằng," or "(1990)") is not part of it.
_EDGE_PUNCTUATION = ".,;:()[]\"'"


# --- Query parsing (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class ParsedQuery:
    """The filters read from one search box. Every filter present must hold (AND);
    several identifiers match any of them (OR)."""

    name: str = ""  # folded
    numbers: tuple[str, ...] = ()
    birth_year: int | None = None
    birth_date: dt.date | None = None
    birth_month: tuple[int, int] | None = None  # (year, month)

    @property
    def is_empty(self) -> bool:
        return not (
            self.name or self.numbers or self.birth_year or self.birth_date or self.birth_month
        )


def _as_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _date_token(token: str) -> dt.date | None:
    if m := _DATE.match(token):
        return _as_date(int(m[3]), int(m[2]), int(m[1]))
    if m := _ISO_DATE.match(token):
        return _as_date(int(m[1]), int(m[2]), int(m[3]))
    return None


def query_parse(text: str) -> ParsedQuery:
    """Split a typed query into name, identifiers and birth filters.

    An impossible date ("31/02/1990") is kept as a name word, so it matches nothing
    rather than silently widening the search.
    """
    words: list[str] = []
    numbers: list[str] = []
    year: int | None = None
    date: dt.date | None = None
    month: tuple[int, int] | None = None
    for raw in nfc(text).split(" "):
        token = raw.strip(_EDGE_PUNCTUATION)
        if not token:
            continue
        looks_like_date = _DATE.match(token) or _ISO_DATE.match(token)
        if looks_like_date:
            parsed = _date_token(token)
            if parsed is not None:
                date = parsed
            else:
                words.append(token)
        elif (m := _MONTH.match(token)) and 1 <= int(m[1]) <= 12:
            month = (int(m[2]), int(m[1]))
        elif _YEAR.match(token):
            year = int(token)
        elif any(ch.isdigit() for ch in token):
            numbers.append(token.upper())
        else:
            words.append(token)
    return ParsedQuery(
        name=fold(" ".join(words)),
        numbers=tuple(dict.fromkeys(numbers)),
        birth_year=year,
        birth_date=date,
        birth_month=month,
    )


def rank_key(query_name: str, search_name: str, birth_year: int | None, pk: int) -> tuple:
    """Whole-name matches first, then names that start with the query, then names holding
    it as a phrase at a word start, then names where every query word starts a word
    ("nguyen hang" → "nguyen thi hang"), then the rest; alphabetical within each group."""
    padded = f" {search_name}"
    if not query_name or search_name == query_name:
        group = 0
    elif search_name.startswith(query_name):
        group = 1
    elif f" {query_name}" in padded:
        group = 2
    elif all(f" {word}" in padded for word in query_name.split(" ")):
        group = 3
    else:
        group = 4
    return (group, search_name, birth_year or 0, pk)


def mask_id(number: str) -> str:
    """Show only the birth-registration prefix and the last three digits in lists."""
    if len(number) < 8:
        return "•" * len(number)
    return number[:3] + "•" * (len(number) - 6) + number[-3:]


# --- Scoped reads -------------------------------------------------------------------------


def _require_view(user: Any) -> None:
    if not user_can(user, Capability.VIEW_REGISTRY):
        raise PermissionDenied()


def citizens_visible(*, user: Any) -> QuerySet[Citizen]:
    """Every citizen the user may see (their unit's subtree). The only way in."""
    return scope_queryset(Citizen.objects.all(), user=user)


def households_visible(*, user: Any) -> QuerySet[Household]:
    return scope_queryset(Household.objects.all(), user=user)


def search_unit_get(*, user: Any, unit_id: int) -> Unit:
    """The unit an officer narrows a search to; raises OutOfScope outside their subtree."""
    unit = scope_queryset(Unit.objects.all(), user=user).filter(pk=unit_id).first()
    if unit is None:
        raise OutOfScope()
    return unit


def search_units(*, user: Any) -> list[Unit]:
    """The choices of the unit filter: the user's own unit and the units right below it."""
    own = getattr(user, "unit", None)
    if own is None:
        return []
    children = scope_queryset(own.children.all(), user=user).order_by("edition", "name")
    # Current units first; historical (pre-2025) ones stay reachable for old records.
    return [own, *sorted(children, key=lambda u: (u.valid_to is not None, u.name))]


def _citizen_ids_by_number(numbers: tuple[str, ...]) -> list[int]:
    """Citizens holding any of these identifiers, in one round trip of indexed lookups."""
    by_id = Citizen.objects.filter(id_number__in=numbers).values_list("pk")
    by_former = FormerNumber.objects.filter(number__in=numbers).values_list("citizen_id")
    by_document = IdentityDocument.objects.filter(number__in=numbers).values_list("citizen_id")
    by_household = Citizen.objects.filter(
        household__in=Household.objects.filter(number__in=numbers)
    ).values_list("pk")
    union = by_id.union(by_former, by_document, by_household)
    return [pk for (pk,) in union]


_WORD = re.compile(r"[a-z0-9]+")


def name_words(name: str) -> list[str]:
    """The words of a folded name, as the word index splits them."""
    return list(dict.fromkeys(_WORD.findall(name)))


@dataclass(frozen=True)
class _Term:
    word: str
    prefix: bool  # the last word: may be the start of a longer word

    @property
    def tsquery(self) -> str:
        return f"{self.word}:*" if self.prefix else self.word

    @property
    def padded_like(self) -> str:
        """The same test on the name padded with spaces: " hang " or, as a prefix, " hang"."""
        return f" {self.word}" if self.prefix else f" {self.word} "


def _terms(name: str) -> list[_Term]:
    words = name_words(name)
    return [_Term(word, prefix=i == len(words) - 1) for i, word in enumerate(words)]


_stats: dict[str, Any] = {"at": -1e9, "freqs": {}, "floor": 0.0, "rows": 1.0}


def _word_frequencies() -> tuple[dict[str, float], float]:
    """Share of names holding each common word, read from PostgreSQL's statistics of the
    word index (ANALYZE keeps its most common words); refreshed every 10 minutes.
    `floor` is the rarest listed share: any unlisted word is rarer."""
    now = time.monotonic()
    if now - _stats["at"] > 600:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs "
                "FROM pg_stats WHERE tablename = %s",
                [WORD_INDEX],
            )
            row = cursor.fetchone()
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE relname = %s", [Citizen._meta.db_table]
            )
            rows = cursor.fetchone()
        _stats["rows"] = max(float(rows[0]) if rows else 1.0, 1.0)
        words, values = (row[0] or [], row[1] or []) if row else ([], [])
        _stats.update(
            at=now,
            freqs=dict(zip(words, values, strict=False)),
            floor=values[len(words)] if len(values) > len(words) else 0.0,
        )
    return _stats["freqs"], _stats["floor"]


def _rows() -> float:
    return float(_stats["rows"])


def _share(term: _Term, freqs: dict[str, float], floor: float) -> float:
    if term.prefix:
        return min(1.0, sum(f for w, f in freqs.items() if w.startswith(term.word)) + floor / 2)
    return freqs.get(term.word, floor / 2)


def _split_terms(terms: list[_Term]) -> tuple[list[_Term], list[_Term]]:
    """Which terms the word index should look up and which to test on the rows it finds.

    GIN intersects whole words cheaply (it skips through the long posting lists guided
    by the shortest), but a prefix ("h", "hoa" which also means "hoang") makes it merge
    every matching word first: a common prefix is tested on the rows instead. When the
    words together match many names, a plain scan that stops at the cap is cheapest and
    no term goes to the index.
    """
    freqs, floor = _word_frequencies()
    shares = {term: _share(term, freqs, floor) for term in terms}
    density = 1.0
    for share in shares.values():
        density *= share
    if density >= _DENSE:
        return [], terms
    exact = [t for t in terms if not t.prefix]
    prefix = [t for t in terms if t.prefix]
    if not exact or not prefix:
        return terms, []
    (last,) = prefix
    # Looking the prefix up merges every row id of its words; testing it instead reads
    # rows found by the whole words until the cap is reached. A row read costs about
    # _ROW_COST merged ids.
    found_by_exact = density / max(shares[last], 1e-9)
    rows_to_read = min(found_by_exact, (SEARCH_CAP + 1) / (_rows() * max(shares[last], 1e-9)))
    if shares[last] < rows_to_read * _ROW_COST:
        return terms, []
    return exact, prefix


def _name_filter(citizens: QuerySet[Citizen], name: str) -> QuerySet[Citizen]:
    """Every word but the last is a whole word of the name; the last may be the start of
    one (the officer may still be typing it). Any order: "nguyen hang" and "thi h" find
    "nguyen thi hang", "hang" does not find "thang".

    PostgreSQL looks the rarer words up in a GIN index of the name's words (migration
    0002) and tests the others on the rows found; SQLite tests every word on the rows in
    scope. Both test a word the same way: LIKE on the name padded with spaces.
    """
    terms = _terms(name)
    if not terms:
        return citizens.none()
    indexed, tested = _split_terms(terms) if connection.vendor == "postgresql" else ([], terms)
    if tested and connection.vendor == "sqlite":
        # A plain LIKE on the longest word first rejects most rows before the padded
        # tests build a string for each.
        citizens = citizens.filter(search_name__contains=max(terms, key=lambda t: len(t.word)).word)
    if tested:
        citizens = citizens.annotate(_padded=Concat(Value(" "), "search_name", Value(" ")))
        for term in tested:
            citizens = citizens.filter(_padded__contains=term.padded_like)
    if indexed:
        # Constant SQL; the words ([a-z0-9]+ only) travel as a parameter.
        citizens = citizens.filter(
            RawSQL(  # noqa: S611
                f"{_TSVECTOR} @@ to_tsquery('simple'::regconfig, %s)",
                [" & ".join(t.tsquery for t in indexed)],
                output_field=BooleanField(),
            )
        )
    return citizens


def _keys(citizens: QuerySet[Citizen]) -> list[tuple[str, int | None, int]]:
    """At most SEARCH_CAP + 1 (search_name, birth_year, pk) of the matches, unordered:
    the query may stop at the first rows it finds instead of sorting every match."""
    keys = citizens.order_by().values_list("search_name", "birth_year", "pk")
    return list(keys[: SEARCH_CAP + 1])


def _starts_with(phrase: str) -> Q:
    """Names beginning with `phrase`, in the form each database serves from a B-tree."""
    if connection.vendor == "sqlite":
        # SQLite's LIKE ignores indexes; a binary range over the same prefix uses one.
        return Q(search_name__gte=phrase, search_name__lt=phrase[:-1] + chr(ord(phrase[-1]) + 1))
    return Q(search_name__startswith=phrase)


def _candidate_keys(
    query: ParsedQuery, citizens: QuerySet[Citizen]
) -> list[tuple[str, int | None, int]]:
    """The matches to rank: names that begin with the typed words come first, from the
    B-tree on `search_name`; when they are fewer than the cap, the word search adds the
    rest (a name's words in any order)."""
    filtered = _filtered(query, citizens, with_name=False)
    words = name_words(query.name)
    if not query.name:
        return _keys(filtered)
    if not words:
        return []
    leading = _keys(filtered.filter(_starts_with(" ".join(words))))
    if len(leading) > SEARCH_CAP:
        return leading
    seen = {pk for _, _, pk in leading}
    rest = [key for key in _keys(_name_filter(filtered, query.name)) if key[2] not in seen]
    return (leading + rest)[: SEARCH_CAP + 1]


def _filtered(
    query: ParsedQuery, citizens: QuerySet[Citizen], *, with_name: bool = True
) -> QuerySet[Citizen]:
    if query.numbers:
        citizens = citizens.filter(pk__in=_citizen_ids_by_number(query.numbers))
    if query.name and with_name:
        citizens = _name_filter(citizens, query.name)
    if query.birth_year is not None:
        citizens = citizens.filter(birth_year=query.birth_year)
    if query.birth_date is not None:
        citizens = citizens.filter(birth_date=query.birth_date)
    if query.birth_month is not None:
        year, month = query.birth_month
        first = dt.date(year, month, 1)
        after = dt.date(year + month // 12, month % 12 + 1, 1)
        citizens = citizens.filter(birth_date__gte=first, birth_date__lt=after)
    return citizens


@dataclass
class SearchPage:
    query: ParsedQuery
    items: list[Citizen] = field(default_factory=list)
    total: int = 0  # matches found, at most SEARCH_CAP
    capped: bool = False  # more than SEARCH_CAP matched: refine the query
    offset: int = 0
    limit: int = PAGE_SIZE

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def first(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)


def citizen_search(
    *,
    user: Any,
    q: str,
    unit_id: int | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    audit: bool = True,
) -> SearchPage:
    """One page of the citizens in scope matching `q`, best matches first.

    Raises PermissionDenied without the registry capability and OutOfScope for a unit
    filter outside the user's subtree. An empty query returns an empty page and is not
    audited; any other search writes one audit row (never one per result).
    """
    _require_view(user)
    query = query_parse(q)
    offset, limit = max(offset, 0), min(max(limit, 1), MAX_PAGE_SIZE)
    unit = search_unit_get(user=user, unit_id=unit_id) if unit_id is not None else None
    if query.is_empty:
        return SearchPage(query=query, offset=offset, limit=limit)
    citizens = citizens_visible(user=user)
    if unit is not None:
        citizens = citizens.filter(prefix_q("unit_path", unit.path))
    keys = _candidate_keys(query, citizens)
    capped = len(keys) > SEARCH_CAP
    ranked = sorted(keys[:SEARCH_CAP], key=lambda k: rank_key(query.name, k[0], k[1], k[2]))
    page_ids = [pk for _, _, pk in ranked[offset : offset + limit]]
    rows = Citizen.objects.filter(pk__in=page_ids).select_related(
        "current_unit", "permanent_unit", "household"
    )
    by_pk = {c.pk: c for c in rows}
    for citizen in by_pk.values():
        # Lists show a masked number; the full one is on the audited detail page.
        citizen.masked_id = mask_id(citizen.id_number)  # type: ignore[attr-defined]
    page = SearchPage(
        query=query,
        items=[by_pk[pk] for pk in page_ids],
        total=len(ranked),
        capped=capped,
        offset=offset,
        limit=limit,
    )
    if audit:
        audit_record(
            actor=user,
            action="citizen.search",
            unit=unit or user.unit,
            detail={"q": q[:200], "unit": unit_id, "matches": page.total, "capped": capped},
        )
    return page


def citizen_unit(citizen: Citizen) -> Unit:
    """The unit that sees the citizen: where they live now, else their permanent home."""
    return citizen.current_unit or citizen.permanent_unit


def citizen_view(*, user: Any, citizen_id: int) -> Citizen:
    """One citizen with documents, former numbers and household, for a person's page.

    Reading personal data leaves an audit row; a citizen outside the scope raises
    OutOfScope and leaves nothing.
    """
    _require_view(user)
    citizen = (
        citizens_visible(user=user)
        .select_related("current_unit", "permanent_unit", "household", "household__unit")
        .prefetch_related(
            Prefetch("documents", IdentityDocument.objects.order_by("-issue_date", "-id")),
            Prefetch("former_numbers", FormerNumber.objects.order_by("cancelled_on", "id")),
        )
        .filter(pk=citizen_id)
        .first()
    )
    if citizen is None:
        raise OutOfScope()
    audit_record(actor=user, action="citizen.view", obj=citizen, unit=citizen_unit(citizen))
    return citizen


_RELATIONSHIP_ORDER = ["head", "spouse", "parent", "child", "grandchild", "sibling", "other", ""]


def household_members(*, user: Any, household: Household) -> list[Citizen]:
    """Members in scope, head first, then by relationship and age."""
    members = citizens_visible(user=user).filter(household=household).order_by("birth_date", "pk")
    return sorted(
        members,
        key=lambda c: (
            _RELATIONSHIP_ORDER.index(c.relationship)
            if c.relationship in _RELATIONSHIP_ORDER
            else len(_RELATIONSHIP_ORDER)
        ),
    )


def household_view(*, user: Any, household_id: int) -> Household:
    """One household in scope (audited: its page lists the members' personal data)."""
    _require_view(user)
    household = (
        households_visible(user=user).select_related("unit", "head").filter(pk=household_id).first()
    )
    if household is None:
        raise OutOfScope()
    audit_record(actor=user, action="household.view", obj=household)
    return household
