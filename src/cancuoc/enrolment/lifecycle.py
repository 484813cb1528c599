"""The transition tables of a card application and of a card. Pure: no Django.

Anything not listed is illegal; the services turn an illegal pair into a clear error.
"""

from __future__ import annotations

from typing import Final

# Application statuses (mirror models.ApplicationStatus; kept as plain strings here so
# the rules stay importable without Django).
IN_PROGRESS: Final = "in_progress"
COMPLETED: Final = "completed"
APPROVED: Final = "approved"
DELIVERED: Final = "delivered"
CANCELLED: Final = "cancelled"
REFUSED: Final = "refused"
CONFLICT: Final = "conflict"

# Application actions.
COMPLETE: Final = "complete"  # the citizen signed: the dossier is received
APPROVE: Final = "approve"  # the dossier was approved: the card goes to production
REFUSE: Final = "refuse"
DELIVER: Final = "deliver"  # the card was handed over (or posted and received)
CANCEL: Final = "cancel"  # abandoned intake, withdrawn dossier, or a conflict discarded
KEEP: Final = "keep"  # a supervisor keeps a conflicting offline enrolment

APPLICATION_TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (IN_PROGRESS, COMPLETE): COMPLETED,
    (IN_PROGRESS, CANCEL): CANCELLED,
    (COMPLETED, APPROVE): APPROVED,
    (COMPLETED, REFUSE): REFUSED,
    (COMPLETED, CANCEL): CANCELLED,
    (APPROVED, DELIVER): DELIVERED,
    (APPROVED, CANCEL): CANCELLED,
    (CONFLICT, KEEP): COMPLETED,
    (CONFLICT, CANCEL): CANCELLED,
}

# Card statuses and actions.
IN_PRODUCTION: Final = "in_production"
READY: Final = "ready"
CARD_DELIVERED: Final = "delivered"
CARD_CANCELLED: Final = "cancelled"

MARK_READY: Final = "mark_ready"
HAND_OVER: Final = "hand_over"
CARD_CANCEL: Final = "cancel"

CARD_TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (IN_PRODUCTION, MARK_READY): READY,
    (IN_PRODUCTION, CARD_CANCEL): CARD_CANCELLED,
    (READY, HAND_OVER): CARD_DELIVERED,
    (READY, CARD_CANCEL): CARD_CANCELLED,
}

# The intake steps, in order.
STEPS: Final = ("confirm", "fingerprints", "face", "review", "sign")


class IllegalTransition(ValueError):
    def __init__(self, status: str, action: str) -> None:
        self.status = status
        self.action = action
        super().__init__(f"action {action!r} is not allowed in status {status!r}")


def application_next(status: str, action: str) -> str:
    try:
        return APPLICATION_TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


def card_next(status: str, action: str) -> str:
    try:
        return CARD_TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


def next_step(step: str) -> str | None:
    """The step after ``step``; None after the last."""
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None
