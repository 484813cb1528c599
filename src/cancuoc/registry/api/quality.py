"""API: data-quality report of a unit (latest counts, findings per rule, recomputation)."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import unit_in_scope
from cancuoc.registry.models import QualityFinding, QualityRun
from cancuoc.registry.quality import (
    RULES,
    finding_detail_display,
    quality_findings,
    quality_latest_run,
    quality_pending_run,
    quality_run_start,
    rule_get,
)
from cancuoc.units.models import Unit

router = Router(tags=["registry"])


class RunOut(Schema):
    id: int
    unit_id: int
    status: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, int]


class RuleCountOut(Schema):
    code: str
    name: str
    explanation: str
    subject: str
    count: int


class QualityReportOut(Schema):
    unit_id: int
    unit_name: str
    run: RunOut | None
    pending: RunOut | None
    rules: list[RuleCountOut]


class FindingOut(Schema):
    id: int
    rule: str
    citizen_id: int | None
    citizen_id_number: str | None
    citizen_name: str | None
    household_id: int | None
    household_number: str | None
    unit_path: str
    detail: str
    detail_display: str


class ReportFilter(Schema):
    unit_id: int | None = Field(None, description="Default: the caller's unit")


class FindingFilter(ReportFilter):
    rule: str = Field(..., description="A rule code, e.g. duplicate_person")


class RunIn(Schema):
    unit_id: int


def _unit(request: HttpRequest, unit_id: int | None) -> Unit:
    if not user_can(request.user, Capability.VIEW_REGISTRY):
        raise PermissionDenied
    if unit_id is None:
        return request.user.unit  # type: ignore[union-attr]
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None or not unit_in_scope(request.user, unit):
        raise OutOfScope
    return unit


def _finding_out(finding: QualityFinding) -> dict[str, Any]:
    citizen, household = finding.citizen, finding.household
    return {
        "id": finding.pk,
        "rule": finding.rule,
        "citizen_id": finding.citizen_id,
        "citizen_id_number": citizen.id_number if citizen else None,
        "citizen_name": citizen.full_name if citizen else None,
        "household_id": finding.household_id,
        "household_number": household.number if household else None,
        "unit_path": finding.unit_path,
        "detail": finding.detail,
        "detail_display": finding_detail_display(finding.rule, finding.detail),
    }


@router.get("/quality", response=QualityReportOut, summary="Latest data-quality counts of a unit")
def quality_report(request: HttpRequest, filters: Query[ReportFilter]) -> dict[str, Any]:
    unit = _unit(request, filters.unit_id)
    run = quality_latest_run(user=request.user, unit=unit)
    counts = run.counts if run else {}
    return {
        "unit_id": unit.pk,
        "unit_name": unit.name,
        "run": run,
        "pending": quality_pending_run(user=request.user, unit=unit),
        "rules": [
            {
                "code": rule.code,
                "name": str(rule.name),
                "explanation": str(rule.explanation),
                "subject": rule.subject,
                "count": counts.get(rule.code, 0),
            }
            for rule in RULES
        ],
    }


@router.get(
    "/quality/findings", response=list[FindingOut], summary="Findings of one rule, latest run"
)
@paginate(LimitOffsetPagination)
def quality_finding_list(request: HttpRequest, filters: Query[FindingFilter]):  # type: ignore[no-untyped-def]
    unit = _unit(request, filters.unit_id)
    if rule_get(filters.rule) is None:
        raise DomainError(f"Unknown rule {filters.rule!r}.")
    run = quality_latest_run(user=request.user, unit=unit)
    if run is None:
        return []
    return _LazyFindings(quality_findings(user=request.user, run=run, rule=filters.rule))


class _LazyFindings:
    """A paginated queryset whose page is turned into output dicts (detail in words)."""

    def __init__(self, queryset: Any) -> None:
        self.queryset = queryset

    def __len__(self) -> int:
        return self.queryset.count()

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [_finding_out(finding) for finding in self.queryset[item]]


@router.post("/quality/runs", response={202: RunOut}, summary="Recompute a unit's data quality")
def quality_run_create(request: HttpRequest, payload: RunIn) -> Status[QualityRun]:
    run = quality_run_start(actor=request.user, unit_id=payload.unit_id)
    run.refresh_from_db()
    return Status(202, run)
