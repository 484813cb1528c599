"""Receivers of other apps' signals.

`enrolment_completed` is sent inside the transaction that completes an enrolment, so a
receiver that fails would undo the enrolment: this one works in a savepoint and, should
anything go wrong, logs and lets the enrolment stand (the invitation stays as it was and
can be marked by hand).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from cancuoc.campaigns import lifecycle
from cancuoc.campaigns.models import Invitation, InvitationStatus
from cancuoc.core.errors import DomainError

logger = logging.getLogger("cancuoc.campaigns")


def on_enrolment_completed(
    sender: Any, *, application: Any = None, citizen: Any = None, at: Any = None, **kwargs: Any
) -> Invitation | None:
    """Mark the citizen's expected invitation attended and link the application.

    With several expected invitations (two campaigns at once) the one whose session day is
    nearest the enrolment wins. Emits "invitation.attended" (measure attended) on the
    session's unit and the enrolment's local day, subject "campaign:<slug>"."""
    citizen_id = getattr(citizen, "pk", citizen)
    if citizen_id is None:
        return None
    moment = at or timezone.now()
    try:
        with transaction.atomic():
            return _attend(citizen_id, application, moment)
    except (DatabaseError, DomainError):
        logger.exception("could not mark the invitation of citizen %s attended", citizen_id)
        return None


def _attend(citizen_id: int, application: Any, moment: Any) -> Invitation | None:
    from cancuoc.campaigns.services.invitations import campaign_subject
    from cancuoc.core.audit import audit_record
    from cancuoc.core.events import event_append
    from cancuoc.enrolment.models import Application

    day = timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()
    expected = list(
        Invitation.objects.select_for_update()
        .select_related("session__unit", "session__campaign")
        .filter(citizen_id=citizen_id, status__in=list(lifecycle.EXPECTED))
    )
    if not expected:
        return None
    invitation = min(expected, key=lambda i: (abs((i.session.day - day).days), i.pk))
    before = invitation.status
    invitation.status = lifecycle.invitation_next(before, InvitationStatus.ATTENDED)
    invitation.status_changed_at = moment
    fields = ["status", "status_changed_at"]
    # A real application is linked; a stand-in (a station's test double) is not.
    if isinstance(application, Application) and application.pk is not None:
        invitation.application = application
        fields.append("application")
    invitation.save(update_fields=fields)
    session = invitation.session
    event_append(
        kind="invitation.attended",
        unit=session.unit,
        day=day,
        subject=campaign_subject(session.campaign),
        measures={"attended": 1},
        obj=invitation,
    )
    audit_record(
        actor=None,
        action="campaigns.invitation.attended",
        obj=invitation,
        unit=session.unit,
        detail={"from": before, "application": str(getattr(application, "pk", "") or "")},
    )
    return invitation
