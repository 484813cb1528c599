"""The cohort: who is due for an identity card on a date, in a unit subtree.

Set-based for speed. One SQL statement reduces every citizen of the subtree to a small
`CohortKey` (age on the day, dead or not, applied or not, CMND held, the current card's kind,
the holder's age at its issue and whether its printed expiry has passed, priority flags) and
groups by it; the law (`cohort_rules.evaluate_key`) then runs once per distinct key, not once
per citizen. A province of 1.1 million people comes back as a few thousand groups.

The per-citizen documents are folded into one row per citizen first: the current card is
picked with MAX over one packed integer (issue date, kind, printed expiry), which both
SQLite and PostgreSQL compute without window functions.

Everything goes through `core.scoping`: the unit must be in the user's scope, and the
citizens are filtered with the user's scope condition as well as the unit's subtree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
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

    def as_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "unit": {"id": self.unit.pk, "code": self.unit.code, "name": self.unit.name},
            "on": self.on.isoformat(),
            "regime": {"code": self.regime.code, "title": self.regime.title},
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


def _as_int(column: str) -> str:
    """A date column as a yyyymmdd integer (NULL stays NULL). Costs about 1 µs a row."""
    if connection.vendor == "postgresql":
        return f"CAST(TO_CHAR({column}, 'YYYYMMDD') AS INTEGER)"
    return f"CAST(REPLACE({column}, '-', '') AS INTEGER)"


_EPOCH = date(1900, 1, 1)


def _as_days(column: str) -> str:
    """A date column as days since 1900-01-01: nearly free, and ordered like the dates."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1900-01-01')"
    return f"CAST(julianday({column}) - 2415020.5 AS INTEGER)"


def _days_to_int(expression: str) -> str:
    """Days since 1900-01-01 back to a yyyymmdd integer (only for the few rows that need it)."""
    if connection.vendor == "postgresql":
        as_date = f"DATE '1900-01-01' + CAST({expression} AS INTEGER)"
        return f"CAST(TO_CHAR({as_date}, 'YYYYMMDD') AS INTEGER)"
    return f"CAST(strftime('%%Y%%m%%d', 2415020.5 + {expression}) AS INTEGER)"


def _in(values: tuple[str, ...]) -> str:
    # Constants from cohort_rules, never input.
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _scope_where(user: Any, unit: Unit) -> tuple[str, list[Any]]:
    """The WHERE clause for the subtree in the user's scope, as Django compiles it."""
    queryset = scope_queryset(Citizen.objects.filter(prefix_q("unit_path", unit.path)), user=user)
    query = queryset.query
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.compile(query.where)
    return sql, list(params)


# A card packed into one integer so that MAX picks the newest: issue day, kind, expiry day.
_PACK_ISSUE = 10_000_000
_PACK_KIND = 1_000_000
_LIFETIME = 999_999


def _statement(user: Any, unit: Unit, day: int, *, listing: bool) -> tuple[str, list[Any]]:
    """The cohort SQL. Built from model meta and cohort_rules constants only; the day is an
    integer and everything else from the request travels as parameters (the scope).

    Inner query: one row per citizen of the subtree, its documents folded in by a LEFT JOIN
    and MAX aggregates. Outer query: the `CohortKey` columns (grouped, or listed).
    """
    c = Citizen._meta.db_table
    d = IdentityDocument._meta.db_table
    where, params = _scope_where(user, unit)
    day_n = (rules.from_ymd(day) - _EPOCH).days
    kind_code = "CASE doc.kind " + " ".join(
        f"WHEN '{kind}' THEN {code}" for kind, code in rules.KIND_CODES.items()
    )
    issue_days = _as_days("doc.issue_date")
    card = (
        f"CASE WHEN doc.kind IN {_in(rules.CARD_KINDS)} AND doc.status IN "
        f"{_in(rules.HELD_STATUSES)} AND (doc.issue_date IS NULL OR {issue_days} <= {day_n}) "
        f"THEN CAST(COALESCE({issue_days}, 0) AS BIGINT) * {_PACK_ISSUE} "
        f"+ ({kind_code} ELSE 0 END) * {_PACK_KIND} "
        f"+ COALESCE({_as_days('doc.expiry_date')}, {_LIFETIME}) END"
    )
    flags = " + ".join(
        f"CASE WHEN {c}.{column} THEN {bit} ELSE 0 END"
        for column, bit in (
            ("frail_elderly", rules.FRAIL),
            ("disability", rules.DISABILITY),
            ("serious_illness", rules.ILLNESS),
            ("living_alone", rules.ALONE),
            ("war_merit", rules.WAR_MERIT),
        )
    )
    listed = (
        f"{c}.id_number, {c}.full_name, {c}.birth_date, {c}.birth_precision, {c}.sex, "
        f"{c}.phone, {c}.school, {c}.grade, {c}.search_name, "
        if listing
        else ""
    )
    birth = f"COALESCE({_as_int(f'{c}.birth_date')}, CAST({c}.birth_year AS INTEGER) * 10000 + 101)"
    inner = (
        f"SELECT {c}.id AS id, {c}.unit_path AS unit_path, {listed}"  # noqa: S608 - constants
        f"{birth} AS birth, "
        f"CASE WHEN {c}.life_status = 'deceased' AND ({c}.death_date IS NULL OR "
        f"{_as_days(f'{c}.death_date')} <= {day_n}) THEN 1 ELSE 0 END AS dead, "
        f"({flags} + CASE WHEN {c}.school <> '' THEN {rules.STUDENT} ELSE 0 END) AS flags, "
        f"MAX(CASE WHEN doc.status = 'enrolled' THEN 2 "
        f"WHEN doc.status = 'in_production' THEN 1 ELSE 0 END) AS applied, "
        f"MAX(CASE WHEN doc.kind IN {_in(rules.CMND_KINDS)} AND doc.status IN "
        f"{_in(rules.HELD_STATUSES)} THEN 1 ELSE 0 END) AS cmnd, "
        f"MAX(CASE WHEN doc.kind IN {_in(rules.CARD_KINDS)} AND doc.status IN "
        f"{_in(rules.GONE_STATUSES)} THEN 1 ELSE 0 END) AS gone, "
        f"MAX({card}) AS card "
        f"FROM {c} LEFT JOIN {d} doc ON doc.citizen_id = {c}.id "
        f"WHERE {where} GROUP BY {c}.id"
    )
    issue = f"(t.card / {_PACK_ISSUE})"
    issue_int = _days_to_int(issue)
    regime_case = (
        "CASE "
        + " ".join(
            f"WHEN {issue} >= {(r.effective_from - _EPOCH).days} THEN {i}"
            for i, r in reversed(list(enumerate(rules.REGIMES)))
        )
        + " ELSE 0 END"
    )
    key_columns = [
        f"CASE WHEN t.birth IS NULL THEN NULL WHEN {day} >= t.birth "
        f"THEN ({day} - t.birth) / 10000 ELSE -1 END",
        "t.dead",
        "t.flags",
        "COALESCE(t.applied, 0)",
        "COALESCE(t.cmnd, 0)",
        "COALESCE(t.gone, 0)",
        f"CASE WHEN t.card IS NULL THEN 0 ELSE (t.card / {_PACK_KIND}) %% 10 END",
        f"CASE WHEN t.card IS NULL OR {issue} = 0 OR t.birth IS NULL THEN NULL "
        f"WHEN {issue_int} >= t.birth THEN ({issue_int} - t.birth) / 10000 ELSE -1 END",
        f"CASE WHEN t.card IS NULL OR {issue} = 0 THEN NULL ELSE {regime_case} END",
        f"CASE WHEN t.card IS NOT NULL AND t.card %% {_PACK_KIND} <= {day_n} THEN 1 ELSE 0 END",
    ]
    source = f"FROM ({inner}) t WHERE (t.birth IS NULL OR t.birth <= {day})"
    if listing:
        select = ", ".join(
            [
                "t.id",
                "t.id_number",
                "t.full_name",
                "t.birth_date",
                "t.birth_precision",
                "t.sex",
                "t.unit_path",
                "t.phone",
                "t.school",
                "t.grade",
                *key_columns,
            ]
        )
        sql = f"SELECT {select} {source} ORDER BY t.unit_path, t.search_name, t.id"
    else:
        select = ", ".join(["t.unit_path", *key_columns, "COUNT(*)"])
        groups = ", ".join(str(i) for i in range(1, len(key_columns) + 2))
        sql = f"SELECT {select} {source} GROUP BY {groups}"
    return sql, params


def _tune(cursor: Any) -> None:
    """PostgreSQL: JIT compilation costs seconds and gains nothing on this one-pass query."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off")


def _key(values: tuple[Any, ...], day: int) -> rules.CohortKey:
    age, dead, flags, applied, cmnd, gone, kind, issue_age, regime, printed = values
    card_kind = rules.KIND_BY_CODE.get(kind) if kind else None
    legal_age: int | None = None
    legal_due = False
    if card_kind is not None and issue_age is not None and regime is not None:
        legal_age = rules.card_expiry_age(issue_age, rules.REGIMES[regime])
        legal_due = legal_age is not None and age is not None and age >= legal_age
    return rules.CohortKey(
        age=age,
        dead=bool(dead),
        applied={2: "enrolled", 1: "in_production"}.get(applied),
        cmnd=bool(cmnd),
        gone=bool(gone),
        card_kind=card_kind,
        card_legal_age=legal_age,
        card_legal_due=legal_due,
        card_printed_due=bool(printed) and card_kind is not None,
        flags=flags,
    )


class _Judge:
    """Verdicts per distinct key, memoised: the law runs once per kind of citizen."""

    def __init__(self, on: date) -> None:
        self.day = rules.ymd(on)
        self.regime = _regime(on)
        self.cache: dict[tuple[Any, ...], rules.Verdict] = {}

    def __call__(self, values: tuple[Any, ...]) -> rules.Verdict:
        verdict = self.cache.get(values)
        if verdict is None:
            verdict = rules.evaluate_key(_key(values, self.day), self.regime, self.day)
            self.cache[values] = verdict
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
    sql, params = _statement(user, unit, judge.day, listing=False)
    tally = rules.Tally()
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor)
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            path, key, count = row[0], tuple(row[1:-1]), row[-1]
            tally.add(judge(key), _child_path(unit, path), count)
    children = {u.path: u for u in Unit.objects.filter(path__in=list(tally.units))}
    by_unit = sorted(
        ((children.get(path), path, counts) for path, counts in tally.units.items()),
        key=lambda item: item[0].name if item[0] else item[1],
    )
    return CohortCounts(unit=unit, on=on, regime=judge.regime, tally=tally, by_unit=by_unit)


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
) -> Iterator[CohortRow]:
    """The citizens of one bucket (optionally one reason, priority group, age band), streamed
    in unit and name order. Writes one audit row: the list is personal data."""
    unit = _check(user, unit)
    judge = _Judge(on)
    sql, params = _statement(user, unit, judge.day, listing=True)
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
    return _rows(sql, params, judge, bucket, reason, group, band)


def _rows(
    sql: str,
    params: list[Any],
    judge: _Judge,
    bucket: str,
    reason: str,
    group: str,
    band: str,
) -> Iterator[CohortRow]:
    with transaction.atomic(), connection.cursor() as cursor:
        _tune(cursor)
        cursor.execute(sql, params)
        while True:
            chunk = cursor.fetchmany(5000)
            if not chunk:
                return
            for row in chunk:
                verdict = judge(tuple(row[10:]))
                if bucket and verdict.bucket != bucket:
                    continue
                if reason and verdict.reason != reason:
                    continue
                if group and verdict.group != group:
                    continue
                if band and rules.age_band(verdict.age) != band:
                    continue
                birth = row[3]
                if isinstance(birth, str):  # SQLite through a raw cursor
                    birth = date.fromisoformat(birth)
                yield CohortRow(
                    citizen_id=row[0],
                    id_number=row[1],
                    full_name=row[2],
                    birth_date=birth,
                    birth_precision=row[4],
                    sex=row[5],
                    unit_path=row[6],
                    phone=row[7],
                    school=row[8],
                    grade=row[9],
                    verdict=verdict,
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
