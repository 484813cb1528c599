"""Invitations: choosing citizens from the cohort, booking slots, statuses, the portal.

Slots are rows with a counter (``Slot.booked``). Every booking is one conditional UPDATE,
``booked = booked + n WHERE id = ? AND booked <= capacity - n``, inside the transaction
that writes the invitation: the database decides, so concurrent bookers can never overbook
(the CHECK constraint ``booked <= capacity`` backs it up), and a booking whose invitation
cannot be written rolls its increment back with it.

The counter counts the invitations that hold a place: invited, reminded, rescheduled and
attended (`lifecycle.HOLDING`). A no-show or a cancellation gives the place back.

Show-up rate: a slot's ``capacity`` is its *invitation* capacity, i.e. what the team can
serve in it divided by the campaign's show-up rate (see `sessions.slots_plan`), so filling
slots to capacity invites about as many citizens as will come. Sessions at a school or a
home visit are planned at 100 %.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability
from cancuoc.campaigns import lifecycle
from cancuoc.campaigns.models import (
    Campaign,
    Invitation,
    InvitationStatus,
    Session,
    SiteKind,
    Slot,
)
from cancuoc.campaigns.services._common import InvitationError, SlotFull, require
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.events import event_append
from cancuoc.core.scoping import path_in_scope, prefix_q, scope_queryset
from cancuoc.core.text import fold
from cancuoc.registry import cohort_rules
from cancuoc.registry.cohort import cohort_list
from cancuoc.registry.models import Citizen, LifeStatus

__all__ = [
    "PRIORITY_FLAGS",
    "PUBLIC_SITE_KINDS",
    "AlreadyInvited",
    "InviteResult",
    "code_display",
    "code_normalise",
    "invitation_book",
    "invitation_lookup",
    "invitation_mark",
    "invitation_reschedule",
    "invitations_create",
    "invitations_visible",
    "messages_export",
    "portal_free_slots",
]

#: Invitation codes: no 0/O or 1/I, which people misread off paper.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
#: Registry flags that name a priority group of their own (``priority=`` of the filters).
PRIORITY_FLAGS = ("frail_elderly", "disability", "serious_illness", "living_alone", "war_merit")
PRIORITY_GROUPS = ("home_visit", "school", "regular")
#: Sites a citizen may move to from the portal (not someone's home, not a school).
PUBLIC_SITE_KINDS = (
    SiteKind.COMMUNE_OFFICE,
    SiteKind.VILLAGE_HALL,
    SiteKind.AGENCY,
    SiteKind.ENTERPRISE,
)
_FLAG_BITS = {
    "frail_elderly": cohort_rules.FRAIL,
    "disability": cohort_rules.DISABILITY,
    "serious_illness": cohort_rules.ILLNESS,
    "living_alone": cohort_rules.ALONE,
    "war_merit": cohort_rules.WAR_MERIT,
}
_CHUNK = 2000


class AlreadyInvited(InvitationError):
    default_message = gettext_lazy("This citizen already has an invitation in this campaign.")


class InvitationLookupThrottled(InvitationError):
    default_message = gettext_lazy("Too many attempts. Please try again in 15 minutes.")


@dataclass
class InviteResult:
    #: The invitations made.
    invited: list[Invitation] = field(default_factory=list)
    #: Citizens skipped because they already hold a live invitation in the campaign.
    skipped: list[int] = field(default_factory=list)
    #: Citizens chosen but not invited: the session had no room left.
    not_placed: list[int] = field(default_factory=list)


# --- Codes ------------------------------------------------------------------------------


def code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalise(text: str) -> str:
    """What a citizen types ("abcde-fghjk", with spaces) as the stored code."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def code_display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


# --- Small shared pieces (sessions.py uses them too) ------------------------------------


def slot_take(slot_id: int, n: int = 1) -> bool:
    """Take ``n`` places in the slot if they are free: one conditional UPDATE (module doc)."""
    return (
        Slot.objects.filter(pk=slot_id, booked__lte=F("capacity") - n).update(
            booked=F("booked") + n
        )
        == 1
    )


def slot_release(slot_id: int, n: int = 1) -> None:
    Slot.objects.filter(pk=slot_id, booked__gte=n).update(booked=F("booked") - n)


def campaign_subject(campaign: Campaign) -> str:
    return f"campaign:{campaign.slug}"


def invited_event(
    *, session: Session, delta: int, actor: Any = None, kind: str = "invitation.created"
) -> None:
    """Invitations counted on the session's unit and day (what a day's sessions expect)."""
    if delta:
        event_append(
            kind=kind,
            unit=session.unit,
            day=session.day,
            subject=campaign_subject(session.campaign),
            measures={"invited": delta},
            obj=session,
            actor=actor,
        )


def invitation_build(
    *, session: Session, slot: Slot, citizen_id: int, unit_path: str, priority: str = ""
) -> Invitation:
    return Invitation(
        campaign_id=session.campaign_id,
        session=session,
        slot=slot,
        citizen_id=citizen_id,
        unit_path=unit_path,
        code=code_new(),
        status=InvitationStatus.INVITED,
        priority=priority,
        status_changed_at=timezone.now(),
    )


def live_invitation(campaign_id: int, citizen_id: int) -> Invitation | None:
    return (
        Invitation.objects.select_related("session", "slot", "citizen")
        .filter(campaign_id=campaign_id, citizen_id=citizen_id, status__in=lifecycle.HOLDING)
        .first()
    )


def already_invited_error(existing: Invitation) -> AlreadyInvited:
    return AlreadyInvited(
        _(
            "%(name)s is already invited in this campaign: %(site)s on %(day)s at %(time)s "
            "(invitation %(code)s)."
        )
        % {
            "name": existing.citizen.full_name,
            "site": existing.session.site_name,
            "day": f"{existing.session.day:%d/%m/%Y}",
            "time": f"{existing.slot.start:%H:%M}",
            "code": code_display(existing.code),
        }
    )


def session_bookable(session: Session) -> None:
    if session.status not in lifecycle.BOOKABLE_SESSION:
        raise InvitationError(
            _("The session is %(status)s and takes no invitations.")
            % {"status": session.get_status_display().lower()}
        )


def _session_for(actor: Any, session_id: int) -> Session:
    require(actor, Capability.SCHEDULE_SESSIONS)
    session = (
        Session.objects.select_related("campaign", "unit", "team").filter(pk=session_id).first()
    )
    if session is None or not path_in_scope(actor, session.unit_path):
        raise OutOfScope()
    return session


def _insert(invitations: list[Invitation]) -> list[Invitation]:
    """Insert invitations in a savepoint: a clash with a live invitation made meanwhile (the
    partial unique constraint) becomes AlreadyInvited and undoes the whole booking."""
    try:
        with transaction.atomic():
            return Invitation.objects.bulk_create(invitations)
    except IntegrityError:
        if len(invitations) == 1:
            existing = live_invitation(invitations[0].campaign_id, invitations[0].citizen_id)
            if existing is not None:
                raise already_invited_error(existing) from None
        raise AlreadyInvited(
            _("Some of these citizens were invited by someone else meanwhile; try again.")
        ) from None


# --- Choosing from the cohort -----------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    citizen_id: int
    unit_path: str
    group: str


def _age_on(birth: dt.date | None, year: int | None, on: dt.date) -> int | None:
    if birth is not None:
        return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return on.year - year if year is not None else None


def _flags(citizen: Citizen) -> int:
    bits = sum(bit for name, bit in _FLAG_BITS.items() if getattr(citizen, name))
    return bits | (cohort_rules.STUDENT if citizen.school else 0)


def _hamlet_of(address: str) -> str:
    """ "Thôn 3, Xã Thạch Hà, Hà Tĩnh" -> "thon 3": the first part of an address, folded."""
    return fold(address.split(",", 1)[0]) if address else ""


def _explicit(actor: Any, session: Session, citizen_ids: Sequence[int]) -> list[_Candidate]:
    wanted = list(dict.fromkeys(int(i) for i in citizen_ids))
    rows = {
        c.pk: c
        for c in scope_queryset(
            Citizen.objects.filter(pk__in=wanted).filter(
                prefix_q("unit_path", session.campaign.unit_path)
            ),
            user=actor,
        )
    }
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise InvitationError(
            _("These citizens are not in the campaign's units: %(ids)s.")
            % {"ids": ", ".join(str(i) for i in missing)}
        )
    dead = [rows[i].full_name for i in wanted if rows[i].life_status == LifeStatus.DECEASED]
    if dead:
        raise InvitationError(
            _("These citizens are deceased: %(names)s.") % {"names": ", ".join(dead)}
        )
    return [
        _Candidate(
            i,
            rows[i].unit_path,
            cohort_rules.priority_group(
                _age_on(rows[i].birth_date, rows[i].birth_year, session.day), _flags(rows[i])
            ),
        )
        for i in wanted
    ]


def _from_cohort(
    actor: Any,
    session: Session,
    *,
    hamlet: str | None,
    household_id: int | None,
    priority: str | None,
    school: str | None,
    age_from: int | None,
    age_to: int | None,
) -> list[_Candidate]:
    """Citizens of the session's unit who must get a card on the session's day, filtered.

    The cohort decides who is due (and audits the list as a read of personal data); the
    filters the cohort rows do not carry (household, hamlet, a single flag) are read from
    the registry for the cohort's citizens, a chunk at a time."""
    if priority and priority not in PRIORITY_GROUPS and priority not in PRIORITY_FLAGS:
        raise InvitationError(_("Unknown priority group: %(p)s.") % {"p": priority})
    group = priority if priority in PRIORITY_GROUPS else ""
    school_key = fold(school) if school else ""
    rows = []
    for row in cohort_list(
        user=actor,
        unit=session.unit,
        on=session.day,
        bucket="must",
        group=group or "",
        audit_action="campaigns.invitation.choose",
    ):
        age = row.verdict.age
        if school_key and fold(row.school) != school_key:
            continue
        if age_from is not None and (age is None or age < age_from):
            continue
        if age_to is not None and (age is None or age > age_to):
            continue
        rows.append(row)
    extra = bool(hamlet or household_id or (priority in PRIORITY_FLAGS))
    households: dict[int, int | None] = {}
    kept: list[Any] = []
    hamlet_key = fold(hamlet) if hamlet else ""
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        query = Citizen.objects.filter(pk__in=[r.citizen_id for r in chunk])
        if household_id:
            query = query.filter(household_id=household_id)
        if priority in PRIORITY_FLAGS:
            query = query.filter(**{priority: True})
        info = {
            pk: (hh, cur, perm, hh_addr)
            for pk, hh, cur, perm, hh_addr in query.values_list(
                "pk", "household_id", "current_address", "permanent_address", "household__address"
            )
        }
        for row in chunk:
            if row.citizen_id not in info:
                if extra:
                    continue
                households[row.citizen_id] = None
                kept.append(row)
                continue
            hh, cur, perm, hh_addr = info[row.citizen_id]
            if hamlet_key and hamlet_key not in {
                _hamlet_of(cur),
                _hamlet_of(perm),
                _hamlet_of(hh_addr or ""),
            }:
                continue
            households[row.citizen_id] = hh
            kept.append(row)
    # Members of one household next to each other, so a family shares a slot.
    order = {row.citizen_id: i for i, row in enumerate(kept)}
    first_of: dict[int, int] = {}
    for row in kept:
        family = households.get(row.citizen_id)
        if family is not None:
            first_of.setdefault(family, order[row.citizen_id])

    def family_order(row: Any) -> tuple[int, int]:
        hh = households.get(row.citizen_id)
        return (first_of[hh] if hh is not None else order[row.citizen_id], order[row.citizen_id])

    kept.sort(key=family_order)
    return [_Candidate(r.citizen_id, r.unit_path, r.verdict.group) for r in kept]


def _live_in_campaign(campaign_id: int, citizen_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(citizen_ids), _CHUNK):
        found.update(
            Invitation.objects.filter(
                campaign_id=campaign_id,
                citizen_id__in=citizen_ids[start : start + _CHUNK],
                status__in=lifecycle.HOLDING,
            ).values_list("citizen_id", flat=True)
        )
    return found


def place(
    session: Session, candidates: Sequence[_Candidate], *, limit: int | None = None
) -> tuple[list[Invitation], list[_Candidate]]:
    """Fill the session's slots in time order with the candidates, in order.

    The slots are locked first (so single bookings wait rather than race), then each takes
    its share with the conditional UPDATE. Returns the invitations (saved) and the
    wanted candidates that found no room (those past ``limit`` are not tried)."""
    slots = list(
        Slot.objects.select_for_update().filter(session=session, capacity__gt=0).order_by("start")
    )
    wanted = list(candidates if limit is None else candidates[: max(limit, 0)])
    made: list[Invitation] = []
    at = 0
    for slot in slots:
        if at >= len(wanted):
            break
        n = min(slot.capacity - slot.booked, len(wanted) - at)
        if n <= 0:
            continue
        if not slot_take(slot.pk, n):  # pragma: no cover - the rows are locked
            continue
        for candidate in wanted[at : at + n]:
            made.append(
                invitation_build(
                    session=session,
                    slot=slot,
                    citizen_id=candidate.citizen_id,
                    unit_path=candidate.unit_path,
                    priority=candidate.group,
                )
            )
        at += n
    return _insert(made) if made else [], wanted[at:]


def invitations_create(
    *,
    actor: Any,
    session_id: int,
    citizen_ids: Sequence[int] | None = None,
    hamlet: str | None = None,
    household_id: int | None = None,
    priority: str | None = None,
    school: str | None = None,
    age_from: int | None = None,
    age_to: int | None = None,
    limit: int | None = None,
) -> InviteResult:
    """Invite citizens to a session: the given ones, or those the cohort says must get a card,
    filtered by hamlet, household, priority group (or a single flag), school or age band.

    Citizens already holding an invitation in the campaign are skipped and reported; asked
    for one citizen who is, it is an AlreadyInvited error. Slots are filled in time order up
    to their invitation capacity (module doc); those who find no room are reported."""
    with transaction.atomic():
        session = _session_for(actor, session_id)
        session_bookable(session)
        if citizen_ids is not None:
            candidates = _explicit(actor, session, citizen_ids)
        else:
            candidates = _from_cohort(
                actor,
                session,
                hamlet=hamlet,
                household_id=household_id,
                priority=priority,
                school=school,
                age_from=age_from,
                age_to=age_to,
            )
        live = _live_in_campaign(session.campaign_id, [c.citizen_id for c in candidates])
        if citizen_ids is not None and len(candidates) == 1 and live:
            existing = live_invitation(session.campaign_id, candidates[0].citizen_id)
            assert existing is not None
            raise already_invited_error(existing)
        fresh = [c for c in candidates if c.citizen_id not in live]
        made, left = place(session, fresh, limit=limit)
        if citizen_ids is not None and len(candidates) == 1 and not made:
            raise SlotFull(_("The session has no free place left; nothing was changed."))
        result = InviteResult(
            invited=made,
            skipped=[c.citizen_id for c in candidates if c.citizen_id in live],
            not_placed=[c.citizen_id for c in left],
        )
        if made:
            invited_event(session=session, delta=len(made), actor=actor)
        audit_record(
            actor=actor,
            action="campaigns.invitations.create",
            obj=session,
            unit=session.unit,
            detail={
                "filters": {
                    "citizens": len(citizen_ids) if citizen_ids is not None else None,
                    "hamlet": hamlet or "",
                    "household": household_id,
                    "priority": priority or "",
                    "school": school or "",
                    "age": [age_from, age_to],
                    "limit": limit,
                },
                "invited": len(made),
                "already_invited": len(result.skipped),
                "not_placed": len(result.not_placed),
            },
        )
    return result


# --- One booking ------------------------------------------------------------------------


def invitation_book(*, actor: Any, slot_id: int, citizen_id: int, priority: str = "") -> Invitation:
    """Book one citizen into one slot: SlotFull if it has no place (nothing changes),
    AlreadyInvited if the citizen holds an invitation in the campaign."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    with transaction.atomic():
        slot = (
            Slot.objects.select_related("session__campaign", "session__unit")
            .filter(pk=slot_id)
            .first()
        )
        if slot is None or not path_in_scope(actor, slot.session.unit_path):
            raise OutOfScope()
        session = slot.session
        session_bookable(session)
        (candidate,) = _explicit(actor, session, [citizen_id])
        existing = live_invitation(session.campaign_id, citizen_id)
        if existing is not None:
            raise already_invited_error(existing)
        if not slot_take(slot.pk):
            raise SlotFull()
        (invitation,) = _insert(
            [
                invitation_build(
                    session=session,
                    slot=slot,
                    citizen_id=citizen_id,
                    unit_path=candidate.unit_path,
                    priority=priority or candidate.group,
                )
            ]
        )
        invited_event(session=session, delta=1, actor=actor)
        audit_record(
            actor=actor,
            action="campaigns.invitation.book",
            obj=invitation,
            unit=session.unit,
            detail={"slot": slot.pk, "citizen": citizen_id},
        )
    return invitation


# --- Status -----------------------------------------------------------------------------


def _locked(invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("campaign", "session__unit", "session__campaign", "slot", "citizen")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise OutOfScope()
    return invitation


def _refused(invitation: Invitation, target: str) -> InvitationError:
    return InvitationError(
        _("An invitation that is %(current)s cannot become %(target)s.")
        % {
            "current": InvitationStatus(invitation.status).label.lower(),
            "target": InvitationStatus(target).label.lower(),
        }
    )


def status_apply(invitation: Invitation, target: str, *, actor: Any, detail: Any = None) -> None:
    """Move an invitation to ``target`` (table in `lifecycle`), keeping the slot counter,
    the event and the audit in step. The row must be locked by the caller."""
    try:
        lifecycle.invitation_next(invitation.status, target)
    except lifecycle.TransitionRefused:
        raise _refused(invitation, target) from None
    before = invitation.status
    delta = lifecycle.slot_delta(before, target)
    if delta < 0:
        slot_release(invitation.slot_id)
    elif delta > 0 and not slot_take(invitation.slot_id):
        raise SlotFull()
    invitation.status = target
    invitation.status_changed_at = timezone.now()
    invitation.save(update_fields=["status", "status_changed_at"])
    session = invitation.session
    measure = {
        InvitationStatus.NO_SHOW: "no_show",
        InvitationStatus.CANCELLED: "cancelled",
        InvitationStatus.REMINDED: "reminded",
    }.get(InvitationStatus(target))
    if measure and before != target:
        event_append(
            kind=f"invitation.{target}",
            unit=session.unit,
            day=session.day,
            subject=campaign_subject(session.campaign),
            measures={measure: 1},
            obj=invitation,
            actor=actor,
        )
    audit_record(
        actor=actor,
        action=f"campaigns.invitation.{target}",
        obj=invitation,
        unit=session.unit,
        detail={"from": before, **(detail or {})},
    )


def invitation_mark(*, actor: Any, invitation_id: int, status: str) -> Invitation:
    """Mark an invitation reminded, no-show or cancelled (attendance comes from enrolment)."""
    require(actor, Capability.SCHEDULE_SESSIONS)
    if status not in (
        InvitationStatus.REMINDED,
        InvitationStatus.NO_SHOW,
        InvitationStatus.CANCELLED,
    ):
        raise InvitationError(_("Choose reminded, did not come or cancelled."))
    with transaction.atomic():
        invitation = _locked(invitation_id)
        if not path_in_scope(actor, invitation.session.unit_path):
            raise OutOfScope()
        status_apply(invitation, status, actor=actor)
    return invitation


def invitation_reschedule(*, actor: Any | None, invitation_id: int, slot_id: int) -> Invitation:
    """Move an invitation to another slot of the campaign, atomically: the new slot's place
    is taken with the conditional UPDATE (SlotFull: nothing changes) and the old one given
    back in the same transaction.

    ``actor`` None is the citizen on the portal, who has proved the invitation (code and ID
    digits, `invitation_lookup`): they may move only to a public site (`PUBLIC_SITE_KINDS`)
    of the same unit, on a day not yet past."""
    if actor is not None:
        require(actor, Capability.SCHEDULE_SESSIONS)
    with transaction.atomic():
        invitation = _locked(invitation_id)
        if actor is not None and not path_in_scope(actor, invitation.session.unit_path):
            raise OutOfScope()
        target = (
            Slot.objects.select_related("session__campaign", "session__unit")
            .filter(pk=slot_id)
            .first()
        )
        if target is None or target.session.campaign_id != invitation.campaign_id:
            raise InvitationError(_("Choose a time of the same campaign."))
        new_session = target.session
        if actor is not None and not path_in_scope(actor, new_session.unit_path):
            raise OutOfScope()
        if actor is None and (
            new_session.site_kind not in PUBLIC_SITE_KINDS
            or new_session.unit_id != invitation.session.unit_id
            or new_session.day < timezone.localdate()
        ):
            raise InvitationError(_("This time cannot be chosen here."))
        session_bookable(new_session)
        if target.pk == invitation.slot_id and invitation.status in lifecycle.HOLDING:
            raise InvitationError(_("The invitation is already at this time."))
        if not lifecycle.invitation_can(invitation.status, InvitationStatus.RESCHEDULED):
            raise _refused(invitation, InvitationStatus.RESCHEDULED)
        if not slot_take(target.pk):
            raise SlotFull()
        old_session, old_slot = invitation.session, invitation.slot
        held = invitation.status in lifecycle.HOLDING
        if held:
            slot_release(old_slot.pk)
        before = invitation.status
        invitation.session = new_session
        invitation.slot = target
        invitation.status = InvitationStatus.RESCHEDULED
        invitation.status_changed_at = timezone.now()
        try:
            with transaction.atomic():
                invitation.save(update_fields=["session", "slot", "status", "status_changed_at"])
        except IntegrityError:
            # A no-show coming back while the citizen already holds another invitation.
            existing = live_invitation(invitation.campaign_id, invitation.citizen_id)
            raise (already_invited_error(existing) if existing else AlreadyInvited()) from None
        if held:
            invited_event(session=old_session, delta=-1, actor=actor, kind="invitation.moved")
        invited_event(session=new_session, delta=1, actor=actor, kind="invitation.moved")
        audit_record(
            actor=actor,
            action="campaigns.invitation.reschedule",
            obj=invitation,
            unit=new_session.unit,
            detail={
                "from": before,
                "from_slot": old_slot.pk,
                "to_slot": target.pk,
                "by": "citizen" if actor is None else "officer",
            },
        )
    return invitation


# --- Reads ------------------------------------------------------------------------------


def invitations_visible(
    *, user: Any, session_id: int | None = None, campaign_id: int | None = None
) -> QuerySet[Invitation]:
    rows = scope_queryset(
        Invitation.objects.select_related("citizen", "slot", "session"),
        user=user,
        lookup="unit_path",
    )
    if session_id is not None:
        rows = rows.filter(session_id=session_id)
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    return rows.order_by("slot__start", "citizen__search_name", "pk")


def messages_export(*, user: Any, session_id: int, channel: str = "sms") -> bytes:
    """The session's SMS/Zalo file (CSV phone,text): see `notices.messages_export`."""
    from cancuoc.campaigns.notices import messages_export as export

    return export(user=user, session_id=session_id, channel=channel)


# --- Portal -----------------------------------------------------------------------------


def _lookup_limits(code: str, client_address: str | None) -> list[Any]:
    from cancuoc.portal.throttle import Limit

    window = dt.timedelta(seconds=int(getattr(settings, "PORTAL_LOOKUP_WINDOW_SECONDS", 900)))
    failures = int(getattr(settings, "PORTAL_LOOKUP_MAX_FAILURES", 5))
    limits = [Limit(f"invitation.fail.code:{code}", failures, window)]
    if client_address is not None:
        per_address = int(getattr(settings, "PORTAL_LOOKUP_MAX_PER_ADDRESS", 30))
        limits += [
            Limit(f"invitation.fail.addr:{client_address}", failures, window),
            Limit(f"invitation.all.addr:{client_address}", per_address, window),
        ]
    return limits


def invitation_lookup(
    *, code: str, id_last6: str, client_address: str | None = None
) -> Invitation | None:
    """The invitation whose code and last 6 digits of the citizen's ID match, else None.

    Throttled like the dossier lookup (portal/services.py): the counters are locked before
    the digits are compared and failures are counted per code and per address, so parallel
    guesses are counted one by one; past the limit InvitationLookupThrottled is raised."""
    from cancuoc.portal import throttle

    code = code_normalise(code)
    digits = "".join(ch for ch in (id_last6 or "") if ch.isdigit())
    limits = _lookup_limits(code, client_address)
    now = timezone.now()
    with transaction.atomic():
        counters = throttle.counters_lock([limit.key for limit in limits], now=now)
        throttled = any(throttle.exhausted(counters[lim.key], lim, now=now) for lim in limits)
        invitation = None
        if not throttled:
            found = (
                Invitation.objects.select_related(
                    "citizen", "session__unit", "session__campaign", "slot", "campaign"
                )
                .filter(code=code)
                .first()
                if code
                else None
            )
            matched = (
                found is not None
                and len(digits) == 6
                and secrets.compare_digest(found.citizen.id_number[-6:], digits)
            )
            for limit in limits:
                if not matched or limit.key.startswith("invitation.all."):
                    throttle.hit(counters[limit.key], limit, now=now)
            if matched and found is not None:
                invitation = found
                audit_record(
                    actor=None,
                    action="portal.invitation.lookup",
                    obj=found,
                    unit=found.session.unit,
                )
    if throttled:
        raise InvitationLookupThrottled()
    return invitation


def portal_free_slots(*, invitation: Invitation, today: dt.date | None = None) -> list[Slot]:
    """Times the citizen may move to: free slots of public sessions of the same campaign and
    unit, from today on (`invitation_reschedule` checks the same rule)."""
    today = today or timezone.localdate()
    return list(
        Slot.objects.select_related("session")
        .filter(
            session__campaign_id=invitation.campaign_id,
            session__unit_id=invitation.session.unit_id,
            session__site_kind__in=PUBLIC_SITE_KINDS,
            session__status__in=lifecycle.BOOKABLE_SESSION,
            session__day__gte=today,
            booked__lt=F("capacity"),
        )
        .exclude(pk=invitation.slot_id)
        .order_by("session__day", "start")[:200]
    )
