"""Transition tables of invitations and sessions. Pure: no Django import.

The status values repeat `campaigns.models.InvitationStatus` and `SessionStatus` as plain
strings (a test checks that they agree), so these rules can be tested and reasoned about
without a database.

Invitations:

- ``invited``, ``reminded`` and ``rescheduled`` hold a place in a slot (the slot's
  ``booked`` counter counts them) and can still become anything but ``invited``;
- ``attended`` is final: enrolment recorded it (the place stays counted);
- ``no_show`` frees the place; the citizen may still book another time (``rescheduled``);
- ``cancelled`` frees the place and is final: a new invitation is a new row with a new code.

Sessions: planned → open → closed; planned or open → cancelled.
"""

from __future__ import annotations

INVITED = "invited"
REMINDED = "reminded"
ATTENDED = "attended"
NO_SHOW = "no_show"
RESCHEDULED = "rescheduled"
CANCELLED = "cancelled"

INVITATION_STATUSES = (INVITED, REMINDED, ATTENDED, NO_SHOW, RESCHEDULED, CANCELLED)

INVITATION_TRANSITIONS: dict[str, frozenset[str]] = {
    INVITED: frozenset({REMINDED, ATTENDED, NO_SHOW, RESCHEDULED, CANCELLED}),
    REMINDED: frozenset({REMINDED, ATTENDED, NO_SHOW, RESCHEDULED, CANCELLED}),
    RESCHEDULED: frozenset({REMINDED, ATTENDED, NO_SHOW, RESCHEDULED, CANCELLED}),
    ATTENDED: frozenset(),
    NO_SHOW: frozenset({RESCHEDULED}),
    CANCELLED: frozenset(),
}

#: Statuses that hold a place in their slot (the slot counter counts exactly these).
HOLDING = frozenset({INVITED, REMINDED, RESCHEDULED, ATTENDED})
#: Statuses that can still be attended, moved or cancelled: the citizen is expected.
EXPECTED = frozenset({INVITED, REMINDED, RESCHEDULED})

PLANNED = "planned"
OPEN = "open"
CLOSED = "closed"
SESSION_CANCELLED = "cancelled"

SESSION_STATUSES = (PLANNED, OPEN, CLOSED, SESSION_CANCELLED)

SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    PLANNED: frozenset({OPEN, SESSION_CANCELLED}),
    OPEN: frozenset({CLOSED, SESSION_CANCELLED}),
    CLOSED: frozenset(),
    SESSION_CANCELLED: frozenset(),
}
#: Sessions that still take bookings and changes.
BOOKABLE_SESSION = frozenset({PLANNED, OPEN})


class TransitionRefused(ValueError):
    """The move is not in the table; ``current`` and ``target`` name it."""

    def __init__(self, current: str, target: str) -> None:
        self.current = current
        self.target = target
        super().__init__(f"{current} -> {target}")


def invitation_can(current: str, target: str) -> bool:
    return target in INVITATION_TRANSITIONS.get(current, frozenset())


def invitation_next(current: str, target: str) -> str:
    """``target`` if an invitation in ``current`` may move there, else TransitionRefused."""
    if not invitation_can(current, target):
        raise TransitionRefused(current, target)
    return target


def slot_delta(current: str, target: str) -> int:
    """How the slot counter changes when an invitation stays in its slot and changes status:
    -1 when it stops holding its place, +1 when it starts again, else 0."""
    return int(target in HOLDING) - int(current in HOLDING)


def session_can(current: str, target: str) -> bool:
    return target in SESSION_TRANSITIONS.get(current, frozenset())


def session_next(current: str, target: str) -> str:
    if not session_can(current, target):
        raise TransitionRefused(current, target)
    return target
