"""The registry slice a station takes on a trip: built on the server, loaded on the laptop.

The slice keeps the server's primary keys (units, operators, citizens, documents,
station, session), so a record made offline names the same citizen and session the
server knows, and loading the same slice twice changes nothing (rows are upserted by
key). A station database holds nothing but slices: never load one into a server.

Format 1::

    {"format": 1, "generated_at": iso, "station": {...}, "session": {...} | null,
     "units": [...], "users": [...], "citizens": [...], "documents": [...],
     "invitations": [...]}

``invitations`` lists the campaign invitations expected at the station on the session's day
(or the pull's day): the invitations of the station's unit (and the units under it) whose
campaign session is on that day, still expected (invited, reminded, rescheduled). When the
station session names its campaign session (``campaign_session_ref``), only that session's.
Their citizens are in ``citizens`` even when the cohort would not list them (a citizen
under 14 invited on request). Each row: id, code, citizen_id, session_id, day, slot start
and end, status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.models import User
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError
from cancuoc.enrolment.models import Station, StationSession
from cancuoc.registry.models import Citizen, IdentityDocument
from cancuoc.units.models import Unit

FORMAT = 1

#: Explicit ID lists are for a few households, not a province.
MAX_IDS = 2000

UNIT_FIELDS = (
    "id", "edition", "code", "name", "search_name", "unit_type", "level", "parent_id", "path",
    "province_code", "valid_from", "valid_to",
)  # fmt: skip
USER_FIELDS = ("id", "username", "full_name", "role", "unit_id", "is_active")
CITIZEN_FIELDS = (
    "id", "province_code", "id_number", "full_name", "search_name", "birth_date",
    "birth_precision", "birth_year", "sex", "ethnicity", "religion", "nationality",
    "birth_registration_place", "place_of_origin", "permanent_unit_id", "permanent_address",
    "current_unit_id", "current_address", "unit_path", "relationship", "phone", "life_status",
    "death_date", "frail_elderly", "disability", "serious_illness", "living_alone", "war_merit",
    "school", "grade",
)  # fmt: skip
DOCUMENT_FIELDS = (
    "id", "citizen_id", "province_code", "kind", "number", "issue_date", "issue_place",
    "expiry_date", "status",
)  # fmt: skip
STATION_FIELDS = (
    "id", "code", "name", "kind", "unit_id", "unit_path", "province_code", "device_profile",
    "finger_threshold", "finger_retries", "face_threshold", "iris_threshold", "max_days_unsynced",
    "max_unsent",
    "is_active",
)  # fmt: skip
SESSION_FIELDS = (
    "id", "station_id", "unit_path", "day", "place", "campaign_session_ref", "opened_by_id",
    "opened_at", "closed_at",
)  # fmt: skip

_DATE_FIELDS = {
    "valid_from",
    "valid_to",
    "birth_date",
    "death_date",
    "issue_date",
    "expiry_date",
    "day",
}
_DATETIME_FIELDS = {"opened_at", "closed_at"}
INVITATION_FIELDS = ("id", "code", "citizen_id", "session_id", "day", "start", "end", "status")


class SliceError(DomainError):
    pass


# --- Server side --------------------------------------------------------------------------


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, dt.date) else value
    return out


def _with_ancestors(units: list[Unit]) -> list[Unit]:
    """The units and every unit above them, parents first (paths nest)."""
    paths: set[str] = set()
    for unit in units:
        parts = [p for p in unit.path.split("/") if p]
        for depth in range(len(parts) + 1):
            paths.add("/" + "".join(p + "/" for p in parts[:depth]))
    return sorted(Unit.objects.filter(path__in=paths), key=lambda u: (len(u.path), u.path))


def _due_citizen_ids(*, actor: Any, station: Station, on: dt.date) -> list[int]:
    from cancuoc.registry.cohort import cohort_list

    rows = cohort_list(
        user=actor, unit=station.unit, on=on, bucket="must", audit_action="enrolment.pull.cohort"
    )
    return [row.citizen_id for row in rows]


def _expected_invitations(
    *, actor: Any, station: Station, session: StationSession | None, on: dt.date
) -> list[dict[str, Any]]:
    """The campaign invitations expected at the station that day (module doc), or []."""
    from django.apps import apps

    if not apps.is_installed("cancuoc.campaigns"):
        return []
    from cancuoc.campaigns.lifecycle import EXPECTED
    from cancuoc.campaigns.models import Invitation
    from cancuoc.core.scoping import prefix_q, scope_queryset

    invitations = scope_queryset(
        Invitation.objects.filter(prefix_q("unit_path", station.unit_path)),
        user=actor,
        lookup="unit_path",
    ).filter(status__in=[str(s) for s in EXPECTED])
    ref = session.campaign_session_ref if session is not None else ""
    if ref.isdigit():
        invitations = invitations.filter(session_id=int(ref))
    else:
        invitations = invitations.filter(session__day=session.day if session else on)
    rows = invitations.select_related("session", "slot").order_by("slot__start", "pk")
    return [
        {
            "id": i.pk,
            "code": i.code,
            "citizen_id": i.citizen_id,
            "session_id": i.session_id,
            "day": i.session.day.isoformat(),
            "start": f"{i.slot.start:%H:%M}",
            "end": f"{i.slot.end:%H:%M}",
            "status": i.status,
        }
        for i in rows
    ]


def slice_build(
    *,
    actor: Any,
    station: Station,
    session_id: int | None = None,
    id_numbers: list[str] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The slice for ``station``: the given citizens (by ID number), or by default the
    citizens of the station's unit who must get a card now; with the session if given.

    ``actor`` is the station's token user: the citizens are read within its scope.
    """
    from cancuoc.registry.selectors import citizens_visible

    now = now or timezone.now()
    session = None
    if session_id is not None:
        session = StationSession.objects.filter(pk=session_id, station=station).first()
        if session is None:
            raise SliceError(_("No such session at this station."))
    if id_numbers:
        if len(id_numbers) > MAX_IDS:
            raise SliceError(_("Ask for at most %(max)d ID numbers.") % {"max": MAX_IDS})
        wanted = citizens_visible(user=actor).filter(id_number__in=id_numbers)
    else:
        ids = _due_citizen_ids(actor=actor, station=station, on=timezone.localdate(now))
        wanted = citizens_visible(user=actor).filter(pk__in=ids)
    today = timezone.localdate(now)
    invitations = _expected_invitations(actor=actor, station=station, session=session, on=today)
    invited = {row["citizen_id"] for row in invitations}
    if invited:
        # The invited are found offline by their notice's code: they travel in the slice.
        wanted = wanted | citizens_visible(user=actor).filter(pk__in=invited)
    citizens = list(wanted.distinct().order_by("pk"))
    known = {c.pk for c in citizens}
    invitations = [row for row in invitations if row["citizen_id"] in known]
    documents = list(IdentityDocument.objects.filter(citizen__in=citizens).order_by("pk"))
    unit_ids = {station.unit_id}
    for citizen in citizens:
        unit_ids.update(u for u in (citizen.permanent_unit_id, citizen.current_unit_id) if u)
    operators = list(station.operators.all())
    operator_ids = sorted(user.pk for user in operators)
    if session is not None and session.opened_by_id not in operator_ids:
        operators.append(session.opened_by)
    unit_ids.update(user.unit_id for user in operators)
    units = _with_ancestors(list(Unit.objects.filter(pk__in=unit_ids)))
    station_row = _row(station, STATION_FIELDS)
    station_row["operator_ids"] = operator_ids
    audit_record(
        actor=actor,
        action="enrolment.pull",
        obj=station,
        unit=station.unit,
        detail={
            "citizens": len(citizens),
            "session": session_id,
            "by_id": bool(id_numbers),
            "invitations": len(invitations),
        },
    )
    Station.objects.filter(pk=station.pk).update(last_pull_at=now)
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "station": station_row,
        "session": _row(session, SESSION_FIELDS) if session is not None else None,
        "units": [_row(u, UNIT_FIELDS) for u in units],
        "users": [_row(u, USER_FIELDS) for u in operators],
        "citizens": [_row(c, CITIZEN_FIELDS) for c in citizens],
        "documents": [_row(d, DOCUMENT_FIELDS) for d in documents],
        "invitations": invitations,
    }


# --- Station side -------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceLoaded:
    station: Station
    created: int
    updated: int
    citizens: int


def _values(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in fields:
        if name == "id":
            continue
        value = row.get(name)
        if value is not None and name in _DATE_FIELDS:
            value = dt.date.fromisoformat(value)
        elif value is not None and name in _DATETIME_FIELDS:
            value = dt.datetime.fromisoformat(value)
        values[name] = value
    return values


#: Rows per query: well under SQLite's limit on query parameters.
_CHUNK = 500


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _upsert(model: Any, rows: list[dict[str, Any]], fields: tuple[str, ...]) -> tuple[int, int]:
    """Create missing rows and rewrite existing ones, by primary key, in bulk."""
    existing: set[Any] = set()
    for chunk in _chunks([r["id"] for r in rows]):
        existing.update(model.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    fresh = [model(pk=r["id"], **_values(r, fields)) for r in rows if r["id"] not in existing]
    stale = [model(pk=r["id"], **_values(r, fields)) for r in rows if r["id"] in existing]
    model.objects.bulk_create(fresh, batch_size=_CHUNK)
    if stale:
        names = [f for f in fields if f != "id"]
        model.objects.bulk_update(stale, names, batch_size=_CHUNK)
    return len(fresh), len(stale)


def _clash(row: dict[str, Any]) -> SliceError:
    return SliceError(
        _(
            "This database already holds another account numbered %(id)s or named %(name)s: "
            "a station needs a database of its own."
        )
        % {"id": row["id"], "name": row["username"]}
    )


def _users_load(rows: list[dict[str, Any]]) -> tuple[int, int]:
    created = updated = 0
    for row in rows:
        user = User.objects.filter(pk=row["id"]).first()
        if user is not None and user.username != row["username"]:
            raise _clash(row)  # a local account would silently become a server one
        if user is None:
            if User.objects.filter(username=row["username"]).exists():
                raise _clash(row)
            user = User(pk=row["id"])
            # No password travels: an operator sets a local one on the laptop
            # (`cancuoc changepassword`), so a stolen laptop leaks no server credential.
            user.set_unusable_password()
            created += 1
        else:
            updated += 1
        for name, value in _values(row, USER_FIELDS).items():
            setattr(user, name, value)
        user.save()
    return created, updated


def _documents_prune(citizen_ids: list[int], kept: set[int]) -> None:
    """The server is the truth for the citizens it sent: a document gone there goes here."""
    for chunk in _chunks(citizen_ids):
        held = IdentityDocument.objects.filter(citizen_id__in=chunk).values_list("pk", flat=True)
        gone = [pk for pk in held if pk not in kept]
        for doomed in _chunks(gone):
            IdentityDocument.objects.filter(pk__in=doomed).delete()


def _card_procedures_ensure() -> None:
    """The station completes enrolments locally (its own throw-away dossier), which needs the
    card procedures; the server makes the real dossier when the record is pushed."""
    from cancuoc.dossiers.catalogue import catalogue_load, starter_catalogue
    from cancuoc.dossiers.models import Procedure

    codes = ("1.001765", "1.001773", "1.001780", "1.012409", "1.012410", "1.012411")
    if Procedure.objects.filter(code__in=codes).count() == len(codes):
        return
    data = starter_catalogue()
    data["procedures"] = [p for p in data["procedures"] if p["code"] in codes]
    catalogue_load(data)


@transaction.atomic
def slice_load(*, data: dict[str, Any], now: dt.datetime | None = None) -> SliceLoaded:
    """Load a slice into the station's database; the same slice again changes nothing."""
    if data.get("format") != FORMAT:
        raise SliceError(_("This slice has an unknown format; update the station software."))
    now = now or timezone.now()
    created = updated = 0
    units = sorted(data["units"], key=lambda r: len(r["path"]))  # parents first
    c, u = _upsert(Unit, units, UNIT_FIELDS)
    created, updated = created + c, updated + u
    c, u = _users_load(data["users"])
    created, updated = created + c, updated + u
    station_row = data["station"]
    c, u = _upsert(Station, [station_row], STATION_FIELDS)
    created, updated = created + c, updated + u
    station = Station.objects.get(pk=station_row["id"])
    station.operators.set(station_row.get("operator_ids", []))
    if data.get("session"):
        c, u = _upsert(StationSession, [data["session"]], SESSION_FIELDS)
        created, updated = created + c, updated + u
    c, u = _upsert(Citizen, data["citizens"], CITIZEN_FIELDS)
    created, updated = created + c, updated + u
    _documents_prune([r["id"] for r in data["citizens"]], {r["id"] for r in data["documents"]})
    c, u = _upsert(IdentityDocument, data["documents"], DOCUMENT_FIELDS)
    created, updated = created + c, updated + u
    _card_procedures_ensure()
    Station.objects.filter(pk=station.pk).update(last_pull_at=now)
    station.refresh_from_db()
    return SliceLoaded(
        station=station, created=created, updated=updated, citizens=len(data["citizens"])
    )
