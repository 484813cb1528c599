"""The dossier lifecycle as data: statuses, actions and the transition table.

Pure rules, no database: ``dossiers.services`` asks this module whether an action is
legal in a status, which status it leads to and which capability it needs; tests replay
histories through it. The only import from the project is ``Capability`` (a ``StrEnum``
in ``accounts.roles``, importable without Django settings) so that one table answers
"who may do what".

Status values are the stored values of ``dossiers.models.DossierStatus`` (a test keeps
the two in step). A dossier that does not exist yet has the empty status ``""``
(``DossierTransition.from_status`` is blank for the first step).

Main path (Decree 61/2018, now 118/2025; domain §5)::

    "" --receive--> received --transfer--> transferred --appraise--> in_appraisal
    in_appraisal --approve--> approved | --refuse--> refused
    approved | refused --sign--> signed --result_ready--> result_ready --return--> returned

Side paths:

* ``reject_intake``: "" -> rejected (not eligible; refused in writing, never received).
* ``supplement_request`` (Mẫu 02) from transferred or in_appraisal -> supplement; the
  clock pauses. ``supplement_receive`` -> in_appraisal: the papers go back to the
  appraiser, whichever stage asked for them.
* ``withdraw``: the citizen takes the dossier back before a decision.
* ``apologise`` (Mẫu 04): a new date for the citizen, status unchanged; the legal due
  date does not move, so the dossier still counts as late.
* ``route``: a dossier received for another unit of the province (Decree 118/2025) is
  handed to the competent unit before processing starts; status stays ``received``.
* ``on_the_spot`` ("5 tại chỗ"): one desk does every stage in one sitting. The service
  records the stages of :data:`ON_THE_SPOT_PATH` one by one (so the control sheet shows
  every step); the single-step entry in :data:`TRANSITIONS` lets a compressed history
  replay to the same end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final, Literal

from cancuoc.accounts.roles import Capability

# --- Statuses (values of dossiers.models.DossierStatus) -------------------------------

NEW: Final = ""
RECEIVED: Final = "received"
TRANSFERRED: Final = "transferred"
IN_APPRAISAL: Final = "in_appraisal"
SUPPLEMENT: Final = "supplement"
APPROVED: Final = "approved"
REFUSED: Final = "refused"
SIGNED: Final = "signed"
RESULT_READY: Final = "result_ready"
RETURNED: Final = "returned"
REJECTED: Final = "rejected"
WITHDRAWN: Final = "withdrawn"

STATUSES: Final = (
    RECEIVED,
    TRANSFERRED,
    IN_APPRAISAL,
    SUPPLEMENT,
    APPROVED,
    REFUSED,
    SIGNED,
    RESULT_READY,
    RETURNED,
    REJECTED,
    WITHDRAWN,
)
#: No action leads out of these.
TERMINAL: Final = frozenset({RETURNED, REJECTED, WITHDRAWN})
#: Still being processed: the deadline runs (or is paused) and the dossier can be late.
OPEN: Final = frozenset(STATUSES) - TERMINAL

# --- Actions ------------------------------------------------------------------------

RECEIVE: Final = "receive"
REJECT_INTAKE: Final = "reject_intake"
TRANSFER: Final = "transfer"
APPRAISE: Final = "appraise"
SUPPLEMENT_REQUEST: Final = "supplement_request"
SUPPLEMENT_RECEIVE: Final = "supplement_receive"
APPROVE: Final = "approve"
REFUSE: Final = "refuse"
SIGN: Final = "sign"
RESULT_READY_ACTION: Final = "result_ready"
RETURN: Final = "return"
WITHDRAW: Final = "withdraw"
APOLOGISE: Final = "apologise"
ROUTE: Final = "route"
ON_THE_SPOT: Final = "on_the_spot"

ACTIONS: Final = (
    RECEIVE,
    REJECT_INTAKE,
    TRANSFER,
    APPRAISE,
    SUPPLEMENT_REQUEST,
    SUPPLEMENT_RECEIVE,
    APPROVE,
    REFUSE,
    SIGN,
    RESULT_READY_ACTION,
    RETURN,
    WITHDRAW,
    APOLOGISE,
    ROUTE,
    ON_THE_SPOT,
)
# Record-only steps: written to the control sheet (fees, postal delivery) but never
# changing the status; :func:`replay` steps over them.
FEE_PAY: Final = "fee_pay"
FEE_EXEMPT: Final = "fee_exempt"
DELIVERY_UPDATE: Final = "delivery_update"
RECORD_ONLY_ACTIONS: Final = frozenset({FEE_PAY, FEE_EXEMPT, DELIVERY_UPDATE})

#: Actions that create a dossier (from status "").
CREATING_ACTIONS: Final = frozenset({RECEIVE, REJECT_INTAKE, ON_THE_SPOT})

#: The stages an on-the-spot dossier passes through, in order, in one sitting.
ON_THE_SPOT_PATH: Final = (
    RECEIVE,
    TRANSFER,
    APPRAISE,
    APPROVE,
    SIGN,
    RESULT_READY_ACTION,
    RETURN,
)

# Before a decision is made the citizen may still withdraw, and a unit that will be late
# may still apologise until the result has been handed over.
_WITHDRAWABLE: Final = (RECEIVED, TRANSFERRED, IN_APPRAISAL, SUPPLEMENT)
_APOLOGISABLE: Final = (
    RECEIVED,
    TRANSFERRED,
    IN_APPRAISAL,
    SUPPLEMENT,
    APPROVED,
    REFUSED,
    SIGNED,
    RESULT_READY,
)

#: (from_status, action) -> to_status. Anything not listed is illegal.
TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (NEW, RECEIVE): RECEIVED,
    (NEW, REJECT_INTAKE): REJECTED,
    (NEW, ON_THE_SPOT): RETURNED,
    (RECEIVED, TRANSFER): TRANSFERRED,
    (RECEIVED, ROUTE): RECEIVED,
    (TRANSFERRED, APPRAISE): IN_APPRAISAL,
    (TRANSFERRED, SUPPLEMENT_REQUEST): SUPPLEMENT,
    (IN_APPRAISAL, SUPPLEMENT_REQUEST): SUPPLEMENT,
    (SUPPLEMENT, SUPPLEMENT_RECEIVE): IN_APPRAISAL,
    (IN_APPRAISAL, APPROVE): APPROVED,
    (IN_APPRAISAL, REFUSE): REFUSED,
    (APPROVED, SIGN): SIGNED,
    (REFUSED, SIGN): SIGNED,
    (SIGNED, RESULT_READY_ACTION): RESULT_READY,
    (RESULT_READY, RETURN): RETURNED,
    **{(status, WITHDRAW): WITHDRAWN for status in _WITHDRAWABLE},
    **{(status, APOLOGISE): status for status in _APOLOGISABLE},
}

#: The capability each action needs. The desk (RECEIVE_DOSSIER) handles everything that
#: faces the citizen: intake, transfer, supplement requests, routing, handing over the
#: result, withdrawal, and the on-the-spot sitting, where the clerk acts for every stage
#: of a procedure the catalogue marks as on-the-spot. Appraisal needs APPRAISE_DOSSIER;
#: decisions, signing and the apology letter (signed by the head of the late unit) need
#: APPROVE_DOSSIER.
ACTION_CAPABILITY: Final[dict[str, Capability]] = {
    RECEIVE: Capability.RECEIVE_DOSSIER,
    REJECT_INTAKE: Capability.RECEIVE_DOSSIER,
    TRANSFER: Capability.RECEIVE_DOSSIER,
    APPRAISE: Capability.APPRAISE_DOSSIER,
    SUPPLEMENT_REQUEST: Capability.RECEIVE_DOSSIER,
    SUPPLEMENT_RECEIVE: Capability.RECEIVE_DOSSIER,
    APPROVE: Capability.APPROVE_DOSSIER,
    REFUSE: Capability.APPROVE_DOSSIER,
    SIGN: Capability.APPROVE_DOSSIER,
    RESULT_READY_ACTION: Capability.RECEIVE_DOSSIER,
    RETURN: Capability.RECEIVE_DOSSIER,
    WITHDRAW: Capability.RECEIVE_DOSSIER,
    APOLOGISE: Capability.APPROVE_DOSSIER,
    ROUTE: Capability.RECEIVE_DOSSIER,
    ON_THE_SPOT: Capability.RECEIVE_DOSSIER,
}


class IllegalTransition(ValueError):
    """The action is not allowed in the status (the services turn it into a DomainError)."""

    def __init__(self, status: str, action: str) -> None:
        self.status = status
        self.action = action
        super().__init__(f"action {action!r} is not allowed in status {status!r}")


def allowed_actions(status: str) -> list[str]:
    """The actions legal in ``status``, in the order of :data:`ACTIONS`."""
    return [action for action in ACTIONS if (status, action) in TRANSITIONS]


def next_status(status: str, action: str) -> str:
    """The status ``action`` leads to from ``status``; :class:`IllegalTransition` if none."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


def replay(actions: Iterable[str], *, start: str = NEW) -> str:
    """The status reached by applying ``actions`` in order from ``start``.

    Raises :class:`IllegalTransition` at the first illegal step, so a replayed history
    is also a proof that every step was legal. Record-only steps (fees, delivery) leave
    the status as it is.
    """
    status = start
    for action in actions:
        if action in RECORD_ONLY_ACTIONS and status != NEW:
            continue
        status = next_status(status, action)
    return status


def is_terminal(status: str) -> bool:
    return status in TERMINAL


Timeliness = Literal["early", "on_time", "late"]


def classify_return(returned_on: dt.date, due: dt.date) -> Timeliness:
    """Early before the due date, on time on it, late after it (domain §5).

    ``due`` is the legal due date; an apology's new date never changes the class.
    """
    if returned_on < due:
        return "early"
    if returned_on == due:
        return "on_time"
    return "late"


def is_overdue(due: dt.date, today: dt.date) -> bool:
    """An open dossier is overdue once its due date has passed (due today is in term)."""
    return today > due
