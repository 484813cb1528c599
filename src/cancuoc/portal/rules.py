"""Pure rules of the citizen portal: the lookup's second factor and complaint statuses.

No Django import, so the rules are tested directly (hypothesis) and read in one place.
"""

from __future__ import annotations

import hmac
from typing import Final

#: Accepted second factors: the last 4 digits of the phone or the last 6 of the ID number.
PHONE_DIGITS: Final = 4
ID_DIGITS: Final = 6
#: A stored phone (10 digits) or ID (12, or an old 9-digit CMND) has at least this many.
MIN_STORED_DIGITS: Final = 9

# Complaint statuses (values of portal.models.ComplaintStatus).
RECEIVED: Final = "received"
IN_PROGRESS: Final = "in_progress"
ANSWERED: Final = "answered"
CLOSED: Final = "closed"

#: status -> the statuses an officer may move it to. An answer is given before closing,
#: and a closed complaint stays closed (a new complaint is filed instead).
COMPLAINT_MOVES: Final[dict[str, frozenset[str]]] = {
    RECEIVED: frozenset({IN_PROGRESS, ANSWERED}),
    IN_PROGRESS: frozenset({ANSWERED}),
    ANSWERED: frozenset({IN_PROGRESS, CLOSED}),
    CLOSED: frozenset(),
}
#: Moving to these statuses needs the answer text.
NEEDS_ANSWER: Final = frozenset({ANSWERED, CLOSED})


def code_normalise(raw: str) -> str:
    """A dossier code as typed: spaces dropped, letters upper-cased ("h29" → "H29")."""
    return "".join(raw.split()).upper()[:60]


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def factor_matches(factor: str, *, phone: str, id_number: str) -> bool:
    """Whether `factor` is the last 4 digits of `phone` or the last 6 of `id_number`.

    Only an exact 4- or 6-digit answer counts, against a stored value long enough to
    have those digits; comparisons take constant time so timing tells nothing.
    """
    given = factor.strip()
    if not given.isascii() or not given.isdigit():
        return False
    if len(given) == PHONE_DIGITS:
        stored = digits(phone)
    elif len(given) == ID_DIGITS:
        stored = digits(id_number)
    else:
        return False
    if len(stored) < MIN_STORED_DIGITS:
        # Too short to be a real phone or ID number (or empty): nothing matches it.
        return False
    return hmac.compare_digest(given.encode(), stored[-len(given) :].encode())


def complaint_move_allowed(current: str, target: str) -> bool:
    return target in COMPLAINT_MOVES.get(current, frozenset())
