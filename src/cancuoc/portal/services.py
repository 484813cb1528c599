"""Writes of the citizen portal: lookups (throttled), ratings, complaints and their handling.

A citizen has no account, so the citizen-facing services take no actor; the audit rows
they write have none. Whoever calls `rating_submit` or files a complaint about a dossier
must first have verified the dossier with `dossier_lookup` (code + second factor).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core import workdays
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.events import event_append
from cancuoc.core.scoping import scope_queryset
from cancuoc.dossiers.models import Dossier, DossierStatus
from cancuoc.portal import rules, throttle
from cancuoc.portal.models import (
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    ComplaintTerm,
    Rating,
    Score,
)
from cancuoc.portal.selectors import dossier_by_code, unit_public
from cancuoc.units.models import Unit

_TEXT_LIMIT = 4000


class LookupFailed(DomainError):
    # One message for an unknown code and a wrong factor, so nothing tells them apart.
    default_message = gettext_lazy(
        "No dossier matches this code and these digits. Check both and try again."
    )


class LookupThrottled(DomainError):
    default_message = gettext_lazy("Too many attempts. Please try again in 15 minutes.")


class ComplaintThrottled(DomainError):
    default_message = gettext_lazy("Too many complaints were sent from this connection.")

    def __init__(self, *, minutes: int) -> None:
        super().__init__(
            _(
                "Too many complaints were sent from this connection. "
                "Please try again in %(minutes)d minutes."
            )
            % {"minutes": minutes}
        )


class RatingRefused(DomainError):
    default_message = gettext_lazy("This dossier cannot be rated.")


class ComplaintInvalid(DomainError):
    default_message = gettext_lazy("The complaint is incomplete.")


# --- Lookups --------------------------------------------------------------------------


def _max_failures() -> int:
    return int(getattr(settings, "PORTAL_LOOKUP_MAX_FAILURES", 5))


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "PORTAL_LOOKUP_WINDOW_SECONDS", 15 * 60)))


def _max_per_address() -> int:
    # Successful lookups count too: an address that looks up dozens of dossiers is a robot.
    return int(getattr(settings, "PORTAL_LOOKUP_MAX_PER_ADDRESS", 30))


def _lookup_limits(*, code: str, client_address: str | None) -> list[throttle.Limit]:
    """Failures per code (from any address), failures and all lookups per address."""
    window, failures = _window(), _max_failures()
    limits = [throttle.Limit(f"lookup.fail.code:{code}", failures, window)]
    if client_address is not None:
        limits += [
            throttle.Limit(f"lookup.fail.addr:{client_address}", failures, window),
            throttle.Limit(f"lookup.all.addr:{client_address}", _max_per_address(), window),
        ]
    return limits


def dossier_lookup(
    *, code: str, factor: str, client_address: str | None, channel: str = "web"
) -> Dossier:
    """The dossier whose code and second factor match, or LookupFailed / LookupThrottled.

    The counters of the code and the address are locked before the factor is compared
    and counted in the same transaction, so parallel guesses are counted one by one and
    the sixth is refused however fast they come. A failure counts even when no such code
    exists; a success writes an audit row on the dossier's unit.
    """
    code = rules.code_normalise(code)
    limits = _lookup_limits(code=code, client_address=client_address)
    now = timezone.now()
    with transaction.atomic():
        counters = throttle.counters_lock([limit.key for limit in limits], now=now)
        if any(throttle.exhausted(counters[lim.key], lim, now=now) for lim in limits):
            matched, dossier = False, None
            throttled = True
        else:
            throttled = False
            dossier = dossier_by_code(code=code) if code else None
            matched = dossier is not None and rules.factor_matches(
                factor, phone=dossier.applicant_phone, id_number=dossier.applicant_id_number
            )
            for limit in limits:
                if not matched or limit.key.startswith("lookup.all."):
                    throttle.hit(counters[limit.key], limit, now=now)
            if matched:
                audit_record(
                    actor=None, action="portal.lookup", obj=dossier, detail={"via": channel}
                )
    # Raised after the commit: the counted failure must stay counted.
    if throttled:
        raise LookupThrottled()
    if not matched or dossier is None:
        raise LookupFailed()
    return dossier


# --- Ratings --------------------------------------------------------------------------


def rating_submit(*, dossier_id: int, score: str, comment: str = "") -> Rating:
    """Rate a returned dossier, once. Emits a `portal.rating` event for the reports."""
    if score not in Score.values:
        raise RatingRefused(_("Choose one of the three ratings."))
    comment = comment.strip()[:_TEXT_LIMIT]
    try:
        with transaction.atomic():
            dossier = (
                Dossier.objects.select_for_update()
                .select_related("unit", "procedure")
                .get(pk=dossier_id)
            )
            if dossier.status != DossierStatus.RETURNED:
                raise RatingRefused(_("You can rate the service once the result is returned."))
            if Rating.objects.filter(dossier=dossier).exists():
                raise RatingRefused(_("This dossier has already been rated. Thank you."))
            rating = Rating.objects.create(
                dossier=dossier,
                unit=dossier.unit,
                unit_path=dossier.unit_path,
                score=score,
                comment=comment,
            )
            event_append(
                kind="portal.rating",
                unit=dossier.unit,
                day=timezone.localdate(),
                subject=f"proc:{dossier.procedure.code}",
                measures={f"rating_{score}": 1},
                obj=rating,
            )
            audit_record(actor=None, action="portal.rating", obj=dossier, detail={"score": score})
    except IntegrityError:
        # Two submissions at once: the one-per-dossier constraint let only one through.
        raise RatingRefused(_("This dossier has already been rated. Thank you.")) from None
    return rating


# --- Complaints -----------------------------------------------------------------------


def _complaint_limit(client_address: str) -> throttle.Limit:
    return throttle.Limit(
        f"complaint.addr:{client_address}",
        int(getattr(settings, "PORTAL_COMPLAINT_MAX_PER_ADDRESS", 5)),
        dt.timedelta(seconds=int(getattr(settings, "PORTAL_COMPLAINT_WINDOW_SECONDS", 60 * 60))),
    )


def _complaint_throttle(client_address: str | None, *, now: dt.datetime) -> None:
    """Count one complaint from this address, or raise ComplaintThrottled (in a transaction)."""
    if client_address is None:
        return
    limit = _complaint_limit(client_address)
    counter = throttle.counters_lock([limit.key], now=now)[limit.key]
    if throttle.exhausted(counter, limit, now=now):
        raise ComplaintThrottled(minutes=throttle.minutes_left(counter, now=now))
    throttle.hit(counter, limit, now=now)


def complaint_term_days(*, on: dt.date) -> int:
    """Working days to answer a complaint received on `on` (ComplaintTerm rows, as data)."""
    term = ComplaintTerm.objects.filter(valid_from__lte=on).order_by("-valid_from").first()
    if term is None:
        term = ComplaintTerm.objects.order_by("valid_from").first()
    if term is None:
        raise ComplaintInvalid(_("No answer term is configured for complaints."))
    return term.working_days


def _calendar() -> workdays.WorkCalendar:
    from cancuoc.dossiers.calendar import work_calendar

    return work_calendar()


def _required(value: str, message: Any, *, limit: int) -> str:
    text = " ".join(value.split()) if limit <= 200 else value.strip()
    if not text:
        raise ComplaintInvalid(message)
    return text[:limit]


def _complaint_code(at: dt.datetime) -> str:
    day = timezone.localtime(at)
    while True:
        code = f"PA-{day:%y%m%d}-{secrets.token_hex(3).upper()}"
        if not Complaint.objects.filter(code=code).exists():
            return code


def complaint_file(
    *,
    kind: str,
    text: str,
    contact_name: str,
    contact_phone: str = "",
    officer_named: str = "",
    unit_id: int | None = None,
    dossier_id: int | None = None,
    client_address: str | None = None,
    at: dt.datetime | None = None,
) -> Complaint:
    """File a complaint or feedback about a (verified) dossier or to a unit.

    The unit is the dossier's competent unit when a dossier is given, else `unit_id`.
    The answer is due N working days after receipt (ComplaintTerm). A public caller
    passes the client address: each address may file a few complaints per hour
    (PORTAL_COMPLAINT_MAX_PER_ADDRESS per PORTAL_COMPLAINT_WINDOW_SECONDS), counted
    atomically; the next raises ComplaintThrottled and files nothing.
    """
    if kind not in ComplaintKind.values:
        raise ComplaintInvalid(_("Choose what the complaint is about."))
    body = _required(text, _("Write what happened."), limit=_TEXT_LIMIT)
    name = _required(contact_name, _("Give your name."), limit=200)
    phone = rules.digits(contact_phone)
    if contact_phone.strip() and not 9 <= len(phone) <= 12:
        raise ComplaintInvalid(_("The phone number is not valid."))
    officer = " ".join(officer_named.split())[:200]
    if kind == ComplaintKind.OFFICER and not officer:
        raise ComplaintInvalid(_("Name the officer, or describe them (desk, time)."))
    at = at or timezone.now()
    with transaction.atomic():
        _complaint_throttle(client_address, now=timezone.now())
        dossier, unit = _complaint_target(dossier_id=dossier_id, unit_id=unit_id)
        complaint = Complaint.objects.create(
            code=_complaint_code(at),
            unit=unit,
            unit_path=unit.path,
            dossier=dossier,
            kind=kind,
            officer_named=officer,
            text=body,
            contact_name=name,
            contact_phone=phone,
            received_at=at,
            due_date=workdays.due_date(
                at,
                complaint_term_days(on=timezone.localtime(at).date()),
                calendar=_calendar(),
            ),
        )
        subject = f"proc:{dossier.procedure.code}" if dossier is not None else "portal:complaint"
        event_append(
            kind="portal.complaint",
            unit=unit,
            day=timezone.localtime(at).date(),
            subject=subject,
            measures={"complaints": 1, f"complaints_{kind}": 1},
            obj=complaint,
        )
        audit_record(actor=None, action="complaint.file", obj=complaint, detail={"kind": kind})
    return complaint


def _complaint_target(
    *, dossier_id: int | None, unit_id: int | None
) -> tuple[Dossier | None, Unit]:
    if dossier_id is not None:
        dossier = Dossier.objects.select_related("unit", "procedure").get(pk=dossier_id)
        return dossier, dossier.unit
    unit = unit_public(unit_id=unit_id) if unit_id is not None else None
    if unit is None:
        raise ComplaintInvalid(_("Choose the office the complaint is addressed to."))
    return None, unit


def complaint_handle(*, actor: Any, complaint_id: int, status: str, answer: str = "") -> Complaint:
    """Move a complaint on (received → in progress → answered → closed), in scope only."""
    if not user_can(actor, Capability.HANDLE_COMPLAINTS):
        raise PermissionDenied()
    with transaction.atomic():
        complaint = (
            scope_queryset(Complaint.objects.select_for_update(), user=actor)
            .filter(pk=complaint_id)
            .first()
        )
        if complaint is None:
            raise OutOfScope()
        previous = complaint.status
        if not rules.complaint_move_allowed(previous, status):
            raise ComplaintInvalid(
                _("A complaint that is “%(current)s” cannot be moved to “%(target)s”.")
                % {
                    "current": ComplaintStatus(previous).label,
                    "target": ComplaintStatus(status).label
                    if status in ComplaintStatus.values
                    else status,
                }
            )
        text = answer.strip()[:_TEXT_LIMIT] or complaint.answer
        if status in rules.NEEDS_ANSWER and not text:
            raise ComplaintInvalid(_("Write the answer given to the citizen."))
        _complaint_apply(complaint, actor=actor, status=status, answer=text)
        audit_record(
            actor=actor,
            action="complaint.handle",
            obj=complaint,
            detail={"from": previous, "to": status},
        )
    return complaint


def _complaint_apply(complaint: Complaint, *, actor: Any, status: str, answer: str) -> None:
    now = timezone.now()
    first_answer = status == ComplaintStatus.ANSWERED and complaint.answered_at is None
    complaint.status = status
    complaint.answer = answer
    complaint.handled_by = actor
    if first_answer:
        complaint.answered_at = now
        late = timezone.localtime(now).date() > complaint.due_date
        event_append(
            kind="portal.complaint_answered",
            unit=complaint.unit,
            day=timezone.localtime(now).date(),
            subject=f"proc:{complaint.dossier.procedure.code}"
            if complaint.dossier_id and complaint.dossier
            else "portal:complaint",
            measures={"complaints_answered": 1, "complaints_answered_late": int(late)},
            obj=complaint,
            actor=actor,
        )
    complaint.save()
