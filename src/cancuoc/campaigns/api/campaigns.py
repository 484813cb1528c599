"""API: campaigns, their allocations, daily quotas, calendar days and manual counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cancuoc.campaigns import selectors, services
from cancuoc.campaigns.models import Allocation, Campaign, TargetKind
from cancuoc.core.scoping import scope_queryset

router = Router()


class CampaignIn(Schema):
    slug: str
    name: str
    unit_id: int
    start_date: dt.date
    deadline: dt.date
    target: int | None = Field(None, description='Required unless target_kind is "cohort"')
    target_kind: TargetKind = TargetKind.NUMBER
    law: str = Field("2023", description='"2014" (Law on CCCD) or "2023" (Law on Identity)')
    open_weekends: bool = True
    open_holidays: bool = False
    service_minutes: int = 6
    show_up_rate: int = 85
    ranking_weights: dict[str, float] = Field(
        default_factory=dict, description='e.g. {"quota": 60, "on_time": 25, "satisfaction": 15}'
    )


class AllocationOut(Schema):
    unit_id: int
    unit_name: str
    target: int
    due_population: int
    edited: bool


class CampaignOut(Schema):
    id: int
    slug: str
    name: str
    unit_id: int
    unit_name: str
    start_date: dt.date
    deadline: dt.date
    target_kind: str
    target: int
    law: str
    open_weekends: bool
    open_holidays: bool
    status: str


class CampaignDetailOut(CampaignOut):
    allocations: list[AllocationOut]


class AllocationsIn(Schema):
    targets: dict[int, int] = Field(description="unit id → target; must sum to the target")


class QuotasIn(Schema):
    day: dt.date
    quotas: dict[int, int | None] = Field(description="unit id → quota; null: computed again")


class DayIn(Schema):
    is_open: bool | None = Field(description="null: back to the campaign's rules")
    note: str = ""


class ManualCountIn(Schema):
    unit_id: int
    day: dt.date
    received: int


class ManualCountOut(Schema):
    unit_id: int
    day: dt.date
    received: int


def _campaign(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "slug": campaign.slug,
        "name": campaign.name,
        "unit_id": campaign.unit_id,
        "unit_name": campaign.unit.name,
        "start_date": campaign.start_date,
        "deadline": campaign.deadline,
        "target_kind": campaign.target_kind,
        "target": campaign.target,
        "law": campaign.law,
        "open_weekends": campaign.open_weekends,
        "open_holidays": campaign.open_holidays,
        "status": campaign.status,
    }


def _allocations(rows: Any) -> list[dict[str, Any]]:
    return [
        {
            "unit_id": a.unit_id,
            "unit_name": a.unit.name,
            "target": a.target,
            "due_population": a.due_population,
            "edited": a.edited,
        }
        for a in rows
    ]


def _detail(user: Any, campaign: Campaign) -> dict[str, Any]:
    # Only the shares of units in the caller's scope: a commune reading its province's
    # campaign sees its own allocation, not its neighbours'.
    rows = scope_queryset(
        Allocation.objects.filter(campaign=campaign).select_related("unit"),
        user=user,
        lookup="unit_path",
    ).order_by("unit__path")
    return {**_campaign(campaign), "allocations": _allocations(rows)}


@router.get("/", response=list[CampaignOut], summary="The campaigns the caller may see")
def campaign_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_campaign(c) for c in selectors.campaigns_for(request.user)[:500]]


@router.post("/", response={201: CampaignDetailOut}, summary="Create a campaign (draft)")
def campaign_create(request: HttpRequest, body: CampaignIn) -> tuple[int, dict[str, Any]]:
    campaign = services.campaign_create(actor=request.user, **body.dict())
    return 201, _detail(request.user, campaign)


@router.get("/{int:campaign_id}", response=CampaignDetailOut, summary="One campaign")
def campaign_detail(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    return _detail(request.user, selectors.campaign_get(request.user, campaign_id))


@router.post(
    "/{int:campaign_id}/allocations/propose",
    response=CampaignDetailOut,
    summary="Allocate the target in proportion to the due population (largest remainder)",
)
def allocations_propose(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    services.allocation_propose(actor=request.user, campaign_id=campaign_id)
    return _detail(request.user, selectors.campaign_get(request.user, campaign_id))


@router.put(
    "/{int:campaign_id}/allocations",
    response=CampaignDetailOut,
    summary="Set the allocations by hand (they must sum to the target; else nothing is saved)",
)
def allocations_put(request: HttpRequest, campaign_id: int, body: AllocationsIn) -> dict[str, Any]:
    services.allocations_set(actor=request.user, campaign_id=campaign_id, targets=body.targets)
    return _detail(request.user, selectors.campaign_get(request.user, campaign_id))


@router.put(
    "/{int:campaign_id}/quotas",
    response={204: None},
    summary="Set units' quotas for one day (all or nothing)",
)
def quotas_put(request: HttpRequest, campaign_id: int, body: QuotasIn) -> tuple[int, None]:
    services.quotas_set(
        actor=request.user, campaign_id=campaign_id, day=body.day, quotas_by_unit=body.quotas
    )
    return 204, None


@router.put(
    "/{int:campaign_id}/days/{day}",
    response={204: None},
    summary="Open or close one day of the campaign calendar",
)
def day_put(request: HttpRequest, campaign_id: int, day: dt.date, body: DayIn) -> tuple[int, None]:
    services.campaign_day_set(
        actor=request.user, campaign_id=campaign_id, day=day, is_open=body.is_open, note=body.note
    )
    return 204, None


@router.post(
    "/{int:campaign_id}/manual-counts",
    response={201: ManualCountOut},
    summary="Enter a unit's results for a day by hand (refused if counted automatically)",
)
def manual_count(
    request: HttpRequest, campaign_id: int, body: ManualCountIn
) -> tuple[int, dict[str, Any]]:
    row = services.manual_count_enter(
        actor=request.user,
        campaign_id=campaign_id,
        unit_id=body.unit_id,
        day=body.day,
        received=body.received,
    )
    return 201, {"unit_id": row.unit_id, "day": row.day, "received": row.received}
