"""API: the stations in the caller's scope, with their offline sync state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from cancuoc.enrolment import selectors, services
from cancuoc.enrolment.models import Station

router = Router()


class SyncOut(Schema):
    level: str
    days_unsynced: int
    unsent: int
    message: str


class StationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    unit_id: int
    is_active: bool
    finger_threshold: int
    finger_retries: int
    face_threshold: int
    max_days_unsynced: int
    max_unsent: int
    last_pull_at: dt.datetime | None
    last_push_at: dt.datetime | None


class StationDetailOut(StationOut):
    operators: list[str]
    device_profile: dict[str, Any]
    sync: SyncOut

    @staticmethod
    def resolve_operators(obj: Station) -> list[str]:
        return sorted(u.get_username() for u in obj.operators.all())

    @staticmethod
    def resolve_sync(obj: Station) -> Any:
        return services.station_sync_state(station=obj)


@router.get("/stations", response=list[StationOut], summary="Stations in the caller's scope")
@paginate(LimitOffsetPagination)
def stations_list(request: HttpRequest):  # type: ignore[no-untyped-def]
    return selectors.stations_for(request.user)


@router.get(
    "/stations/{int:station_id}",
    response=StationDetailOut,
    summary="One station: operators, device profile, thresholds and sync state",
)
def station_get(request: HttpRequest, station_id: int) -> Station:
    return selectors.station_get(request.user, station_id)
