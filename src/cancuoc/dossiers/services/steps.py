"""The lifecycle steps after receipt: one handler per action, applied by ``dossier_act``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.events import events_append_many
from cancuoc.core.scoping import unit_in_scope
from cancuoc.dossiers import hooks
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.models import (
    DeliveryStatus,
    Dossier,
    DossierTransition,
    ReturnMethod,
)
from cancuoc.dossiers.services._common import (
    DossierError,
    IllegalAction,
    _action_label,
    _event,
    _local_day,
    _locked,
    _moment,
    _record,
    _require_capability,
    _require_competent_level,
    _require_scope,
    _required_text,
    _routable,
    _status_label,
)
from cancuoc.units.models import Unit

# --- Lifecycle steps ------------------------------------------------------------------


@dataclass
class _Step:
    """What a handler decided: extra control-sheet data, the events and a note."""

    data: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[Dossier, Any, dt.datetime, dict[str, Any]], _Step]


def _no_data(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    return _Step()


def _on_transfer(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    if data.get("assignee_id") in (None, ""):
        return _Step()
    try:
        assignee_id = int(data["assignee_id"])
    except (TypeError, ValueError):
        assignee_id = 0
    from cancuoc.accounts.models import User

    assignee = User.objects.filter(pk=assignee_id, is_active=True).select_related("unit").first()
    if (
        assignee is None
        or not unit_in_scope(assignee, dossier.unit)
        or not user_can(assignee, Capability.APPRAISE_DOSSIER)
    ):
        raise DossierError(_("The assignee must be an appraiser who can see this dossier."))
    dossier.assigned_to = assignee
    return _Step(data={"assignee": assignee.get_username()})


def _on_appraise(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    if dossier.assigned_to_id is None:
        dossier.assigned_to = actor
    return _Step()


def _on_supplement_request(
    dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]
) -> _Step:
    missing = data.get("missing")
    items = [missing] if isinstance(missing, str) else list(missing or [])
    items = [str(item).strip() for item in items if str(item).strip()]
    if not items:
        raise DossierError(_("List the documents the citizen must supply."))
    dossier.paused_since = _local_day(at)
    # The clock stops: the dossier leaves the count of its due day (neither overdue nor
    # within term by due day) until the documents come back.
    return _Step(
        data={"missing": items, "paused_since": dossier.paused_since.isoformat()},
        events=[
            {"kind": "supplement_request", "day": dossier.due_date, "measures": {"due_open": -1}}
        ],
    )


def _on_supplement_receive(
    dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]
) -> _Step:
    calendar = work_calendar()
    asked = dossier.paused_since or _local_day(at)
    paused = max(0, calendar.working_days_between(asked, _local_day(at)))
    old_due = dossier.due_date
    dossier.paused_days += paused
    dossier.paused_since = None
    # Only the paused days move the deadline: it is not recomputed from the receipt with
    # today's calendar, so a later calendar edit never moves an existing dossier's date.
    dossier.due_date = calendar.add_working_days(old_due, paused) if paused else old_due
    return _Step(
        data={
            "paused_working_days": paused,
            "old_due_date": old_due.isoformat(),
            "due_date": dossier.due_date.isoformat(),
        },
        # The request took the dossier off its old due day; it counts again on the new one.
        events=[{"kind": "due", "day": dossier.due_date, "measures": {"due_open": 1}}],
    )


def _on_refuse(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    reason = _required_text(data.get("reason"), _("Give the reason for the refusal."))
    return _Step(data={"reason": reason})


def _on_return(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    method = data.get("method") or dossier.return_method
    if method not in ReturnMethod.values:
        raise DossierError(_("Unknown return method: %(method)s.") % {"method": method})
    tracking = str(data.get("tracking_number") or "").strip()[:40]
    if method == ReturnMethod.POST and not (dossier.delivery_address or dossier.applicant_address):
        raise DossierError(_("Give the address the result should be posted to."))
    dossier.return_method = method
    if method == ReturnMethod.POST:
        dossier.delivery_address = dossier.delivery_address or dossier.applicant_address
        dossier.delivery_status = DeliveryStatus.IN_TRANSIT if tracking else DeliveryStatus.WAITING
        dossier.tracking_number = tracking or dossier.tracking_number
    day = _local_day(at)
    dossier.returned_at = at
    dossier.timeliness = lc.classify_return(day, dossier.due_date)
    return _Step(
        data={"method": method, "timeliness": dossier.timeliness, "tracking_number": tracking},
        events=[
            {
                "kind": "return",
                "day": day,
                "measures": {"resolved": 1, f"resolved_{dossier.timeliness}": 1},
            },
            {"kind": "due", "day": dossier.due_date, "measures": {"due_open": -1}},
        ],
    )


def _on_withdraw(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    reason = _required_text(data.get("reason"), _("Give the reason the citizen withdrew."))
    events: list[dict[str, Any]] = [
        {"kind": "withdraw", "day": _local_day(at), "measures": {"withdrawn": 1}}
    ]
    if dossier.status != lc.SUPPLEMENT:  # a paused dossier already left its due day
        events.append({"kind": "due", "day": dossier.due_date, "measures": {"due_open": -1}})
    return _Step(data={"reason": reason}, events=events)


def _on_apologise(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    new_date = data.get("new_date")
    if isinstance(new_date, str):
        try:
            new_date = dt.date.fromisoformat(new_date)
        except ValueError:
            new_date = None
    if not isinstance(new_date, dt.date) or isinstance(new_date, dt.datetime):
        raise DossierError(_("Give the new date promised to the citizen."))
    reason = _required_text(data.get("reason"), _("Give the reason for the delay."))
    if _local_day(at) > dossier.due_date:
        # Decree 61/2018 art. 19: the apology (Mẫu 04) is sent before the deadline.
        raise DossierError(
            _("An apology must be issued before the due date (%(day)s).")
            % {"day": dossier.due_date.strftime("%d/%m/%Y")}
        )
    floor = max(dossier.apology_due_date or dossier.due_date, dossier.due_date)
    if new_date <= floor:
        raise DossierError(
            _("The new date must be after %(day)s.") % {"day": floor.strftime("%d/%m/%Y")}
        )
    dossier.apology_due_date = new_date
    # The legal due date does not move: the dossier will still count as late.
    return _Step(
        data={
            "new_date": new_date.isoformat(),
            "reason": reason,
            "due_date": dossier.due_date.isoformat(),
        },
        events=[{"kind": "apologise", "day": _local_day(at), "measures": {"apologised": 1}}],
    )


def _on_route(dossier: Dossier, actor: Any, at: dt.datetime, data: dict[str, Any]) -> _Step:
    try:
        unit_id = int(data.get("unit_id") or 0)
    except (TypeError, ValueError):
        unit_id = 0
    target = Unit.objects.filter(pk=unit_id).first() if unit_id else None
    if target is None or target == dossier.unit or not _routable(actor, dossier.unit, target):
        raise DossierError(_("Choose another current unit of the same province."))
    _require_competent_level(dossier.procedure, target)
    old = dossier.unit
    received_day = _local_day(dossier.received_at)
    counted = {"received": 1, f"received_{dossier.channel}": 1}
    events: list[dict[str, Any]] = []
    for unit, sign in ((old, -1), (target, 1)):
        events.append(
            {
                "kind": "route",
                "day": received_day,
                "unit": unit,
                "measures": {name: sign * value for name, value in counted.items()},
            }
        )
        events.append(
            {"kind": "route", "day": dossier.due_date, "unit": unit, "measures": {"due_open": sign}}
        )
    dossier.unit = target
    dossier.unit_path = target.path
    dossier.province_code = target.province_code
    return _Step(data={"from_unit": old.code, "to_unit": target.code}, events=events)


_HANDLERS: dict[str, Handler] = {
    lc.TRANSFER: _on_transfer,
    lc.APPRAISE: _on_appraise,
    lc.SUPPLEMENT_REQUEST: _on_supplement_request,
    lc.SUPPLEMENT_RECEIVE: _on_supplement_receive,
    lc.APPROVE: _no_data,
    lc.REFUSE: _on_refuse,
    lc.SIGN: _no_data,
    lc.RESULT_READY_ACTION: _no_data,
    lc.RETURN: _on_return,
    lc.WITHDRAW: _on_withdraw,
    lc.APOLOGISE: _on_apologise,
    lc.ROUTE: _on_route,
}


def _not_before_last_step(
    dossier: Dossier, at: dt.datetime, *, last: dt.datetime | None = None
) -> None:
    """Refuse a step dated before the dossier's last one (``last``: its date when the
    caller knows it, i.e. it applied that step itself under the same lock)."""
    if last is None:
        last = (
            DossierTransition.objects.filter(dossier=dossier)
            .order_by("-at", "-id")
            .values_list("at", flat=True)
            .first()
        )
    if last is not None and at < last:
        raise DossierError(_("This step cannot be dated before the dossier's previous step."))


def _values(dossier: Dossier) -> dict[str, Any]:
    return {f.name: getattr(dossier, f.attname) for f in Dossier._meta.concrete_fields}


def _save_changes(dossier: Dossier, before: dict[str, Any]) -> None:
    """Save the fields a step changed (and ``updated_at``), not the whole row."""
    changed = [name for name, value in _values(dossier).items() if before[name] != value]
    dossier.save(update_fields=[*changed, "updated_at"])


def _apply(
    dossier: Dossier,
    *,
    actor: Any,
    action: str,
    at: dt.datetime,
    note: str,
    data: dict[str, Any],
    delegated: bool = False,
    last: dt.datetime | None = None,
) -> Dossier:
    """Apply one step: check, change, record (control sheet + audit), emit.

    ``delegated``: a stage of an on-the-spot resolution, authorised by the receipt (the
    capability was checked there) and marked ``on_the_spot`` on the control sheet.
    ``last``: the date of the dossier's last step when the caller just applied it.
    """
    handler = _HANDLERS.get(action)
    if handler is None:
        raise IllegalAction(_("Unknown action: %(action)s.") % {"action": action})
    if not delegated:
        _require_capability(actor, lc.ACTION_CAPABILITY[action], action)
    from_status = dossier.status
    try:
        to_status = lc.next_status(from_status, action)
    except lc.IllegalTransition:
        raise IllegalAction(
            _("“%(action)s” is not allowed while the dossier is “%(status)s”.")
            % {"action": _action_label(action), "status": _status_label(from_status)}
        ) from None
    _not_before_last_step(dossier, at, last=last)
    before = _values(dossier)
    step = handler(dossier, actor, at, data)
    if delegated:
        step.data["on_the_spot"] = True
    dossier.status = to_status
    _save_changes(dossier, before)
    _record(
        dossier,
        action=action,
        from_status=from_status,
        actor=actor,
        at=at,
        note=(note or "").strip(),
        data=step.data,
    )
    events_append_many(
        [
            _event(
                dossier,
                kind=event["kind"],
                day=event["day"],
                measures=event["measures"],
                actor=actor,
                unit=event.get("unit"),
            )
            for event in step.events
        ]
    )
    hooks.run(dossier=dossier, action=action, actor=actor, at=at)
    return dossier


@transaction.atomic
def dossier_act(
    *,
    actor: Any,
    dossier_id: int,
    action: str,
    note: str = "",
    at: dt.datetime | None = None,
    **data: Any,
) -> Dossier:
    """Apply one lifecycle ``action`` (see ``lifecycle.ACTIONS``) to a dossier.

    ``data`` carries the action's own input: ``missing`` (supplement_request),
    ``reason`` (refuse, withdraw, apologise), ``new_date`` (apologise), ``unit_id``
    (route), ``method`` and ``tracking_number`` (return), ``assignee_id`` (transfer).
    Creating actions (receive, reject_intake, on_the_spot) have their own services.
    """
    if action in lc.CREATING_ACTIONS:
        raise IllegalAction(
            _("“%(action)s” creates a new dossier; it cannot be applied to one.")
            % {"action": _action_label(action)}
        )
    moment = _moment(at)
    dossier = _locked(actor, dossier_id)
    return _apply(dossier, actor=actor, action=action, at=moment, note=note, data=data)


@transaction.atomic
def dossier_act_many(
    *,
    actor: Any,
    dossier_id: int,
    actions: Iterable[str],
    at: dt.datetime | None = None,
    received: Dossier | None = None,
) -> Dossier:
    """Apply several ``actions`` in order, each exactly as ``dossier_act`` applies it, under
    one lock (a card dossier is transferred and appraised as the intake completes).

    ``received``: the dossier as ``dossier_receive`` returned it in the caller's current
    transaction. Its row is still invisible to every other transaction, so it needs no
    lock and is not read again (only its scope is checked), and its one step so far is
    the receipt, dated ``received_at``.
    """
    moment = _moment(at)
    last: dt.datetime | None = None  # read with the first action, then the batch's own
    if received is not None and received.pk == dossier_id:
        _require_scope(actor, received.unit)
        dossier, last = received, received.received_at
    else:
        dossier = _locked(actor, dossier_id)
    for action in actions:
        if action in lc.CREATING_ACTIONS:
            raise IllegalAction(
                _("“%(action)s” creates a new dossier; it cannot be applied to one.")
                % {"action": _action_label(action)}
            )
        dossier = _apply(
            dossier, actor=actor, action=action, at=moment, note="", data={}, last=last
        )
        last = moment
    return dossier


def dossier_transfer(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None, **data: Any
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.TRANSFER, note=note, at=at, **data
    )


def dossier_appraise(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(actor=actor, dossier_id=dossier_id, action=lc.APPRAISE, note=note, at=at)


def dossier_supplement_request(
    *,
    actor: Any,
    dossier_id: int,
    missing: Iterable[str] | str,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    return dossier_act(
        actor=actor,
        dossier_id=dossier_id,
        action=lc.SUPPLEMENT_REQUEST,
        note=note,
        at=at,
        missing=missing,
    )


def dossier_supplement_receive(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.SUPPLEMENT_RECEIVE, note=note, at=at
    )


def dossier_approve(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(actor=actor, dossier_id=dossier_id, action=lc.APPROVE, note=note, at=at)


def dossier_refuse(
    *, actor: Any, dossier_id: int, reason: str, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.REFUSE, note=note, at=at, reason=reason
    )


def dossier_sign(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(actor=actor, dossier_id=dossier_id, action=lc.SIGN, note=note, at=at)


def dossier_result_ready(
    *, actor: Any, dossier_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.RESULT_READY_ACTION, note=note, at=at
    )


def dossier_return(
    *,
    actor: Any,
    dossier_id: int,
    method: str | None = None,
    tracking_number: str = "",
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    return dossier_act(
        actor=actor,
        dossier_id=dossier_id,
        action=lc.RETURN,
        note=note,
        at=at,
        method=method,
        tracking_number=tracking_number,
    )


def dossier_withdraw(
    *, actor: Any, dossier_id: int, reason: str, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.WITHDRAW, note=note, at=at, reason=reason
    )


def dossier_apologise(
    *,
    actor: Any,
    dossier_id: int,
    new_date: dt.date,
    reason: str,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    return dossier_act(
        actor=actor,
        dossier_id=dossier_id,
        action=lc.APOLOGISE,
        note=note,
        at=at,
        new_date=new_date,
        reason=reason,
    )


def dossier_route(
    *, actor: Any, dossier_id: int, unit_id: int, note: str = "", at: dt.datetime | None = None
) -> Dossier:
    return dossier_act(
        actor=actor, dossier_id=dossier_id, action=lc.ROUTE, note=note, at=at, unit_id=unit_id
    )
