"""Builders for campaign tests; other test modules import them.

Campaigns and allocations are plain rows (so a test of sessions or pages does not depend
on the campaign services); daily results go through the real event path
(`core.events.event_append`), so the rollups are exactly what production reads.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from cancuoc.campaigns.models import (
    Allocation,
    Campaign,
    CampaignDay,
    CampaignStatus,
    QuotaOverride,
)
from cancuoc.core.events import event_append
from cancuoc.units.models import Edition, Level, Unit, UnitType
from tests import factories

_seq = itertools.count(1)

#: The subject and measures of daily results (campaigns/services/_common.py).
SUBJECT = "enrolment"
AUTO = "enrolled"
MANUAL = "enrolled_manual"


def campaign(
    *,
    unit: Unit,
    created_by: Any,
    slug: str | None = None,
    name: str | None = None,
    start_date: dt.date = dt.date(2025, 9, 1),
    deadline: dt.date = dt.date(2025, 12, 31),
    target: int = 10_000,
    status: str = CampaignStatus.ACTIVE,
    **fields: Any,
) -> Campaign:
    """A campaign row over ``unit`` (no allocations: add them with :func:`allocations`)."""
    number = next(_seq)
    return Campaign.objects.create(
        slug=slug or f"campaign-{number}",
        name=name or f"Campaign {number}",
        unit=unit,
        unit_path=unit.path,
        province_code=unit.province_code or "",
        start_date=start_date,
        deadline=deadline,
        target=target,
        status=status,
        created_by=created_by,
        **fields,
    )


def allocation(campaign: Campaign, unit: Unit, target: int, due_population: int = 0) -> Allocation:
    return Allocation.objects.create(
        campaign=campaign,
        unit=unit,
        unit_path=unit.path,
        target=target,
        due_population=due_population,
    )


def allocations(campaign: Campaign, targets: Mapping[Unit, int]) -> list[Allocation]:
    """One allocation per unit (the caller makes them sum to the target when it matters)."""
    return [allocation(campaign, unit, target) for unit, target in targets.items()]


def quota(campaign: Campaign, unit: Unit, day: dt.date, quota: int) -> QuotaOverride:
    return QuotaOverride.objects.create(campaign=campaign, unit=unit, day=day, quota=quota)


def quotas(campaign: Campaign, units: Iterable[Unit], day: dt.date, quota: int) -> None:
    for one in units:
        QuotaOverride.objects.create(campaign=campaign, unit=one, day=day, quota=quota)


def day_override(campaign: Campaign, day: dt.date, *, is_open: bool, note: str = "") -> CampaignDay:
    return CampaignDay.objects.create(campaign=campaign, day=day, is_open=is_open, note=note)


def enrolled(unit: Unit, day: dt.date, count: int, *, measure: str = AUTO) -> None:
    """``count`` dossiers received at ``unit`` on ``day``: one "enrolment.completed" event
    carrying the count (the rollups only see the sum, so one event stands for many)."""
    event_append(
        kind="enrolment.completed",
        unit=unit,
        day=day,
        subject=SUBJECT,
        measures={measure: count},
    )


def enrolled_days(unit: Unit, counts: Mapping[dt.date, int]) -> None:
    for day, count in counts.items():
        if count:
            enrolled(unit, day, count)


# --- Hà Tĩnh before 1/7/2025 (domain.md §1, seeds/004) ----------------------------------

#: The 13 district-level units of Hà Tĩnh in 2021 (1 provincial city, 2 towns, 10 rural
#: districts) with GSO codes, and what each received on 16/3/2021. The first 11 figures
#: are the article's; Nghi Xuân and Lộc Hà are not in it (see tests/campaigns/test_reports.py
#: for how their figures were derived).
HA_TINH_2021_DISTRICTS: tuple[tuple[str, str, str, int | None], ...] = (
    ("445", "Huyện Thạch Hà", UnitType.RURAL_DISTRICT, 718),
    ("446", "Huyện Cẩm Xuyên", UnitType.RURAL_DISTRICT, 706),
    ("444", "Huyện Hương Khê", UnitType.RURAL_DISTRICT, 675),
    ("447", "Huyện Kỳ Anh", UnitType.RURAL_DISTRICT, 673),
    ("436", "Thành phố Hà Tĩnh", UnitType.PROVINCIAL_CITY, 670),
    ("449", "Thị xã Kỳ Anh", UnitType.TOWN, 639),
    ("439", "Huyện Hương Sơn", UnitType.RURAL_DISTRICT, 631),
    ("437", "Thị xã Hồng Lĩnh", UnitType.TOWN, 631),
    ("440", "Huyện Đức Thọ", UnitType.RURAL_DISTRICT, 628),
    ("443", "Huyện Can Lộc", UnitType.RURAL_DISTRICT, 622),
    ("441", "Huyện Vũ Quang", UnitType.RURAL_DISTRICT, 605),
    ("442", "Huyện Nghi Xuân", UnitType.RURAL_DISTRICT, None),
    ("448", "Huyện Lộc Hà", UnitType.RURAL_DISTRICT, None),
)


def hatinh_2021() -> tuple[Unit, dict[str, Unit]]:
    """Province Hà Tĩnh of the 2021 edition with its 13 districts; returns (province,
    {district name: unit})."""
    nation = factories.nation()
    province = factories.unit(parent=nation, code="42", name="Tỉnh Hà Tĩnh", edition=Edition.Y2021)
    districts = {
        name: factories.unit(
            parent=province,
            code=code,
            name=name,
            edition=Edition.Y2021,
            unit_type=unit_type,
            level=Level.DISTRICT,
        )
        for code, name, unit_type, _received in HA_TINH_2021_DISTRICTS
    }
    return province, districts
