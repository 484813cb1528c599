import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from cancuoc.units.models import Unit
from cancuoc.units.selectors import unit_children, unit_get, unit_subtree, units_visible

router = Router(tags=["units"])


class UnitOut(Schema):
    id: int
    edition: str
    code: str
    name: str
    unit_type: str
    level: int
    parent_id: int | None
    path: str
    province_code: str
    valid_from: dt.date | None
    valid_to: dt.date | None


class UnitFilter(Schema):
    q: str = Field("", description='Name, with or without diacritics ("ha tinh" finds Hà Tĩnh)')
    edition: str | None = Field(None, description='"2025" or "2021"')
    level: int | None = Field(None, description="1 province, 2 district, 3 commune")


def _get(request: HttpRequest, unit_id: int) -> Unit:
    unit = unit_get(user=request.user, pk=unit_id)
    if unit is None:
        raise HttpError(404, "Not found.")
    return unit


@router.get("", response=list[UnitOut], summary="Units in the caller's scope")
@paginate(LimitOffsetPagination)
def list_units(request: HttpRequest, filters: Query[UnitFilter]):  # type: ignore[no-untyped-def]
    return units_visible(
        user=request.user, q=filters.q.strip(), edition=filters.edition, level=filters.level
    )


@router.get("/{unit_id}", response=UnitOut, summary="One unit")
def get_unit(request: HttpRequest, unit_id: int) -> Unit:
    return _get(request, unit_id)


@router.get("/{unit_id}/children", response=list[UnitOut], summary="Direct children of a unit")
@paginate(LimitOffsetPagination)
def list_children(request: HttpRequest, unit_id: int):  # type: ignore[no-untyped-def]
    return unit_children(user=request.user, unit=_get(request, unit_id))


@router.get("/{unit_id}/subtree", response=list[UnitOut], summary="A unit and all below it")
@paginate(LimitOffsetPagination)
def list_subtree(request: HttpRequest, unit_id: int):  # type: ignore[no-untyped-def]
    return unit_subtree(user=request.user, unit=_get(request, unit_id))
