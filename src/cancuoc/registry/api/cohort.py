"""API: the cohort — who is due for a card on a date, in a unit subtree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from cancuoc.registry import cohort_rules as rules
from cancuoc.registry.cohort import cohort_counts, cohort_page
from cancuoc.units.models import Unit

router = Router()


class CohortQuery(Schema):
    unit_id: int = Field(..., description="The unit whose subtree is counted (in your scope)")
    on: dt.date = Field(..., description="Reference date; the law in force that day applies")


class ListQuery(CohortQuery):
    bucket: str = Field("must", description="must | may | excluded | not_due")
    reason: str = Field("", description='e.g. "no_card", "cmnd_only", "renewal_25"')
    group: str = Field("", description="home_visit | school | regular")
    band: str = Field("", description='age band, e.g. "14-17", "80+"')
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class CountsOut(Schema):
    unit: dict[str, Any]
    on: dt.date
    regime: dict[str, str]
    total: int
    buckets: dict[str, int]
    reasons: dict[str, int]
    age_bands: dict[str, dict[str, int]]
    priority_groups: dict[str, dict[str, int]]
    units: list[dict[str, Any]]


class CitizenDue(Schema):
    citizen_id: int
    id_number: str
    full_name: str
    birth_date: dt.date | None
    birth_precision: str
    unit_path: str
    age: int | None
    bucket: str
    reason: str
    group: str


class ListOut(Schema):
    count: int
    items: list[CitizenDue]


def _unit(unit_id: int) -> Unit | None:
    # Scope is checked by the selector (an out-of-scope or missing unit is a 404).
    return Unit.objects.filter(pk=unit_id).first()


@router.get("/cohort", response=CountsOut, summary="Cohort counts on a date")
def get_cohort(request: HttpRequest, query: Query[CohortQuery]) -> dict[str, Any]:
    return cohort_counts(user=request.user, unit=_unit(query.unit_id), on=query.on).as_dict()


@router.get("/cohort/list", response=ListOut, summary="Citizens of one cohort bucket, paged")
def list_cohort(request: HttpRequest, query: Query[ListQuery]) -> dict[str, Any]:
    bucket = query.bucket if query.bucket in rules.BUCKETS else "must"
    count, rows = cohort_page(
        user=request.user,
        unit=_unit(query.unit_id),
        on=query.on,
        bucket=bucket,
        reason=query.reason,
        group=query.group,
        band=query.band,
        offset=query.offset,
        limit=query.limit,
        audit_action="registry.cohort.api",
    )
    items = [
        {
            "citizen_id": r.citizen_id,
            "id_number": r.id_number,
            "full_name": r.full_name,
            "birth_date": r.birth_date,
            "birth_precision": r.birth_precision,
            "unit_path": r.unit_path,
            "age": r.verdict.age,
            "bucket": r.verdict.bucket,
            "reason": r.verdict.reason,
            "group": r.verdict.group,
        }
        for r in rows
    ]
    return {"count": count, "items": items}
