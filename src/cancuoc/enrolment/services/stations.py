"""Stations, their operators, tokens and sessions, and the offline sync limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cancuoc.accounts.models import ApiToken, User
from cancuoc.accounts.roles import Capability, Role, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.scoping import path_in_scope, unit_in_scope
from cancuoc.enrolment.models import (
    Application,
    ApplicationStatus,
    Station,
    StationKind,
    StationSession,
)
from cancuoc.enrolment.services._common import (
    EnrolmentError,
    local_day,
    moment,
    require,
    require_operator,
    require_supervisor,
    station_for,
)
from cancuoc.units.models import Unit

#: The fields ``station_update`` may change (thresholds, limits, devices, names).
UPDATABLE_FIELDS = (
    "name",
    "kind",
    "device_profile",
    "finger_threshold",
    "finger_retries",
    "face_threshold",
    "max_days_unsynced",
    "max_unsent",
    "is_active",
)
_LIMITS = {
    "finger_threshold": (0, 100),
    "face_threshold": (0, 100),
    "finger_retries": (0, 10),
    "max_days_unsynced": (1, 60),
    "max_unsent": (1, 100_000),
}
#: The share of ``max_unsent`` at which a station starts warning.
UNSENT_WARN_SHARE = 0.8


def _audit_station(actor: Any, action: str, station: Station, **detail: Any) -> None:
    audit_record(
        actor=actor, action=f"station.{action}", obj=station, unit=station.unit, detail=detail
    )


def _operators(actor: Any, unit: Unit, operator_ids: Any) -> list[User]:
    ids = sorted({int(pk) for pk in operator_ids or ()})
    users = list(User.objects.filter(pk__in=ids, is_active=True).select_related("unit"))
    if len(users) != len(ids):
        raise EnrolmentError(_("An operator was not found."))
    for user in users:
        if not unit_in_scope(actor, user.unit) or not user_can(user, Capability.ENROL):
            raise EnrolmentError(
                _("%(name)s cannot be an operator here: station operators of your units only.")
                % {"name": user.get_username()}
            )
    return users


def _clean(field: str, value: Any) -> Any:
    if field in _LIMITS:
        low, high = _LIMITS[field]
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = low - 1
        if not low <= number <= high:
            raise EnrolmentError(
                _("%(field)s must be between %(low)s and %(high)s.")
                % {"field": field, "low": low, "high": high}
            )
        return number
    if field == "kind" and value not in StationKind.values:
        raise EnrolmentError(_("Unknown station kind."))
    if field == "device_profile" and not isinstance(value, dict):
        raise EnrolmentError(_("The device profile must be a JSON object."))
    if field == "name":
        value = " ".join(str(value or "").split())[:120]
        if not value:
            raise EnrolmentError(_("Give the station a name."))
    if field == "is_active":
        return bool(value)
    return value


@transaction.atomic
def station_create(
    *,
    actor: Any,
    unit_id: int,
    code: str,
    name: str,
    kind: str,
    operator_ids: Any = (),
    **fields: Any,
) -> Station:
    """A new station of a unit in the actor's scope (supervisors only)."""
    require(actor, Capability.SUPERVISE_ENROLMENT)
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None or not unit_in_scope(actor, unit):
        raise OutOfScope()
    code = (code or "").strip().upper()
    if not code or len(code) > 32:
        raise EnrolmentError(_("Give the station a code of at most 32 characters."))
    if Station.objects.filter(code=code).exists():
        raise EnrolmentError(_("The station code %(code)s is taken.") % {"code": code})
    values = {"name": _clean("name", name), "kind": _clean("kind", kind)}
    for field, value in fields.items():
        if field not in UPDATABLE_FIELDS:
            raise EnrolmentError(_("Unknown station setting: %(field)s.") % {"field": field})
        values[field] = _clean(field, value)
    station = Station.objects.create(
        code=code,
        unit=unit,
        unit_path=unit.path,
        province_code=unit.province_code or "",
        **values,
    )
    operators = _operators(actor, unit, operator_ids)
    station.operators.set(operators)
    _audit_station(
        actor, "create", station, code=code, operators=[u.get_username() for u in operators]
    )
    return station


@transaction.atomic
def station_update(*, actor: Any, station_id: int, **fields: Any) -> Station:
    """Change thresholds, limits, the device profile, the name or the operators.

    ``operator_ids`` (if given) replaces the operator list.
    """
    station = station_for(actor, station_id, lock=True)
    require_supervisor(actor, station)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    operator_ids = fields.pop("operator_ids", None)
    for field, value in fields.items():
        if field not in UPDATABLE_FIELDS:
            raise EnrolmentError(_("Unknown station setting: %(field)s.") % {"field": field})
        clean = _clean(field, value)
        if getattr(station, field) != clean:
            before[field], after[field] = getattr(station, field), clean
            setattr(station, field, clean)
    if after:
        station.save(update_fields=list(after))
    if operator_ids is not None:
        operators = _operators(actor, station.unit, operator_ids)
        old = sorted(station.operators.values_list("username", flat=True))
        new = sorted(u.get_username() for u in operators)
        if old != new:
            station.operators.set(operators)
            before["operators"], after["operators"] = old, new
    if after:
        _audit_station(actor, "update", station, before=before, after=after)
    return station


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def station_token_issue(*, actor: Any, station_id: int) -> tuple[Station, str]:
    """A new API token for the station laptop; the raw token is returned once.

    The token acts as the station's own service account (a station operator of the
    station's unit that cannot log in), which is made an operator of the station. A
    previous token is revoked: one laptop, one live token.
    """
    from django.utils import timezone

    from cancuoc.accounts.services import TOKEN_PREFIX

    station = station_for(actor, station_id, lock=True)
    require_supervisor(actor, station)
    username = f"station-{station.code.lower()}"[:150]
    account = User.objects.filter(username=username).first()
    if account is None:
        account = User(
            username=username,
            role=Role.STATION_OPERATOR,
            unit=station.unit,
            full_name=_("Station %(code)s") % {"code": station.code},
        )
        account.set_unusable_password()
        account.save()
    station.operators.add(account)
    now = timezone.now()
    if station.token_id is not None:
        ApiToken.objects.filter(pk=station.token_id, revoked_at__isnull=True).update(revoked_at=now)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=account,
        name=f"station {station.code}",
        prefix=raw[:10],
        digest=_digest(raw),
        created_by=actor,
    )
    station.token = token
    station.save(update_fields=["token"])
    _audit_station(actor, "token_issue", station, token=token.prefix)
    return station, raw


@transaction.atomic
def session_open(
    *,
    actor: Any,
    station_id: int,
    day: dt.date | None = None,
    place: str = "",
    at: dt.datetime | None = None,
) -> StationSession:
    """Open the station's session for ``day`` (default today); the open one if it exists."""
    at = moment(at)
    station = station_for(actor, station_id)
    require_operator(actor, station)
    day = day or local_day(at)
    existing = StationSession.objects.filter(
        station=station, day=day, closed_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    session = StationSession.objects.create(
        station=station,
        unit_path=station.unit_path,
        day=day,
        place=" ".join((place or "").split())[:200],
        opened_by=actor,
        opened_at=at,
    )
    _audit_station(actor, "session_open", station, session=session.pk, day=day.isoformat())
    return session


@transaction.atomic
def session_close(*, actor: Any, session_id: int, at: dt.datetime | None = None) -> StationSession:
    at = moment(at)
    session = (
        StationSession.objects.select_for_update(of=("self",))
        .select_related("station__unit")
        .filter(pk=session_id)
        .first()
    )
    if session is None or not path_in_scope(actor, session.unit_path):
        raise OutOfScope()
    require_operator(actor, session.station)
    if session.closed_at is None:
        session.closed_at = at
        session.save(update_fields=["closed_at"])
        _audit_station(actor, "session_close", session.station, session=session.pk)
    return session


@dataclass(frozen=True)
class SyncState:
    level: str  # "ok" | "warn" | "refuse"
    days_unsynced: int
    unsent: int
    message: str


def station_sync_state(*, station: Station, now: dt.datetime | None = None) -> SyncState:
    """Whether an offline station may take new work.

    A station that never pulled works online and is always "ok". An offline station
    counts the days since its last sync (push, else pull) and the enrolments started
    since its last push (those have not reached the server). It warns at a limit and
    refuses new work beyond it: more days than ``max_days_unsynced``, or
    ``max_unsent`` unsent enrolments already held (one more would exceed it).
    """
    if station.last_pull_at is None:
        return SyncState("ok", 0, 0, "")
    now = moment(now)
    last_sync = max(t for t in (station.last_pull_at, station.last_push_at) if t is not None)
    days = max(0, (local_day(now) - local_day(last_sync)).days)
    since = station.last_push_at or station.last_pull_at
    unsent = (
        Application.objects.filter(station=station, started_at__gte=since)
        .exclude(status=ApplicationStatus.CANCELLED)
        .count()
    )
    facts = {
        "days": days,
        "unsent": unsent,
        "max_days": station.max_days_unsynced,
        "max_unsent": station.max_unsent,
    }
    if days > station.max_days_unsynced or unsent >= station.max_unsent:
        message = (
            _(
                "This station has not synced for %(days)s days and holds %(unsent)s unsent "
                "enrolments (limits: %(max_days)s days, %(max_unsent)s enrolments): push its "
                "work before enrolling anyone else."
            )
            % facts
        )
        return SyncState("refuse", days, unsent, message)
    if days >= station.max_days_unsynced or unsent >= station.max_unsent * UNSENT_WARN_SHARE:
        message = (
            _(
                "Sync soon: %(days)s days without sync and %(unsent)s unsent enrolments "
                "(limits: %(max_days)s days, %(max_unsent)s enrolments)."
            )
            % facts
        )
        return SyncState("warn", days, unsent, message)
    return SyncState("ok", days, unsent, "")
