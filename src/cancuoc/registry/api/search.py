"""API: citizen search and one citizen's record (audited)."""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from cancuoc.registry import selectors
from cancuoc.registry.models import Citizen

router = Router()


class CitizenFilter(Schema):
    q: str = Field(
        "",
        description='Name (any case, with or without diacritics, partial: "nguyen thi hang", '
        '"hằng"), a 12-digit ID or 9-digit old ID card number, a household number, a birth '
        'year ("1990") or date ("17/05/1990"); combine them with spaces.',
    )
    unit: int | None = Field(None, description="Narrow to this unit (and below) in your scope")
    limit: int = Field(selectors.PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, lt=selectors.SEARCH_CAP)


class CitizenBriefOut(Schema):
    """What a list shows: enough to pick the right person, no more."""

    id: int
    full_name: str
    birth_year: int | None
    sex: str
    masked_id_number: str
    unit_name: str
    deceased: bool


class CitizenPageOut(Schema):
    count: int = Field(description=f"Matches found, at most {selectors.SEARCH_CAP}")
    capped: bool = Field(description="More matches exist than counted: refine the query")
    limit: int
    offset: int
    items: list[CitizenBriefOut]


class DocumentOut(Schema):
    kind: str
    number: str
    issue_date: dt.date | None
    issue_place: str
    expiry_date: dt.date | None
    status: str


class FormerNumberOut(Schema):
    number: str
    cancelled_on: dt.date | None
    reason: str


class MemberOut(Schema):
    id: int
    full_name: str
    relationship: str
    birth_year: int | None


class HouseholdOut(Schema):
    id: int
    number: str
    address: str
    members: list[MemberOut]


class CitizenOut(Schema):
    id: int
    id_number: str
    full_name: str
    birth_date: dt.date | None
    birth_precision: str
    birth_year: int | None
    sex: str
    ethnicity: str
    religion: str
    nationality: str
    birth_registration_place: str
    place_of_origin: str
    permanent_unit_id: int
    permanent_address: str
    current_unit_id: int | None
    current_address: str
    unit_path: str
    relationship: str
    phone: str
    life_status: str
    death_date: dt.date | None
    frail_elderly: bool
    disability: bool
    serious_illness: bool
    living_alone: bool
    war_merit: bool
    school: str
    grade: str
    documents: list[DocumentOut]
    former_numbers: list[FormerNumberOut]
    household: HouseholdOut | None


def _brief(citizen: Citizen) -> dict:
    return {
        "id": citizen.pk,
        "full_name": citizen.full_name,
        "birth_year": citizen.birth_year,
        "sex": citizen.sex,
        "masked_id_number": selectors.mask_id(citizen.id_number),
        "unit_name": selectors.citizen_unit(citizen).name,
        "deceased": citizen.life_status == "deceased",
    }


@router.get(
    "/citizens",
    response=CitizenPageOut,
    summary="Search citizens in the caller's scope",
    description="One audit row per search. No total count over the whole registry: "
    f"`capped` is true when more than {selectors.SEARCH_CAP} citizens match.",
)
def search_citizens(request: HttpRequest, filters: Query[CitizenFilter]) -> dict:
    page = selectors.citizen_search(
        user=request.user,
        q=filters.q,
        unit_id=filters.unit,
        offset=filters.offset,
        limit=filters.limit,
    )
    return {
        "count": page.total,
        "capped": page.capped,
        "limit": page.limit,
        "offset": page.offset,
        "items": [_brief(c) for c in page.items],
    }


@router.get(
    "/citizens/{citizen_id}",
    response=CitizenOut,
    summary="One citizen's record (audited)",
    description="Every call writes a `citizen.view` audit row. 404 outside the caller's scope.",
)
def get_citizen(request: HttpRequest, citizen_id: int) -> dict:
    citizen = selectors.citizen_view(user=request.user, citizen_id=citizen_id)
    data = {name: getattr(citizen, name) for name in CitizenOut.model_fields if name != "id"}
    data["id"] = citizen.pk
    data["documents"] = list(citizen.documents.all())
    data["former_numbers"] = list(citizen.former_numbers.all())
    household = citizen.household
    data["household"] = (
        {
            "id": household.pk,
            "number": household.number,
            "address": household.address,
            "members": selectors.household_members(user=request.user, household=household),
        }
        if household
        else None
    )
    return data
