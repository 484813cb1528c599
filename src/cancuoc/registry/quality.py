"""Data-quality rules over the population registry, and the runs that apply them.

Each rule is a small function that takes a unit path and yields findings for the
citizens (or households) under it. Rules are set-based: SQL filters and GROUP BY
where the database can decide alone (duplicates, households, dates, documents), and
one streaming pass over plain tuples for the rules that need the ID-number logic of
``registry.idnumber``. A province holds about 1.1 M citizens, so nothing here loads
model instances for the whole subtree.

A finding's ``detail`` is a compact ``key=value;key=value`` string, never a sentence:
``finding_detail_display`` turns it into words in the reader's language.

``quality_run_start`` queues a run; ``quality_run_compute`` (called by the task in
``registry.tasks``) fills it and replaces the unit's previous findings.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import prefix_q, scope_queryset, unit_in_scope
from cancuoc.registry import idnumber
from cancuoc.registry.models import (
    Citizen,
    DocumentKind,
    DocumentStatus,
    Household,
    IdentityDocument,
    LifeStatus,
    QualityFinding,
    QualityRun,
    Relationship,
)
from cancuoc.units.models import Unit

__all__ = [
    "RULES",
    "RULE_CODES",
    "Finding",
    "finding_detail_display",
    "id_rule_codes",
    "quality_findings",
    "quality_latest_run",
    "quality_pending_run",
    "quality_run_compute",
    "quality_run_get",
    "quality_run_start",
    "rule_get",
]

EARLIEST_BIRTH = dt.date(1900, 1, 1)
#: A queued or running run younger than this blocks a new one for the same unit; an older
#: one is presumed lost (a worker killed mid-run) and no longer blocks.
RUN_BLOCKS_FOR = dt.timedelta(minutes=30)
_PHONE = re.compile(r"^0[0-9]{9}$")
_CHUNK = 20_000
_DETAIL_MAX = 255


class Finding(NamedTuple):
    rule: str
    citizen_id: int | None
    household_id: int | None
    unit_path: str
    province_code: str
    detail: str = ""


@dataclass(frozen=True)
class Rule:
    code: str
    name: Promise
    explanation: Promise
    subject: str  # "citizen" or "household"


RULES: tuple[Rule, ...] = (
    Rule(
        "id_malformed",
        gettext_lazy("Malformed ID number"),
        gettext_lazy("The personal ID number is not exactly 12 digits."),
        "citizen",
    ),
    Rule(
        "id_unknown_prefix",
        gettext_lazy("Unknown ID prefix"),
        gettext_lazy(
            "The first three digits are neither one of the 63 provinces of birth "
            "registration (001–096) nor a country code (101–295)."
        ),
        "citizen",
    ),
    Rule(
        "id_sex_mismatch",
        gettext_lazy("ID number disagrees with sex"),
        gettext_lazy("The fourth digit of the ID number gives a different sex from the record."),
        "citizen",
    ),
    Rule(
        "id_year_mismatch",
        gettext_lazy("ID number disagrees with birth year"),
        gettext_lazy("Digits 4 to 6 of the ID number give a different birth year from the record."),
        "citizen",
    ),
    Rule(
        "duplicate_person",
        gettext_lazy("Likely duplicate person"),
        gettext_lazy(
            "Same name (ignoring diacritics), birth date and place of origin as an earlier "
            "record with a different ID number."
        ),
        "citizen",
    ),
    Rule(
        "impossible_date",
        gettext_lazy("Impossible date"),
        gettext_lazy(
            "Born in the future or before 1900, died before birth or in the future, or a "
            "document issued before birth or in the future."
        ),
        "citizen",
    ),
    Rule(
        "missing_required",
        gettext_lazy("Missing required information"),
        gettext_lazy("Full name, birth year, sex or place of origin is empty."),
        "citizen",
    ),
    Rule(
        "deceased_with_valid_card",
        gettext_lazy("Deceased person with a valid card"),
        gettext_lazy("The person is recorded as deceased but a document is still valid."),
        "citizen",
    ),
    Rule(
        "household_without_head",
        gettext_lazy("Household without a head"),
        gettext_lazy("No head of household is designated, or no member is recorded as head."),
        "household",
    ),
    Rule(
        "household_several_heads",
        gettext_lazy("Household with several heads"),
        gettext_lazy("More than one member is recorded as head of household."),
        "household",
    ),
    Rule(
        "cmnd9_only",
        gettext_lazy("Only a 9-digit ID card"),
        gettext_lazy(
            "The person holds only a 9-digit CMND, which is no longer valid from 1/1/2025."
        ),
        "citizen",
    ),
    Rule(
        "phone_invalid",
        gettext_lazy("Invalid phone number"),
        gettext_lazy(
            "The phone number is not a 10-digit Vietnamese mobile number starting with 0."
        ),
        "citizen",
    ),
)
RULE_CODES: tuple[str, ...] = tuple(rule.code for rule in RULES)
_RULES_BY_CODE = {rule.code: rule for rule in RULES}


def rule_get(code: str) -> Rule | None:
    return _RULES_BY_CODE.get(code)


# --- Details: stored compact, displayed translated ----------------------------------------


def _detail(**parts: object) -> str:
    text = ";".join(f"{key}={value}" for key, value in parts.items())
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def _parse_detail(detail: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in detail.split(";"):
        key, sep, value = item.partition("=")
        if sep:
            parts[key] = value
    return parts


_DATE_PROBLEMS = {
    "birth_future": gettext_lazy("born in the future"),
    "birth_before_1900": gettext_lazy("born before 1900"),
    "death_before_birth": gettext_lazy("died before birth"),
    "death_future": gettext_lazy("died in the future"),
    "document_before_birth": gettext_lazy("document issued before birth"),
    "document_future": gettext_lazy("document issued in the future"),
}
_FIELD_NAMES = {
    "full_name": gettext_lazy("full name"),
    "birth_year": gettext_lazy("birth year"),
    "sex": gettext_lazy("sex"),
    "place_of_origin": gettext_lazy("place of origin"),
}
_SEX_WORDS = {"M": gettext_lazy("male"), "F": gettext_lazy("female")}


def _words(codes: str, names: Mapping[str, Promise | str]) -> str:
    return ", ".join(str(names.get(code, code)) for code in codes.split(",") if code)


def finding_detail_display(rule: str, detail: str) -> str:
    """The finding's detail as a phrase in the active language."""
    p = _parse_detail(detail)
    if rule == "id_unknown_prefix":
        return _("Prefix %(prefix)s") % {"prefix": p.get("prefix", "")}
    if rule == "id_sex_mismatch":
        return _("ID number says %(id)s, record says %(record)s") % {
            "id": _SEX_WORDS.get(p.get("id", ""), p.get("id", "")),
            "record": _SEX_WORDS.get(p.get("record", ""), p.get("record", "")),
        }
    if rule == "id_year_mismatch":
        return _("ID number says %(id)s, record says %(record)s") % {
            "id": p.get("id", ""),
            "record": p.get("record", ""),
        }
    if rule == "duplicate_person":
        return _("Same person as %(others)s") % {"others": p.get("others", "").replace(",", ", ")}
    if rule == "impossible_date":
        return _words(p.get("problems", ""), _DATE_PROBLEMS)
    if rule == "missing_required":
        return _("Missing: %(fields)s") % {"fields": _words(p.get("fields", ""), _FIELD_NAMES)}
    if rule == "deceased_with_valid_card":
        return _("Valid documents: %(numbers)s") % {
            "numbers": p.get("documents", "").replace(",", ", ")
        }
    if rule == "household_several_heads":
        return _("%(n)s members recorded as head") % {"n": p.get("heads", "")}
    if rule == "cmnd9_only":
        return _("CMND %(number)s") % {"number": p.get("number", "")}
    if rule == "phone_invalid":
        return p.get("phone", "")
    return ""


# --- ID-number rules (pure; one streaming pass) -------------------------------------------

_ISSUE_RULE = {
    "format": "id_malformed",
    "unknown_prefix": "id_unknown_prefix",
    "sex_mismatch": "id_sex_mismatch",
    "birth_year_mismatch": "id_year_mismatch",
}
_SEX_CODE = {"M": "male", "F": "female"}


def _id_fast_ok(number: str, sex: str, birth_year: int | None, prefixes: frozenset[str]) -> bool:
    """True when the number surely raises no ID rule: skips ``validate`` for clean rows.

    The same arithmetic as ``idnumber``; a property test proves the two agree.
    """
    if len(number) != idnumber.LENGTH or not (number.isascii() and number.isdigit()):
        return False
    if number[:3] not in prefixes:
        return False
    g = ord(number[3]) - 48
    if sex in _SEX_CODE and (g % 2 == 0) != (sex == "M"):
        return False
    year = idnumber.FIRST_BIRTH_YEAR + 100 * (g // 2) + int(number[4:6])
    return birth_year is None or year == birth_year


def _known_prefixes() -> frozenset[str]:
    abroad = {f"{p:03d}" for p in idnumber.ABROAD_PREFIXES}
    return frozenset(idnumber.province_prefixes()) | abroad


def id_rule_codes(number: str, *, sex: str, birth_year: int | None) -> list[tuple[str, str]]:
    """The ID rules ``number`` breaks for a record of this sex ("M"/"F"/"") and birth year.

    Returns ``(rule code, detail)`` pairs; the verdict is ``idnumber.validate``'s.
    """
    if _id_fast_ok(number, sex, birth_year, _known_prefixes_cached()):
        return []
    issues = idnumber.validate(
        number, birth_year=birth_year, sex=_SEX_CODE.get(sex), on=dt.date(9999, 12, 31)
    )
    found: list[tuple[str, str]] = []
    for issue in issues:
        rule = _ISSUE_RULE.get(issue.code)
        if rule is None:
            continue
        found.append((rule, _id_detail(rule, number.strip(), sex, birth_year)))
    return found


def _id_detail(rule: str, number: str, sex: str, birth_year: int | None) -> str:
    if rule == "id_unknown_prefix":
        return _detail(prefix=number[:3])
    if rule == "id_sex_mismatch":
        return _detail(id="M" if int(number[3]) % 2 == 0 else "F", record=sex)
    if rule == "id_year_mismatch":
        decoded = idnumber.decode(number, require_known_prefix=False)
        return _detail(id=decoded.birth_year, record=birth_year)
    return ""


@functools.cache
def _known_prefixes_cached() -> frozenset[str]:
    return _known_prefixes()


def phone_is_valid(phone: str) -> bool:
    return bool(_PHONE.match(phone))


# --- The rules over a subtree -------------------------------------------------------------


def _citizens(path: str) -> QuerySet[Citizen]:
    return Citizen.objects.filter(prefix_q("unit_path", path))


def _documents(path: str) -> QuerySet[IdentityDocument]:
    return IdentityDocument.objects.filter(prefix_q("citizen__unit_path", path))


def rule_id_and_phone(path: str, *, today: dt.date) -> Iterator[Finding]:
    """ID-number rules and the phone rule, in one pass over plain tuples."""
    rows = (
        _citizens(path)
        .order_by()
        .values_list("id", "id_number", "sex", "birth_year", "phone", "unit_path", "province_code")
    )
    for pk, number, sex, birth_year, phone, unit_path, province in rows.iterator(_CHUNK):
        for rule, detail in id_rule_codes(number, sex=sex, birth_year=birth_year):
            yield Finding(rule, pk, None, unit_path, province, detail)
        if phone and not phone_is_valid(phone):
            yield Finding("phone_invalid", pk, None, unit_path, province, _detail(phone=phone))


def rule_duplicate_person(path: str, *, today: dt.date) -> Iterator[Finding]:
    """Same folded name + birth date + place of origin under different ID numbers.

    Every record of such a group but the earliest (lowest id) is a finding.
    """
    citizens = _citizens(path).exclude(search_name="").exclude(birth_date__isnull=True)
    keys = (
        citizens.order_by()
        .values_list("search_name", "birth_date", "place_of_origin")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    groups: dict[tuple[str, dt.date | None, str], list[tuple[int, str, str, str]]] = {}
    for name, birth, origin, _n in keys.iterator(_CHUNK):
        groups[(name, birth, origin)] = []
    names = sorted({key[0] for key in groups})
    for start in range(0, len(names), 500):
        members = (
            citizens.filter(search_name__in=names[start : start + 500])
            .order_by("id")
            .values_list(
                "id",
                "search_name",
                "birth_date",
                "place_of_origin",
                "id_number",
                "unit_path",
                "province_code",
            )
        )
        for pk, name, birth, origin, number, unit_path, province in members:
            group = groups.get((name, birth, origin))
            if group is not None:
                group.append((pk, number, unit_path, province))
    for group in groups.values():
        # The earliest record stands; each later one is reported as its likely duplicate,
        # naming the others, so the count is the number of records to merge away.
        for pk, _number, unit_path, province in group[1:]:
            others = ",".join(other[1] for other in group if other[0] != pk)
            yield Finding("duplicate_person", pk, None, unit_path, province, _detail(others=others))


def rule_impossible_date(path: str, *, today: dt.date) -> Iterator[Finding]:
    problems: dict[int, list[str]] = defaultdict(list)
    where: dict[int, tuple[str, str]] = {}
    suspects = _citizens(path).filter(
        Q(birth_date__gt=today)
        | Q(birth_date__lt=EARLIEST_BIRTH)
        | Q(birth_year__gt=today.year)
        | Q(birth_year__lt=EARLIEST_BIRTH.year)
        | Q(death_date__lt=F("birth_date"))
        | Q(death_date__gt=today)
    )
    for pk, birth, year, death, unit_path, province in suspects.values_list(
        "id", "birth_date", "birth_year", "death_date", "unit_path", "province_code"
    ).iterator(_CHUNK):
        where[pk] = (unit_path, province)
        if (birth is not None and birth > today) or (year is not None and year > today.year):
            problems[pk].append("birth_future")
        if (birth is not None and birth < EARLIEST_BIRTH) or (
            year is not None and year < EARLIEST_BIRTH.year
        ):
            problems[pk].append("birth_before_1900")
        if death is not None and birth is not None and death < birth:
            problems[pk].append("death_before_birth")
        if death is not None and death > today:
            problems[pk].append("death_future")
    documents = _documents(path).filter(
        Q(issue_date__lt=F("citizen__birth_date")) | Q(issue_date__gt=today)
    )
    for pk, issued, birth, unit_path, province in documents.values_list(
        "citizen_id",
        "issue_date",
        "citizen__birth_date",
        "citizen__unit_path",
        "citizen__province_code",
    ).iterator(_CHUNK):
        where[pk] = (unit_path, province)
        if issued is not None and issued > today:
            problems[pk].append("document_future")
        if birth is not None and issued is not None and issued < birth:
            problems[pk].append("document_before_birth")
    for pk in sorted(problems):
        unit_path, province = where[pk]
        codes = ",".join(sorted(set(problems[pk]), key=list(_DATE_PROBLEMS).index))
        yield Finding("impossible_date", pk, None, unit_path, province, _detail(problems=codes))


def rule_missing_required(path: str, *, today: dt.date) -> Iterator[Finding]:
    suspects = _citizens(path).filter(
        Q(full_name="") | Q(birth_year__isnull=True) | Q(sex="") | Q(place_of_origin="")
    )
    for pk, name, year, sex, origin, unit_path, province in suspects.values_list(
        "id", "full_name", "birth_year", "sex", "place_of_origin", "unit_path", "province_code"
    ).iterator(_CHUNK):
        empty = [
            field
            for field, value in (
                ("full_name", name),
                ("birth_year", year),
                ("sex", sex),
                ("place_of_origin", origin),
            )
            if value is None or value == ""
        ]
        yield Finding(
            "missing_required", pk, None, unit_path, province, _detail(fields=",".join(empty))
        )


def rule_deceased_with_valid_card(path: str, *, today: dt.date) -> Iterator[Finding]:
    documents = (
        _documents(path)
        .filter(status=DocumentStatus.VALID, citizen__life_status=LifeStatus.DECEASED)
        .order_by("citizen_id", "id")
        .values_list("citizen_id", "number", "citizen__unit_path", "citizen__province_code")
    )
    held: dict[int, list[str]] = defaultdict(list)
    where: dict[int, tuple[str, str]] = {}
    for pk, number, unit_path, province in documents.iterator(_CHUNK):
        held[pk].append(number)
        where[pk] = (unit_path, province)
    for pk, numbers in held.items():
        yield Finding(
            "deceased_with_valid_card",
            pk,
            None,
            *where[pk],
            _detail(documents=",".join(numbers)),
        )


def rule_cmnd9_only(path: str, *, today: dt.date) -> Iterator[Finding]:
    """Every document the person holds is a 9-digit CMND: one GROUP BY over documents."""
    holders = (
        _documents(path)
        .order_by()
        .values("citizen_id", "citizen__unit_path", "citizen__province_code")
        .annotate(
            n9=Count("id", filter=Q(kind=DocumentKind.CMND9)),
            other=Count("id", filter=~Q(kind=DocumentKind.CMND9)),
            number=Min("number", filter=Q(kind=DocumentKind.CMND9)),
        )
        .filter(n9__gt=0, other=0)
    )
    for row in holders.iterator(_CHUNK):
        yield Finding(
            "cmnd9_only",
            row["citizen_id"],
            None,
            row["citizen__unit_path"],
            row["citizen__province_code"],
            _detail(number=row["number"]),
        )


def rule_households(path: str, *, today: dt.date) -> Iterator[Finding]:
    """No head (none designated, or no member recorded as head), or several heads."""
    households = (
        Household.objects.filter(prefix_q("unit_path", path))
        .order_by()
        .annotate(heads=Count("members", filter=Q(members__relationship=Relationship.HEAD)))
        .filter(Q(heads=0) | Q(heads__gt=1) | Q(head__isnull=True))
        .values_list("id", "unit_path", "province_code", "head_id", "heads")
    )
    for pk, unit_path, province, head_id, heads in households.iterator(_CHUNK):
        if heads > 1:
            yield Finding(
                "household_several_heads", None, pk, unit_path, province, _detail(heads=heads)
            )
        elif heads == 0 or head_id is None:
            yield Finding("household_without_head", None, pk, unit_path, province)


RuleFunction = Callable[..., Iterator[Finding]]
RULE_FUNCTIONS: tuple[RuleFunction, ...] = (
    rule_id_and_phone,
    rule_duplicate_person,
    rule_impossible_date,
    rule_missing_required,
    rule_deceased_with_valid_card,
    rule_cmnd9_only,
    rule_households,
)


def findings_for(path: str, *, today: dt.date) -> Iterator[Finding]:
    """Every finding under ``path``, rule after rule."""
    for function in RULE_FUNCTIONS:
        yield from function(path, today=today)


# --- Runs ---------------------------------------------------------------------------------


def _local_today() -> dt.date:
    return timezone.localdate()


def _can_recompute(user: Any) -> bool:
    return user_can(user, Capability.IMPORT_CITIZENS) or user_can(
        user, Capability.APPROVE_CORRECTION
    )


def quality_run_start(*, actor: Any, unit_id: int) -> QualityRun:
    """Queue a recomputation of the rules for a unit's subtree (managers only).

    The task is enqueued after commit, so the worker always finds the run row.
    """
    from cancuoc.registry.tasks import quality_run_task

    with transaction.atomic():
        if not _can_recompute(actor):
            raise PermissionDenied
        unit = Unit.objects.filter(pk=unit_id).first()
        if unit is None or not unit_in_scope(actor, unit):
            raise OutOfScope
        recent = timezone.now() - RUN_BLOCKS_FOR
        busy = QualityRun.objects.filter(
            unit=unit,
            status__in=[QualityRun.Status.QUEUED, QualityRun.Status.RUNNING],
            created_at__gte=recent,
        )
        if busy.exists():
            raise DomainError(_("A check of this unit is already in progress."))
        run = QualityRun.objects.create(unit=unit, unit_path=unit.path)
        audit_record(actor=actor, action="quality.start", obj=run, unit=unit)
        transaction.on_commit(partial(quality_run_task.enqueue, run.pk))
    return run


def _save_findings(run: QualityRun, findings: Iterable[Finding]) -> dict[str, int]:
    counts = dict.fromkeys(RULE_CODES, 0)
    batch: list[QualityFinding] = []
    for finding in findings:
        counts[finding.rule] = counts.get(finding.rule, 0) + 1
        batch.append(
            QualityFinding(
                run=run,
                rule=finding.rule,
                citizen_id=finding.citizen_id,
                household_id=finding.household_id,
                unit_path=finding.unit_path,
                province_code=finding.province_code,
                detail=finding.detail,
            )
        )
        if len(batch) >= 5000:
            QualityFinding.objects.bulk_create(batch)
            batch = []
    QualityFinding.objects.bulk_create(batch)
    return counts


def quality_run_compute(*, run_id: int, today: dt.date | None = None) -> dict[str, int]:
    """Apply every rule to the run's subtree; replace the unit's older findings.

    Idempotent: a run already done is left as is. The findings, the counts and the
    removal of the older findings commit together, so a reader never sees a mix.
    """
    run = QualityRun.objects.select_related("unit").get(pk=run_id)
    if run.status == QualityRun.Status.DONE:
        return dict(run.counts)
    QualityRun.objects.filter(pk=run.pk).update(status=QualityRun.Status.RUNNING)
    day = today or _local_today()
    try:
        with transaction.atomic():
            QualityFinding.objects.filter(run=run).delete()
            counts = _save_findings(run, findings_for(run.unit_path, today=day))
            QualityFinding.objects.filter(run__unit_id=run.unit_id).exclude(run=run).delete()
            run.status = QualityRun.Status.DONE
            run.counts = counts
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "counts", "finished_at"])
    except Exception:
        QualityRun.objects.filter(pk=run.pk).update(
            status=QualityRun.Status.FAILED, finished_at=timezone.now()
        )
        raise
    return counts


# --- Selectors ----------------------------------------------------------------------------


def quality_latest_run(*, user: Any, unit: Unit) -> QualityRun | None:
    """The newest finished run for ``unit`` (which must be in the user's scope)."""
    runs = scope_queryset(QualityRun.objects.filter(unit=unit).select_related("unit"), user=user)
    return runs.filter(status=QualityRun.Status.DONE).order_by("-created_at", "-id").first()


def quality_pending_run(*, user: Any, unit: Unit) -> QualityRun | None:
    """A queued or running run for ``unit`` started after the latest finished one."""
    runs = scope_queryset(QualityRun.objects.filter(unit=unit), user=user)
    latest = runs.order_by("-created_at", "-id").first()
    if latest is None or latest.status == QualityRun.Status.DONE:
        return None
    return latest


def quality_run_get(*, user: Any, run_id: int) -> QualityRun:
    run = scope_queryset(QualityRun.objects.select_related("unit"), user=user).filter(pk=run_id)
    found = run.first()
    if found is None:
        raise OutOfScope
    return found


def quality_findings(
    *,
    user: Any,
    run: QualityRun,
    rule: str,
    audit_action: str = "quality.findings.view",
    audit_detail: dict[str, Any] | None = None,
) -> QuerySet[QualityFinding]:
    """The run's findings for one rule, in the user's scope, with the records they name.

    Findings show full ID numbers and names, so every read is audited here (one row per
    page, API call or export, with the rule and how many findings the reader may see):
    no page or endpoint can forget it. A finding belongs to its run's snapshot: its
    unit_path is where the record was when the run looked, and the next run recomputes it.
    """
    findings = scope_queryset(QualityFinding.objects.filter(run=run, rule=rule), user=user)
    audit_record(
        actor=user,
        action=audit_action,
        obj=run,
        unit=run.unit,
        detail={"rule": rule, "count": findings.count(), **(audit_detail or {})},
    )
    return findings.select_related("citizen", "household").order_by("unit_path", "id")


def quality_unit_choices(*, user: Any) -> QuerySet[Unit]:
    """Units whose report the user may open: their own and the current units just below."""
    own = user.unit
    units = scope_queryset(Unit.objects.filter(Q(pk=own.pk) | Q(parent=own)), user=user)
    return units.filter(valid_to__isnull=True).order_by("level", "name")


def has_findings(*, run: QualityRun) -> bool:
    return QualityFinding.objects.filter(run=run).exists()
