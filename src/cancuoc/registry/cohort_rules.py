"""Who must, may or need not get an identity card on a date: the legal rules as data.

Pure: no Django import. The set-based cohort (registry/cohort.py) reduces each citizen to a
small `CohortKey` in SQL and calls `evaluate_key` once per distinct key; `evaluate` does the
same for one citizen given as plain values (tests, single records). Both paths share
`evaluate_key`, so there is one statement of the law.

Dates are handled as ``yyyymmdd`` integers: ``(day - birth) // 10000`` is the age in whole
years, and a birthday *on* the day counts as reached (birth 2012-03-15 → 14 on 2026-03-15).
A 29 February birthday is reached on 1 March in other years (the integer arithmetic gives
exactly that).

Birth dates known only to the year (or month) are stored as the first day of the period
(``Citizen.birth_date`` help text). Using that day here is the conservative reading: the
citizen reaches every age at the earliest possible date, so nobody who may be due is left
out of an invitation list; the list marks such dates as approximate.

Documents and what counts as a card (decisions, each covered by a test):

- A chip CCCD, a căn cước card and a barcode CCCD are *cards*. Cards issued before 1/7/2024
  stay valid until their printed expiry under the 2023 law (art. 46), so a barcode CCCD
  still in its term counts as a valid card: its holder is **not** due until it expires.
- The newest card (latest issue date) is the citizen's current card; issuing a new card
  withdraws the older ones. Cards reported lost or cancelled are not current.
- A card's term is the earlier of its printed expiry (null = for life) and the legal term
  computed from the birth date and the issue date under the regime in force on the issue
  date (renewal ages and the 2-year rule): a mistyped or missing printed date must not hide
  a citizen who is due. For consistent data the two agree.
- A card is due on its expiry day (expiry on or before the reference date).
- A CMND (9 or 12 digits) is never a card here: its holders must get one. The 9-digit CMND
  is invalid from 1/1/2025 (`idnumber.DOCUMENT_NUMBER_RULES`); the reason code says so.
- Status ``enrolled`` or ``in_production`` on any document: the citizen has applied and is
  excluded ("already enrolled", "card in production"), whatever the other documents say.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from cancuoc.registry.idnumber import DOCUMENT_NUMBER_RULES

__all__ = [
    "AGE_BANDS",
    "AGE_STEPS",
    "BUCKETS",
    "CARD_KINDS",
    "CMND_KINDS",
    "HOME_VISIT_AGE",
    "ISSUE_AGE_STEPS",
    "REGIMES",
    "Card",
    "CohortKey",
    "NoRegime",
    "Person",
    "Regime",
    "Verdict",
    "age_band",
    "age_on",
    "age_step",
    "card_expiry",
    "card_expiry_age",
    "cohort_key",
    "evaluate",
    "evaluate_key",
    "priority_group",
    "regime_index_on",
    "regime_on",
    "ymd",
]


@dataclass(frozen=True, slots=True)
class Regime:
    """One law on identity cards, in force from ``effective_from`` until the next one."""

    code: str
    title: str
    effective_from: date
    #: Citizens this old must hold a card.
    must_from_age: int
    #: Citizens from this age (and under ``must_from_age``) may get one on request;
    #: None: no card below ``must_from_age``.
    may_from_age: int | None
    #: Below this age the card is issued without biometrics (the parent applies online).
    no_biometrics_below: int | None
    #: A card expires when its holder reaches one of these ages...
    renewal_ages: tuple[int, ...]
    #: ...unless it was issued within this many years before that age: then it lasts until
    #: the next renewal age (after the last one: for life).
    window_years: int
    source: str


#: Data, not logic: a new law is a new row. Ordered by ``effective_from``.
REGIMES: tuple[Regime, ...] = (
    Regime(
        code="cccd_2014",
        title="Law on Citizen Identification 2014 (No. 59/2014/QH13)",
        effective_from=date(2016, 1, 1),
        must_from_age=14,
        may_from_age=None,
        no_biometrics_below=None,
        renewal_ages=(25, 40, 60),
        window_years=2,
        source=(
            "Law 59/2014/QH13 art. 19 (cards from age 14), art. 21 (renew at 25, 40, 60; a "
            "card issued within 2 years before those ages lasts until the next one)."
        ),
    ),
    Regime(
        code="identity_2023",
        title="Law on Identity 2023 (No. 26/2023/QH15)",
        effective_from=date(2024, 7, 1),
        must_from_age=14,
        may_from_age=0,
        no_biometrics_below=6,
        renewal_ages=(14, 25, 40, 60),
        window_years=2,
        source=(
            "Law 26/2023/QH15 art. 19 (14+ must, under 14 on request; under 6 without "
            "biometrics), art. 21 (renew at 14, 25, 40, 60; same 2-year rule), art. 46 "
            "(cards issued before 1/7/2024 valid until their printed expiry)."
        ),
    ),
)

_REGIME_STARTS = tuple(
    r.effective_from.year * 10000 + r.effective_from.month * 100 + r.effective_from.day
    for r in REGIMES
)

CARD_KINDS = ("cccd_barcode", "cccd_chip", "cancuoc")
CMND_KINDS = ("cmnd9", "cmnd12")
#: Small integer codes for the kinds of card, used when SQL packs a card into one number.
KIND_CODES: dict[str, int] = {"cccd_barcode": 1, "cccd_chip": 2, "cancuoc": 3}
KIND_BY_CODE: dict[int, str] = {v: k for k, v in KIND_CODES.items()}
#: Statuses under which a document is still the holder's (its term decides validity).
HELD_STATUSES = ("valid", "expired")
GONE_STATUSES = ("lost", "cancelled")
APPLIED_STATUSES = ("enrolled", "in_production")

CMND9_INVALID_FROM = next(r.invalid_from for r in DOCUMENT_NUMBER_RULES if r.length == 9)

#: Priority: these citizens are visited at home rather than invited to a session.
HOME_VISIT_AGE = 80
#: Age bands of the counts: (label, lowest age, highest age or None).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-5", 0, 5),
    ("6-13", 6, 13),
    ("14-17", 14, 17),
    ("18-24", 18, 24),
    ("25-39", 25, 39),
    ("40-59", 40, 59),
    ("60-79", 60, 79),
    ("80+", 80, None),
)
AGE_UNKNOWN = "unknown"

#: Buckets, in display order. "not_due" holds a valid card and is outside the cohort.
BUCKETS = ("must", "may", "excluded", "not_due")

# Flag bits of a citizen (one small integer in SQL and here).
FRAIL = 1
DISABILITY = 2
ILLNESS = 4
ALONE = 8
WAR_MERIT = 16
STUDENT = 32
HOME_VISIT_FLAGS = FRAIL | DISABILITY | ILLNESS | ALONE | WAR_MERIT


class NoRegime(ValueError):
    """No identity-card law in the table is in force on that date."""


# --- Dates as integers ------------------------------------------------------------------


def ymd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def from_ymd(value: int) -> date:
    return date(value // 10000, value // 100 % 100, value % 100)


def age_on(birth: int, day: int) -> int:
    """Whole years from ``birth`` to ``day`` (yyyymmdd); a birthday on ``day`` counts."""
    # Before the birth (bad data): -1, the same in SQL (whose division truncates).
    return (day - birth) // 10000 if day >= birth else -1


def birthday(birth: date, age: int) -> date:
    """The day ``birth`` reaches ``age``; 29 February falls on 1 March in other years."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return date(birth.year + age, 3, 1)


# --- Regimes and card terms -------------------------------------------------------------


def regime_index_on(day: int) -> int:
    """Index in REGIMES of the regime in force on ``day`` (yyyymmdd)."""
    found = bisect.bisect_right(_REGIME_STARTS, day) - 1
    if found < 0:
        raise NoRegime(f"no identity-card law in force on {day}")
    return found


def regime_on(day: date) -> Regime:
    return REGIMES[regime_index_on(ymd(day))]


def card_expiry_age(age_at_issue: int, regime: Regime) -> int | None:
    """The age at which a card issued at ``age_at_issue`` expires; None: for life.

    A card issued on or after the day the holder turns ``m - window`` is inside the window
    before the renewal age ``m`` and lasts until the next one: issued exactly two years
    before the 25th birthday, it lasts until 40; one day earlier, it expires at 25.
    """
    for age in regime.renewal_ages:
        if age_at_issue < age - regime.window_years:
            return age
    return None


def card_expiry(birth: date, issued: date) -> date | None:
    """The legal expiry of a card issued on ``issued`` (regime of that day); None: for life."""
    regime = REGIMES[_regime_index_or_first(ymd(issued))]
    age = card_expiry_age(age_on(ymd(birth), ymd(issued)), regime)
    return None if age is None else birthday(birth, age)


# --- One citizen --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Card:
    """An identity document as the cohort sees it (dates as yyyymmdd, None unknown)."""

    kind: str
    status: str = "valid"
    issued: int | None = None
    expires: int | None = None  # printed; None = for life


@dataclass(frozen=True, slots=True)
class Person:
    birth: int | None  # yyyymmdd, first day of the known period; None: unknown
    deceased: bool = False
    death: int | None = None  # yyyymmdd; deceased with no date: dead on every date
    documents: tuple[Card, ...] = ()
    flags: int = 0  # FRAIL | DISABILITY | ...


@dataclass(frozen=True, slots=True)
class CohortKey:
    """Everything the verdict depends on, as small values SQL can compute and group by.

    ``card_*`` describe the current card (see module doc), or are None when there is none.
    ``card_legal_age`` is the renewal age at which it expires by law (None: for life or not
    computable), ``card_legal_due`` whether that age is reached on the day, and
    ``card_printed_due`` whether the printed expiry is on or before the day.
    """

    age: int | None
    dead: bool
    applied: str | None  # "enrolled" | "in_production" | None
    cmnd: bool
    gone: bool  # a card reported lost or cancelled
    card_kind: str | None
    card_legal_age: int | None
    card_legal_due: bool
    card_printed_due: bool
    flags: int


@dataclass(frozen=True, slots=True)
class Verdict:
    bucket: str  # one of BUCKETS
    reason: str
    age: int | None
    group: str  # "home_visit" | "school" | "regular"


def _current_card(cards: Iterable[Card], day: int) -> Card | None:
    held = [
        c
        for c in cards
        if c.kind in KIND_CODES
        and c.status in HELD_STATUSES
        and (c.issued is None or c.issued <= day)
    ]
    if not held:
        return None
    # Same order as SQL's MAX over (issue, kind code, expiry or 99999999).
    return max(
        held,
        key=lambda c: (
            c.issued or 0,
            KIND_CODES[c.kind],
            c.expires if c.expires is not None else 99999999,
        ),
    )


def cohort_key(person: Person, day: int) -> CohortKey:
    """Reduce a citizen to the values the verdict needs, on ``day`` (yyyymmdd)."""
    age = age_on(person.birth, day) if person.birth is not None else None
    dead = person.deceased and (person.death is None or person.death <= day)
    statuses = {d.status for d in person.documents}
    applied = next((s for s in APPLIED_STATUSES if s in statuses), None)
    # "enrolled" first: both on file means the newer application is the enrolment.
    cmnd = any(d.kind in CMND_KINDS and d.status in HELD_STATUSES for d in person.documents)
    gone = any(d.kind in KIND_CODES and d.status in GONE_STATUSES for d in person.documents)
    card = _current_card(person.documents, day)
    legal_age: int | None = None
    legal_due = printed_due = False
    if card is not None:
        printed_due = card.expires is not None and card.expires <= day
        if card.issued is not None and person.birth is not None:
            regime = REGIMES[max(0, _regime_index_or_first(card.issued))]
            legal_age = card_expiry_age(age_on(person.birth, card.issued), regime)
            legal_due = legal_age is not None and age is not None and age >= legal_age
    return CohortKey(
        age=age,
        dead=dead,
        applied=applied,
        cmnd=cmnd,
        gone=gone,
        card_kind=card.kind if card is not None else None,
        card_legal_age=legal_age,
        card_legal_due=legal_due,
        card_printed_due=printed_due,
        flags=person.flags,
    )


def _regime_index_or_first(day: int) -> int:
    # A card issued before the first regime (bad data) is read under the first one.
    try:
        return regime_index_on(day)
    except NoRegime:
        return 0


def priority_group(age: int | None, flags: int) -> str:
    if (age is not None and age >= HOME_VISIT_AGE) or flags & HOME_VISIT_FLAGS:
        return "home_visit"
    if flags & STUDENT:
        return "school"
    return "regular"


def age_band(age: int | None) -> str:
    if age is None:
        return AGE_UNKNOWN
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return AGE_UNKNOWN  # negative: born after the day (callers filter these out)


def evaluate_key(key: CohortKey, regime: Regime, day: int) -> Verdict:
    """The verdict for one reduced citizen under ``regime`` on ``day`` (yyyymmdd)."""
    group = priority_group(key.age, key.flags)

    def verdict(bucket: str, reason: str) -> Verdict:
        return Verdict(bucket=bucket, reason=reason, age=key.age, group=group)

    if key.dead:
        return verdict("excluded", "deceased")
    if key.applied is not None:
        return verdict("excluded", key.applied)
    card_valid = key.card_kind is not None and not (key.card_legal_due or key.card_printed_due)
    if card_valid:
        return verdict(
            "not_due", "valid_barcode" if key.card_kind == "cccd_barcode" else "valid_card"
        )
    if key.age is not None and key.age < regime.must_from_age:
        if regime.may_from_age is None or key.age < regime.may_from_age:
            return verdict("excluded", "under_age")
        if regime.no_biometrics_below is not None and key.age < regime.no_biometrics_below:
            return verdict("may", "under_6")
        return verdict("may", "under_14")
    # 14 or older (or of unknown age: an officer checks them) with no valid card: must.
    if key.card_kind is not None:
        if key.card_legal_due and key.card_legal_age is not None:
            return verdict("must", f"renewal_{key.card_legal_age}")
        return verdict("must", "card_expired")
    if key.gone:
        return verdict("must", "card_lost")
    if key.cmnd:
        return verdict("must", "cmnd_only")
    if key.age is None:
        return verdict("must", "age_unknown")
    return verdict("must", "no_card")


# --- Ages the law tells apart ---------------------------------------------------------
# The set-based cohort groups citizens by the step their age falls in rather than by the
# exact age: between two consecutive steps nothing in `evaluate_key`, `age_band` or
# `priority_group` changes (tests check every age). Derived from the tables above, so a
# new law or band moves the steps with it.

#: Ages on the day at which a verdict, band or priority group can change.
AGE_STEPS: tuple[int, ...] = tuple(
    sorted(
        {low for _, low, _ in AGE_BANDS}
        | {high + 1 for _, _, high in AGE_BANDS if high is not None}
        | {HOME_VISIT_AGE}
        | {r.must_from_age for r in REGIMES}
        | {r.may_from_age for r in REGIMES if r.may_from_age is not None}
        | {r.no_biometrics_below for r in REGIMES if r.no_biometrics_below is not None}
        | {a for r in REGIMES for a in r.renewal_ages}
    )
)
#: Ages at issue at which `card_expiry_age` can change (the start of each 2-year window).
ISSUE_AGE_STEPS: tuple[int, ...] = tuple(
    sorted({a - r.window_years for r in REGIMES for a in r.renewal_ages})
)


def age_step(age: int, steps: Sequence[int]) -> int:
    """The representative of ``age``'s step: the highest step at or below it, or one below
    the lowest step (all ages below it are alike)."""
    found = bisect.bisect_right(steps, age) - 1
    return steps[found] if found >= 0 else steps[0] - 1


def evaluate(person: Person, day: date) -> Verdict:
    """The verdict for one citizen on ``day`` under the regime in force that day.

    Raises ``NoRegime`` for a day before the first regime in the table.
    """
    value = ymd(day)
    regime = REGIMES[regime_index_on(value)]
    return evaluate_key(cohort_key(person, value), regime, value)


REASONS: dict[str, tuple[str, ...]] = {
    "must": (
        "no_card",
        "cmnd_only",
        "card_lost",
        "card_expired",
        *(f"renewal_{a}" for a in sorted({a for r in REGIMES for a in r.renewal_ages})),
        "age_unknown",
    ),
    "may": ("under_6", "under_14"),
    "excluded": ("deceased", "enrolled", "in_production", "under_age"),
    "not_due": ("valid_card", "valid_barcode"),
}


@dataclass
class Tally:
    """Counts by bucket, reason, age band, priority group and unit (unit keys are opaque)."""

    total: int = 0
    buckets: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    bands: dict[str, dict[str, int]] = field(default_factory=dict)
    groups: dict[str, dict[str, int]] = field(default_factory=dict)
    units: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, verdict: Verdict, unit: str, count: int = 1) -> None:
        self.total += count
        b = verdict.bucket
        self.buckets[b] = self.buckets.get(b, 0) + count
        reason = f"{b}:{verdict.reason}"
        self.reasons[reason] = self.reasons.get(reason, 0) + count
        for table, key in (
            (self.bands, age_band(verdict.age)),
            (self.groups, verdict.group),
            (self.units, unit),
        ):
            row = table.setdefault(key, {})
            row[b] = row.get(b, 0) + count


def tally(verdicts: Sequence[tuple[Verdict, str]]) -> Tally:
    result = Tally()
    for verdict, unit in verdicts:
        result.add(verdict, unit)
    return result
