"""The cohort: who is due for an identity card on a date, in a unit subtree.

Set-based for speed. One SQL statement reduces every citizen of the subtree to one integer,
the *key code*: a `CohortKey` (age step on the day, dead or not, applied or not, CMND held,
the current card's kind, the holder's age step at its issue, the law of its issue day and
whether its printed expiry has passed, priority flags) packed in mixed radix. It groups by
unit and code; the law (`cohort_rules.evaluate_key`) then runs once per distinct code, not
once per citizen. A province of 1.1 million people comes back as a few thousand groups.

The documents are folded into one row per citizen (a LEFT JOIN grouped on the citizen id,
which PostgreSQL merges off both primary-key orders without sorting): the current card is
picked with MAX over one packed integer (issue date, kind, printed expiry), which both
SQLite and PostgreSQL compute without window functions. Ages are steps compared against
threshold dates worked out in Python (`rules.AGE_STEPS`), so no row converts a date.

Lists use the same codes: the counts tell which codes give the wanted verdicts and how
many citizens have them, so a page either walks the citizens in list order until it is full
or reads the subtree once for the matching ids (see `_Query`).

Everything goes through `core.scoping`: the unit must be in the user's scope, and the
citizens are filtered with the user's scope condition as well as the unit's subtree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import prefix_q, scope_queryset, unit_in_scope
from cancuoc.registry import cohort_rules as rules
from cancuoc.registry.models import Citizen, IdentityDocument
from cancuoc.units.models import Unit

__all__ = [
    "BUCKET_LABELS",
    "GROUP_LABELS",
    "REASON_LABELS",
    "CohortCounts",
    "CohortRow",
    "cohort_counts",
    "cohort_list",
    "cohort_page",
    "cohort_units",
]


@dataclass
class CohortCounts:
    unit: Unit
    on: date
    regime: rules.Regime
    tally: rules.Tally
    #: (unit, counts by bucket) for the unit's children (or the unit itself), by name.
    by_unit: list[tuple[Unit | None, str, dict[str, int]]] = field(default_factory=list)
    #: Citizens by key code (see `_statement`): a list of the same unit and day uses them.
    codes: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "unit": {"id": self.unit.pk, "code": self.unit.code, "name": self.unit.name},
            "on": self.on.isoformat(),
            "regime": {
                "code": self.regime.code,
                "title": str(REGIME_TITLES.get(self.regime.code, self.regime.title)),
            },
            "total": t.total,
            "buckets": {b: t.buckets.get(b, 0) for b in rules.BUCKETS},
            "reasons": dict(sorted(t.reasons.items())),
            "age_bands": {
                label: t.bands[label]
                for label in [b[0] for b in rules.AGE_BANDS] + [rules.AGE_UNKNOWN]
                if label in t.bands
            },
            "priority_groups": t.groups,
            "units": [
                {"code": u.code if u else path, "name": u.name if u else path, "counts": counts}
                for u, path, counts in self.by_unit
            ],
        }


@dataclass(frozen=True, slots=True)
class CohortRow:
    citizen_id: int
    id_number: str
    full_name: str
    birth_date: date | None
    birth_precision: str
    sex: str
    unit_path: str
    phone: str
    school: str
    grade: str
    verdict: rules.Verdict


# --- Access -------------------------------------------------------------------------------


def _check(user: Any, unit: Unit | None) -> Unit:
    if not user_can(user, Capability.VIEW_REGISTRY):
        raise PermissionDenied
    if unit is None or not unit_in_scope(user, unit):
        raise OutOfScope
    return unit


def _regime(on: date) -> rules.Regime:
    try:
        return rules.regime_on(on)
    except rules.NoRegime:
        raise DomainError(
            _("No identity-card law in the rules table is in force on %(date)s.")
            % {"date": on.strftime("%d/%m/%Y")}
        ) from None


def cohort_units(*, user: Any) -> list[Unit]:
    """Units a user may run the cohort for: their own unit and the current units below it."""
    if not user_can(user, Capability.VIEW_REGISTRY) or user.unit is None:
        return []
    own = user.unit
    below = scope_queryset(Unit.objects.filter(prefix_q("path", own.path)), user=user)
    below = below.exclude(pk=own.pk).filter(valid_to__isnull=True, edition="2025")
    return [own, *below.order_by("path")]


# --- SQL ----------------------------------------------------------------------------------
#
# The statement reduces every citizen to one integer, the *key code*: the `CohortKey`
# components packed in mixed radix (`_RADICES`). Ages enter as the step of
# `rules.AGE_STEPS` they fall in, found by comparing the birth date with a few threshold
# dates worked out in Python for the reference day, so no row pays for a date conversion;
# the age at issue of the current card likewise becomes its step of `rules.ISSUE_AGE_STEPS`.
# Whatever a row needs twice is computed once in the per-citizen row (`_per_citizen`).
# Measured on 1.1 M citizens: exact ages and a date conversion per row made 120,000 groups
# and 6-14 s; steps make about 17,000 groups (69 units) and 2-3 s.


def _in(values: tuple[str, ...]) -> str:
    # Constants from cohort_rules, never input.
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _scope_where(user: Any, unit: Unit, alias: str) -> tuple[str, list[Any]]:
    """The WHERE clause for the subtree in the user's scope, as Django compiles it, on the
    citizen table under ``alias``."""
    queryset = scope_queryset(Citizen.objects.filter(prefix_q("unit_path", unit.path)), user=user)
    query = queryset.query
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.compile(query.where)
    table = Citizen._meta.db_table
    sql = sql.replace(f'"{table}".', f"{alias}.").replace(f"{table}.", f"{alias}.")
    return sql, list(params)


_EPOCH = date(1900, 1, 1)
# A card packed into one integer so that MAX picks the newest: issue, kind, printed expiry
# (each date as the vendor's number, see `_Dates`; no expiry = for life, sorts last).
_PACK_ISSUE = 10_000_000_000
_PACK_KIND = 1_000_000_000
_LIFETIME = 999_999_999


def _latest_birth(on: date, age: int) -> date:
    """The latest birth date that is ``age`` or older on ``on`` (yyyymmdd arithmetic: a
    29 February birthday is reached on 1 March)."""
    try:
        return on.replace(year=on.year - age)
    except ValueError:  # 29 February on the day, the year ``age`` back has none
        return date(on.year - age, 2, 28)


class _Dates:
    """Dates in SQL as each database handles them cheaply.

    PostgreSQL: dates are day numbers inside; subtracting gives days since 1900 for free.
    SQLite: dates are 'YYYY-MM-DD' text; stripping the dashes gives a yyyymmdd integer.
    Both orders agree with the dates, which is all the card packing needs.
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def literal(self, day: date) -> str:
        return f"DATE '{day.isoformat()}'" if self.postgres else f"'{day.isoformat()}'"

    def number(self, column: str) -> str:
        if self.postgres:
            return f"({column} - DATE '1900-01-01')"
        return f"CAST(REPLACE({column}, '-', '') AS INTEGER)"

    def number_of(self, day: date) -> int:
        return (day - _EPOCH).days if self.postgres else rules.ymd(day)

    def birth_number(self, c: str) -> str:
        """The birth as a number; known only to the year: 1 January (module doc)."""
        if self.postgres:
            born = f"COALESCE({c}.birth_date, MAKE_DATE({c}.birth_year, 1, 1))"
            return f"({born} - DATE '1900-01-01')"
        return (
            f"COALESCE(CAST(REPLACE({c}.birth_date, '-', '') AS INTEGER), "
            f"{c}.birth_year * 10000 + 101)"
        )

    def document_flags(self) -> str:
        """What the documents say besides the current card, as applied * 4 + cmnd * 2 + gone
        (applied: 2 enrolled, 1 in production; cmnd: an old CMND held; gone: a card lost or
        cancelled). Statuses exclude each other, so each document sets one thing at most."""
        cmnd = f"doc.kind IN {_in(rules.CMND_KINDS)} AND doc.status IN {_in(rules.HELD_STATUSES)}"
        gone = f"doc.kind IN {_in(rules.CARD_KINDS)} AND doc.status IN {_in(rules.GONE_STATUSES)}"
        if self.postgres:
            # One aggregate: enrolled and in production as their own bits, then folded.
            bits = (
                f"BIT_OR(CASE WHEN doc.status = 'enrolled' THEN 8 "
                f"WHEN doc.status = 'in_production' THEN 4 "
                f"WHEN {cmnd} THEN 2 WHEN {gone} THEN 1 ELSE 0 END)"
            )
            return f"CASE WHEN {bits} & 8 <> 0 THEN 8 + ({bits} & 3) ELSE {bits} END"
        return (
            f"MAX(CASE WHEN doc.status = 'enrolled' THEN 8 "
            f"WHEN doc.status = 'in_production' THEN 4 ELSE 0 END) "
            f"+ MAX(CASE WHEN {cmnd} THEN 2 ELSE 0 END) + MAX(CASE WHEN {gone} THEN 1 ELSE 0 END)"
        )

    def issue_step(self, issue: str, span: str) -> str:
        """The code of the holder's age step on the issue day (`_ISSUE_AGES`), given the
        issue as a number and ``span``, the issue minus the birth (numbers)."""
        # (code, age) of each step: codes 0 and 1 are "none" and "below the first step".
        steps = [(i + 2, age) for i, age in enumerate(rules.ISSUE_AGE_STEPS)]
        if not self.postgres:  # yyyymmdd: whole years are exact
            exact = " ".join(f"WHEN {span} >= {age * 10000} THEN {i}" for i, age in reversed(steps))
            return f"CASE {exact} ELSE 1 END"
        # In days, ``age`` years lie between two bounds whatever the leap years; only the few
        # cards issued between them need the calendar: the issue date minus ``age`` years,
        # which keeps yyyymmdd order (29 February minus a year is the 28th), against the
        # birth date.
        whens: list[str] = []
        for i, age in reversed(steps):
            low, high = 365 * age + age // 4 - 2, 365 * age + (age + 3) // 4 + 2
            issued = f"(DATE '1900-01-01' + CAST({issue} AS INTEGER))"
            born = f"(DATE '1900-01-01' + CAST({issue} - {span} AS INTEGER))"
            exact = f"{issued} - INTERVAL '{age} years' >= {born}"
            whens.append(f"WHEN {span} >= {high} THEN {i}")
            whens.append(f"WHEN {span} >= {low} THEN CASE WHEN {exact} THEN {i} ELSE {i - 1} END")
        return f"CASE {' '.join(whens)} ELSE 1 END"


#: Values of each key component, in the order of their codes (None: unknown / no card).
_AGES: tuple[int | None, ...] = (None, rules.AGE_STEPS[0] - 1, *rules.AGE_STEPS)
_ISSUE_AGES: tuple[int | None, ...] = (
    None,
    rules.ISSUE_AGE_STEPS[0] - 1,
    *rules.ISSUE_AGE_STEPS,
)
_APPLIED: tuple[str | None, ...] = (None, "in_production", "enrolled")
_KINDS: tuple[str | None, ...] = (None, *rules.KIND_BY_CODE.values())
_FLAGS = 2 * rules.STUDENT  # flag bits are below this
#: (name, radix) of each component, most significant first; the citizen's own come first.
_CITIZEN_RADICES: tuple[tuple[str, int], ...] = (
    ("age", len(_AGES)),
    ("dead", 2),
    ("flags", _FLAGS),
)
_CARD_RADICES: tuple[tuple[str, int], ...] = (
    # applied * 4 + cmnd * 2 + gone: one column of the per-citizen row (`document_flags`)
    ("docs", len(_APPLIED) * 4),
    ("kind", len(_KINDS)),
    ("issue_age", len(_ISSUE_AGES)),
    ("regime", len(rules.REGIMES) + 1),
    ("printed", 2),
)
_RADICES = _CITIZEN_RADICES + _CARD_RADICES


def _pack_sql(parts: dict[str, str], radices: tuple[tuple[str, int], ...]) -> str:
    code = ""
    for name, radix in radices:
        code = f"({code}) * {radix} + {parts[name]}" if code else parts[name]
    return code


def _unpack(code: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for name, radix in reversed(_RADICES):
        code, values[name] = divmod(code, radix)
    return values


def _citizen_code(c: str, on: date, dates: _Dates) -> str:
    """The citizen's own key components, packed (row alias ``c``)."""
    steps = [(i + 2, age) for i, age in enumerate(rules.AGE_STEPS)]  # as in _AGES
    by_date = " ".join(
        f"WHEN {c}.birth_date <= {dates.literal(_latest_birth(on, age))} THEN {i}"
        for i, age in reversed(steps)
    )
    by_year = " ".join(
        f"WHEN {c}.birth_year <= {on.year - age} THEN {i}" for i, age in reversed(steps)
    )
    flags = " + ".join(
        f"CASE WHEN {c}.{column} THEN {bit} ELSE 0 END"
        for column, bit in (
            ("frail_elderly", rules.FRAIL),
            ("disability", rules.DISABILITY),
            ("serious_illness", rules.ILLNESS),
            ("living_alone", rules.ALONE),
            ("war_merit", rules.WAR_MERIT),
            ("school <> ''", rules.STUDENT),
        )
    )
    parts = {
        "age": (
            f"CASE WHEN {c}.birth_date IS NOT NULL THEN CASE {by_date} ELSE 1 END "
            f"WHEN {c}.birth_year IS NOT NULL THEN CASE {by_year} ELSE 1 END ELSE 0 END"
        ),
        "dead": (
            f"CASE WHEN {c}.life_status = 'deceased' AND ({c}.death_date IS NULL OR "
            f"{c}.death_date <= {dates.literal(on)}) THEN 1 ELSE 0 END"
        ),
        "flags": f"({flags})",
    }
    return _pack_sql(parts, _CITIZEN_RADICES)


def _born(c: str, on: date, dates: _Dates) -> str:
    """Born on or before the day (or of unknown birth)."""
    return (
        f"({c}.birth_date <= {dates.literal(on)} OR ({c}.birth_date IS NULL AND "
        f"({c}.birth_year IS NULL OR {c}.birth_year <= {on.year})))"
    )


def _code(t: str, on: date, dates: _Dates) -> str:
    """The whole key code of a per-citizen row (alias ``t``, see `_per_citizen`)."""
    card = f"{t}.card"
    issue = f"({card} / {_PACK_ISSUE})"
    regimes = " ".join(
        f"WHEN {issue} >= {dates.number_of(r.effective_from)} THEN {i + 1}"
        for i, r in reversed(list(enumerate(rules.REGIMES)))
    )
    parts = {
        "docs": f"COALESCE({t}.docs, 0)",
        "kind": f"CASE WHEN {card} IS NULL THEN 0 ELSE ({card} / {_PACK_KIND}) %% 10 END",
        # No card, no issue date or no birth: no span, no step.
        "issue_age": (
            f"CASE WHEN {t}.span IS NULL OR {issue} = 0 THEN 0 "
            f"ELSE {dates.issue_step(issue, f'{t}.span')} END"
        ),
        "regime": (
            f"CASE WHEN {card} IS NULL OR {issue} = 0 THEN 0 ELSE CASE {regimes} ELSE 1 END END"
        ),
        "printed": (
            f"CASE WHEN {card} IS NOT NULL AND {card} %% {_PACK_KIND} <= "
            f"{dates.number_of(on)} THEN 1 ELSE 0 END"
        ),
    }
    below = math.prod(radix for _, radix in _CARD_RADICES)
    return f"{t}.citizen_code * {below} + {_pack_sql(parts, _CARD_RADICES)}"


_LISTED = (
    "id_number",
    "full_name",
    "birth_date",
    "birth_precision",
    "sex",
    "phone",
    "school",
    "grade",
    "birth_year",
    "search_name",
)


def _per_citizen(where: str, on: date, dates: _Dates, *, columns: tuple[str, ...] = ()) -> str:
    """One row per citizen of the subtree: the citizen's own code and its documents folded
    (LEFT JOIN and MAX aggregates; the current card is the MAX of a packed integer).

    Everything a row needs more than once is computed here, once per citizen."""
    c = Citizen._meta.db_table
    d = IdentityDocument._meta.db_table
    kind_code = "CASE doc.kind " + " ".join(
        f"WHEN '{kind}' THEN {code}" for kind, code in rules.KIND_CODES.items()
    )
    card = (
        f"MAX(CASE WHEN doc.kind IN {_in(rules.CARD_KINDS)} AND doc.status IN "
        f"{_in(rules.HELD_STATUSES)} AND (doc.issue_date IS NULL OR doc.issue_date <= "
        f"{dates.literal(on)}) "
        f"THEN CAST(COALESCE({dates.number('doc.issue_date')}, 0) AS BIGINT) * {_PACK_ISSUE} "
        f"+ CAST({kind_code} ELSE 0 END AS BIGINT) * {_PACK_KIND} "
        f"+ COALESCE({dates.number('doc.expiry_date')}, {_LIFETIME}) END)"
    )
    listed = "".join(f"c.{column} AS {column}, " for column in columns)
    return (
        f"SELECT c.id AS id, c.unit_path AS unit_path, {listed}"  # noqa: S608 - constants
        f"{_citizen_code('c', on, dates)} AS citizen_code, "
        f"{dates.document_flags()} AS docs, "
        f"{card} AS card, "
        f"{card} / {_PACK_ISSUE} - {dates.birth_number('c')} AS span "
        f"FROM {c} c LEFT JOIN {d} doc ON doc.citizen_id = c.id "
        f"WHERE {where} AND {_born('c', on, dates)} GROUP BY c.id"
    )


def _order(t: str) -> str:
    """Unit and name order, byte by byte: SQLite's binary collation, and on PostgreSQL the
    order of the (unit_path, search_name) pattern index, so a page can walk that index."""
    if connection.vendor == "postgresql":
        return f"{t}unit_path USING ~<~, {t}search_name USING ~<~, {t}id"
    return f"{t}unit_path, {t}search_name, {t}id"


def _statement(
    user: Any,
    unit: Unit,
    on: date,
    *,
    codes: list[int] | None = None,
    ids: list[int] | None = None,
) -> tuple[str, list[Any]]:
    """The cohort SQL. Built from model meta and cohort_rules constants only; dates, key
    codes and citizen ids are rendered from integers computed here, and everything from the
    request travels as parameters (the scope).

    By default the counts: (unit path, key code, number of citizens). With ``codes``: the
    ids of the citizens with those codes, in list order. With ``ids``: those citizens, what
    a list shows of them and their code, in list order.
    """
    dates = _Dates()
    where, params = _scope_where(user, unit, "c")
    code = _code("t", on, dates)
    if codes is not None:
        # Narrow rows through the fold and the sort; the page's rows are read by id.
        source = _per_citizen(where, on, dates, columns=("search_name",))
        chosen = ", ".join(str(int(code)) for code in codes or [-1])
        sql = f"SELECT t.id FROM ({source}) t WHERE {code} IN ({chosen})"  # noqa: S608
        return f"{sql} ORDER BY {_order('t.')}", params
    if ids is None:
        source = _per_citizen(where, on, dates)
        sql = f"SELECT t.unit_path, {code} AS code, COUNT(*) FROM ({source}) t"  # noqa: S608
        return f"{sql} GROUP BY 1, 2", params
    where = f"{where} AND c.id IN ({', '.join(str(int(i)) for i in ids)})"
    source = _per_citizen(where, on, dates, columns=_LISTED)
    columns = ", ".join(f"t.{column}" for column in ("id", "unit_path", *_LISTED))
    sql = f"SELECT {columns}, {code} AS code FROM ({source}) t"  # noqa: S608 - constants
    return f"{sql} ORDER BY {_order('t.')}", params


def _walk_statement(user: Any, unit: Unit, on: date) -> tuple[str, list[Any]]:
    """The ids of the subtree's citizens in list order, read off the index as they come."""
    where, params = _scope_where(user, unit, "c")
    table = Citizen._meta.db_table
    born = _born("c", on, _Dates())
    sql = f"SELECT c.id FROM {table} c WHERE {where} AND {born}"  # noqa: S608 - constants
    return f"{sql} ORDER BY {_order('c.')}", params


def _tune(cursor: Any) -> None:
    """PostgreSQL: JIT compilation costs seconds and gains nothing on these one-pass
    queries; a whole list (an export) sorts in memory rather than on disk."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")


def _key(code: int) -> rules.CohortKey:
    v = _unpack(code)
    age = _AGES[v["age"]]
    card_kind = _KINDS[v["kind"]]
    issue_age = _ISSUE_AGES[v["issue_age"]]
    legal_age: int | None = None
    legal_due = False
    if card_kind is not None and issue_age is not None and v["regime"]:
        legal_age = rules.card_expiry_age(issue_age, rules.REGIMES[v["regime"] - 1])
        legal_due = legal_age is not None and age is not None and age >= legal_age
    return rules.CohortKey(
        age=age,
        dead=bool(v["dead"]),
        applied=_APPLIED[v["docs"] // 4],
        cmnd=bool(v["docs"] // 2 % 2),
        gone=bool(v["docs"] % 2),
        card_kind=card_kind,
        card_legal_age=legal_age,
        card_legal_due=legal_due,
        card_printed_due=bool(v["printed"]) and card_kind is not None,
        flags=v["flags"],
    )


class _Judge:
    """Verdicts per key code, memoised: the law runs once per kind of citizen. The age in
    these verdicts is the step's (see `rules.AGE_STEPS`); lists put the exact age back."""

    def __init__(self, on: date) -> None:
        self.on = on
        self.day = rules.ymd(on)
        self.regime = _regime(on)
        self.cache: dict[int, rules.Verdict] = {}

    def __call__(self, code: int) -> rules.Verdict:
        verdict = self.cache.get(code)
        if verdict is None:
            verdict = rules.evaluate_key(_key(code), self.regime, self.day)
            self.cache[code] = verdict
        return verdict


def _child_path(unit: Unit, path: str) -> str:
    rest = path[len(unit.path) :]
    if not rest:
        return unit.path
    return unit.path + rest.split("/", 1)[0] + "/"


# --- Selectors ----------------------------------------------------------------------------


def cohort_counts(*, user: Any, unit: Unit | None, on: date) -> CohortCounts:
    """Counts by bucket, reason, age band, priority group and child unit."""
    unit = _check(user, unit)
    judge = _Judge(on)
    sql, params = _statement(user, unit, on)
    tally = rules.Tally()
    codes: dict[int, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor)
        cursor.execute(sql, params)
        for path, code, count in cursor.fetchall():
            codes[code] = codes.get(code, 0) + count
            tally.add(judge(code), _child_path(unit, path), count)
    children = {u.path: u for u in Unit.objects.filter(path__in=list(tally.units))}
    by_unit = sorted(
        ((children.get(path), path, counts) for path, counts in tally.units.items()),
        key=lambda item: item[0].name if item[0] else item[1],
    )
    return CohortCounts(
        unit=unit, on=on, regime=judge.regime, tally=tally, by_unit=by_unit, codes=codes
    )


def cohort_list(
    *,
    user: Any,
    unit: Unit | None,
    on: date,
    bucket: str = "must",
    reason: str = "",
    group: str = "",
    band: str = "",
    audit_action: str = "registry.cohort.list",
    offset: int = 0,
    limit: int | None = None,
    codes: dict[int, int] | None = None,
) -> Iterator[CohortRow]:
    """The citizens of one bucket (optionally one reason, priority group, age band), streamed
    in unit and name order; ``offset`` and ``limit`` cut one page out of it. Writes one audit
    row: the list is personal data.

    ``codes`` are the citizens by key code of the same unit and day (`CohortCounts.codes`,
    which a page has at hand); without them a grouped pass like the counts' finds them. They
    tell which codes give the wanted verdicts and how many citizens have them, hence the
    plan: a page of a large list walks the citizens in list order and stops when it is full;
    a whole list, or a page of a rare one, reads the subtree once and keeps the matches.
    """
    unit = _check(user, unit)
    judge = _Judge(on)
    # The console operator of `cancuoc cohort` is no account: the entry names it instead.
    account = user if isinstance(user, Model) else None
    audit_record(
        actor=account,
        action=audit_action,
        unit=unit,
        detail={
            "on": on.isoformat(),
            "bucket": bucket,
            "reason": reason,
            "group": group,
            **({} if account else {"by": user.get_username()}),
        },
    )
    query = _Query(user, unit, on, judge, _Wanted(bucket, reason, group, band), codes)
    return query.rows(offset, limit)


def cohort_page(
    *,
    user: Any,
    unit: Unit | None,
    on: date,
    bucket: str = "must",
    reason: str = "",
    group: str = "",
    band: str = "",
    offset: int = 0,
    limit: int = 100,
    codes: dict[int, int] | None = None,
    audit_action: str = "registry.cohort.list",
) -> tuple[int, list[CohortRow]]:
    """One page of `cohort_list` and the length of the whole list."""
    unit = _check(user, unit)
    judge = _Judge(on)
    if codes is None:
        with transaction.atomic(), connection.cursor() as cursor:
            _tune(cursor)
            codes = _codes(cursor, user, unit, on)
    wanted = _Wanted(bucket, reason, group, band)
    count = sum(n for code, n in codes.items() if wanted(judge(code)))
    rows = cohort_list(
        user=user, unit=unit, on=on, bucket=bucket, reason=reason, group=group, band=band,
        audit_action=audit_action, offset=offset, limit=limit, codes=codes,
    )  # fmt: skip
    return count, list(rows)


def _codes(cursor: Any, user: Any, unit: Unit, on: date) -> dict[int, int]:
    """Citizens by key code in the subtree on the day (one grouped pass)."""
    sql, params = _statement(user, unit, on)
    cursor.execute(sql, params)
    codes: dict[int, int] = {}
    for _path, code, count in cursor.fetchall():
        codes[code] = codes.get(code, 0) + count
    return codes


@dataclass(frozen=True)
class _Wanted:
    bucket: str
    reason: str
    group: str
    band: str

    def __call__(self, verdict: rules.Verdict) -> bool:
        return (
            (not self.bucket or verdict.bucket == self.bucket)
            and (not self.reason or verdict.reason == self.reason)
            and (not self.group or verdict.group == self.group)
            and (not self.band or rules.age_band(verdict.age) == self.band)
        )


#: A page walks the list when it expects to read at most this many citizens to fill it.
#: Measured on a province of 1.1 M (2 cores): a walk reads about 30,000 citizens a second on
#: PostgreSQL and 65,000 on SQLite; reading the whole subtree takes 2-3 s.
WALK_LIMITS = {"postgresql": 60_000, "sqlite": 150_000}
#: Citizens whose codes are worked out per round trip of a walk: few for a first page,
#: more as the walk goes on.
WALK_CHUNKS = (500, 1000, 2000, 4000)


@dataclass
class _Query:
    user: Any
    unit: Unit
    on: date
    judge: _Judge
    wanted: _Wanted
    codes: dict[int, int] | None

    def rows(self, offset: int, limit: int | None) -> Iterator[CohortRow]:
        with transaction.atomic(), connection.cursor() as cursor:
            _tune(cursor)
            codes = self.codes
            if codes is None:
                codes = _codes(cursor, self.user, self.unit, self.on)
            chosen = sorted(code for code in codes if self.wanted(self.judge(code)))
            matched = sum(codes[code] for code in chosen)
            if not matched or limit == 0 or offset >= matched:
                return
            walk_limit = WALK_LIMITS.get(connection.vendor, min(WALK_LIMITS.values()))
            if limit is not None and (offset + limit) * sum(codes.values()) <= walk_limit * matched:
                yield from self._walk(cursor, offset, limit)
                return
            sql, params = _statement(self.user, self.unit, self.on, codes=chosen)
            if limit is not None or offset:
                everything = "ALL" if connection.vendor == "postgresql" else "-1"
                sql += f" LIMIT {everything if limit is None else int(limit)} OFFSET {int(offset)}"
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
            for start in range(0, len(ids), WALK_CHUNKS[-1]):
                yield from self._read(cursor, ids[start : start + WALK_CHUNKS[-1]])

    def _read(self, cursor: Any, ids: list[int]) -> Iterator[CohortRow]:
        """The rows of these citizens (consecutive in the list), in list order."""
        sql, params = _statement(self.user, self.unit, self.on, ids=ids)
        cursor.execute(sql, params)
        yield from self._matches(cursor.fetchall())

    def _walk(self, cursor: Any, offset: int, limit: int) -> Iterator[CohortRow]:
        """Citizens in list order off the index, their codes worked out chunk by chunk, until
        the page is full. PostgreSQL streams the ids through a server-side cursor."""
        skip, left = offset, limit
        sql, params = _walk_statement(self.user, self.unit, self.on)
        with connection.chunked_cursor() as walk:
            walk.execute(sql, params)
            sizes = itertools.chain(WALK_CHUNKS, itertools.repeat(WALK_CHUNKS[-1]))
            while ids := [row[0] for row in walk.fetchmany(next(sizes))]:
                for row in self._read(cursor, ids):
                    if skip:
                        skip -= 1
                        continue
                    yield row
                    left -= 1
                    if not left:
                        return

    def _matches(self, chunk: list[tuple[Any, ...]]) -> Iterator[CohortRow]:
        day = self.judge.day
        for row in chunk:
            verdict = self.judge(row[-1])
            if not self.wanted(verdict):
                continue
            (citizen_id, path, number, name, birth, precision, sex, phone, school, grade,
             year) = row[:11]  # fmt: skip
            if isinstance(birth, str):  # SQLite through a raw cursor
                birth = date.fromisoformat(birth)
            known = rules.ymd(birth) if birth else year * 10000 + 101 if year else None
            yield CohortRow(
                citizen_id=citizen_id,
                id_number=number,
                full_name=name,
                birth_date=birth,
                birth_precision=precision,
                sex=sex,
                unit_path=path,
                phone=phone,
                school=school,
                grade=grade,
                # The verdict's age is its step's: the list shows the exact age.
                verdict=replace(verdict, age=None if known is None else rules.age_on(known, day)),
            )


# --- Labels and exports -------------------------------------------------------------------

BUCKET_LABELS = {
    "must": gettext_lazy("Must get a card"),
    "may": gettext_lazy("May get a card (on request)"),
    "excluded": gettext_lazy("Excluded"),
    "not_due": gettext_lazy("Holds a valid card"),
}
REASON_LABELS = {
    "no_card": gettext_lazy("14 or older, no card"),
    "cmnd_only": gettext_lazy("Holds only an old CMND"),
    "card_lost": gettext_lazy("Card lost or cancelled"),
    "card_expired": gettext_lazy("Card expired"),
    "renewal_14": gettext_lazy("Renewal at 14"),
    "renewal_25": gettext_lazy("Renewal at 25"),
    "renewal_40": gettext_lazy("Renewal at 40"),
    "renewal_60": gettext_lazy("Renewal at 60"),
    "age_unknown": gettext_lazy("Birth date unknown"),
    "under_6": gettext_lazy("Under 6 (no biometrics, parent applies)"),
    "under_14": gettext_lazy("Under 14, on request"),
    "deceased": gettext_lazy("Deceased"),
    "enrolled": gettext_lazy("Already enrolled"),
    "in_production": gettext_lazy("Card in production"),
    "under_age": gettext_lazy("Under 14: no card under this law"),
    "valid_card": gettext_lazy("Valid chip or căn cước card"),
    "valid_barcode": gettext_lazy("Valid barcode card"),
}
REGIME_TITLES = {
    "cccd_2014": gettext_lazy("Law on Citizen Identification 2014 (No. 59/2014/QH13)"),
    "identity_2023": gettext_lazy("Law on Identity 2023 (No. 26/2023/QH15)"),
}
GROUP_LABELS = {
    "home_visit": gettext_lazy("Home visit (80+, disability, illness, alone, war merit)"),
    "school": gettext_lazy("School session"),
    "regular": gettext_lazy("Regular session"),
}
EXPORT_HEADER = (
    gettext_lazy("ID number"),
    gettext_lazy("Full name"),
    gettext_lazy("Birth date"),
    gettext_lazy("Sex"),
    gettext_lazy("Unit"),
    gettext_lazy("Phone"),
    gettext_lazy("School"),
    gettext_lazy("Grade"),
    gettext_lazy("Age"),
    gettext_lazy("Bucket"),
    gettext_lazy("Reason"),
    gettext_lazy("Priority"),
)


def birth_text(row: CohortRow) -> str:
    """The birth date as known: dd/mm/yyyy, mm/yyyy or yyyy."""
    if row.birth_date is None:
        return ""
    if row.birth_precision == "year":
        return str(row.birth_date.year)
    if row.birth_precision == "month":
        return row.birth_date.strftime("%m/%Y")
    return row.birth_date.strftime("%d/%m/%Y")


def export_values(row: CohortRow, unit_names: dict[str, str]) -> list[Any]:
    v = row.verdict
    return [
        row.id_number,
        row.full_name,
        birth_text(row),
        {"M": _("Male"), "F": _("Female")}.get(row.sex, ""),
        unit_names.get(row.unit_path, row.unit_path),
        row.phone,
        row.school,
        row.grade,
        v.age if v.age is not None else "",
        str(BUCKET_LABELS[v.bucket]),
        str(REASON_LABELS.get(v.reason, v.reason)),
        str(GROUP_LABELS[v.group]),
    ]


def unit_names(unit: Unit) -> dict[str, str]:
    """Names of the unit and the units below it, by path (for lists and exports)."""
    return dict(Unit.objects.filter(prefix_q("path", unit.path)).values_list("path", "name"))
