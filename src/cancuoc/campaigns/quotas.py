"""Targets, allocations, daily quotas and percentages: the campaign's arithmetic.

Pure Python (no Django). Percentages are `Decimal` with one decimal, rounded half up, as
the police publish them ("718/600 hồ sơ, đạt 119,7%"); numbers are printed in the
Vietnamese way (dot for thousands, comma for decimals) or the English way.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

ONE_DECIMAL = Decimal("0.1")


# --- Allocation -----------------------------------------------------------------------


def largest_remainder(target: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split `target` in proportion to `weights` so the shares sum exactly to `target`.

    Hamilton's method: everyone gets the floor of their exact share, then the units left
    over go one each to the largest remainders (ties: the larger weight, then the order
    given, so the result is deterministic). All weights zero (no census yet) splits
    evenly. Weights must not be negative.
    """
    if target < 0:
        raise ValueError("the target must not be negative")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    keys = list(weights)
    if not keys:
        if target:
            raise ValueError("nobody to allocate the target to")
        return {}
    total = sum(weights.values())
    effective = dict(weights) if total > 0 else dict.fromkeys(keys, 1)
    total = sum(effective.values())
    shares = {k: target * effective[k] // total for k in keys}
    # Remainders as integers (target × weight mod total) keep the comparison exact.
    remainders = {k: target * effective[k] % total for k in keys}
    left = target - sum(shares.values())
    order = sorted(
        range(len(keys)),
        key=lambda i: (-remainders[keys[i]], -effective[keys[i]], i),
    )
    for i in order[:left]:
        shares[keys[i]] += 1
    return shares


def allocation_gap(target: int, targets: Mapping[K, int]) -> int:
    """How far the allocations are from the target (positive: some left to allocate)."""
    return target - sum(targets.values())


# --- Daily quotas ----------------------------------------------------------------------


def daily_quota(*, remaining_target: int, remaining_days: int) -> int:
    """Remaining target ÷ remaining open days, rounded up so that meeting every day's quota
    meets the target; 0 when nothing is left or no open day remains."""
    if remaining_target <= 0 or remaining_days <= 0:
        return 0
    return math.ceil(remaining_target / remaining_days)


def required_pace(*, remaining: int, days: int) -> int | None:
    """Dossiers a day needed to finish in `days` open days (None: no day left)."""
    if remaining <= 0:
        return 0
    if days <= 0:
        return None
    return math.ceil(remaining / days)


# --- Percentages and numbers ----------------------------------------------------------


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole × 100 with one decimal, half up; None when `whole` is 0."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _is_vietnamese(language: str) -> bool:
    return language.lower().startswith("vi")


def format_int(value: int, language: str = "vi") -> str:
    """9020 → "9.020" (Vietnamese) or "9,020" (English)."""
    text = f"{value:,}"
    return text.replace(",", ".") if _is_vietnamese(language) else text


def format_decimal(value: Decimal, language: str = "vi", places: int = 1) -> str:
    """Decimal("1074.5") → "1.074,5" (Vietnamese) or "1,074.5" (English)."""
    quantum = Decimal(1).scaleb(-places)
    text = f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"
    if _is_vietnamese(language):
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_percent(value: Decimal | None, language: str = "vi") -> str:
    """Decimal("119.7") → "119,7%" / "119.7%"; None → "—"."""
    if value is None:
        return "—"
    return format_decimal(value, language) + "%"
