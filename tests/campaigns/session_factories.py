"""Builders for the session and invitation tests (campaign rows come from factories.py)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cancuoc.campaigns.models import Campaign, Session, Slot, Team
from cancuoc.campaigns.services import sessions as svc
from tests import factories
from tests.campaigns import factories as campaign_factories

_seq = itertools.count(1)


def team(unit: Any, name: str | None = None, **fields: Any) -> Team:
    return Team.objects.create(
        name=name or f"Team {next(_seq)}", unit=unit, unit_path=unit.path, **fields
    )


def campaign(
    unit: Any, created_by: Any, *, start: dt.date | None = None, **fields: Any
) -> Campaign:
    """A campaign that runs from ``start`` (default: today) for 60 days."""
    start = start or timezone.localdate()
    return campaign_factories.campaign(
        unit=unit,
        created_by=created_by,
        start_date=start,
        deadline=start + dt.timedelta(days=60),
        **fields,
    )


def day(offset: int = 7) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=offset)


def session(
    actor: Any,
    camp: Campaign,
    unit: Any,
    crew: Team,
    *,
    on: dt.date | None = None,
    start: str = "07:30",
    end: str = "08:30",
    sets: int = 1,
    kind: str = "commune_office",
    site: str = "Hội trường Công an xã",
    slot_minutes: int = 30,
    **extra: Any,
) -> Session:
    return svc.session_create(
        actor=actor,
        campaign_id=camp.pk,
        unit_id=unit.pk,
        team_id=crew.pk,
        site_kind=kind,
        site_name=site,
        day=on or day(),
        start_time=start,
        end_time=end,
        sets=sets,
        slot_minutes=slot_minutes,
        **extra,
    )


def citizens(unit: Any, count: int, **fields: Any) -> list[Any]:
    return [
        factories.citizen(unit=unit, full_name=f"Nguyễn Văn {i:03d}", **fields)
        for i in range(count)
    ]


def slots(s: Session) -> list[tuple[str, str, int, int]]:
    return [
        (f"{x.start:%H:%M}", f"{x.end:%H:%M}", x.capacity, x.booked)
        for x in Slot.objects.filter(session=s).order_by("start")
    ]


@dataclass
class Scene:
    """Alice's commune A running the province's campaign with a team of the province."""

    camp: Campaign
    crew: Team
    actor: Any


def scene(world: Any, alice: Any, hana: Any, **campaign_fields: Any) -> Scene:
    camp = campaign(world.hatinh, hana, **campaign_fields)
    return Scene(camp=camp, crew=team(world.commune_a, "Tổ lưu động số 1"), actor=alice)
