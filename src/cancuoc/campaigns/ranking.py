"""The emulation ranking (thi đua): one score per unit from configurable components.

Pure Python (no Django). Each component is a percentage:

* ``quota``: dossiers received ÷ quotas, over the campaign so far, capped at
  ``quota_cap`` (default 100: beating the quota does not buy the other components'
  points; a province that rewards over-achievement sets e.g. 120);
* ``on_time``: dossiers returned early or on time ÷ dossiers returned (one-stop desk);
* ``satisfaction``: "very satisfied" + "satisfied" ÷ ratings (citizen portal).

The score is the weighted mean of the components on a 0–100 scale (a capped quota
component is rescaled to 0–100). A unit with no data for a component (no dossier
returned yet, no rating) is scored on the others with their weights renormalised, so it
is neither punished nor rewarded for what could not be measured. Equal scores share a
rank (1, 2, 2, 4).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COMPONENTS = ("quota", "on_time", "satisfaction")
DEFAULT_WEIGHTS: dict[str, int] = {"quota": 60, "on_time": 25, "satisfaction": 15}
DEFAULT_QUOTA_CAP = 100


class WeightsInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Weights:
    quota: Decimal
    on_time: Decimal
    satisfaction: Decimal
    quota_cap: Decimal

    def of(self, component: str) -> Decimal:
        value: Decimal = getattr(self, component)
        return value


def weights_parse(raw: Mapping[str, Any] | None) -> Weights:
    """Weights from a campaign's `ranking_weights` (missing keys take the defaults)."""
    values: dict[str, Decimal] = {}
    merged: dict[str, Any] = {**DEFAULT_WEIGHTS, "quota_cap": DEFAULT_QUOTA_CAP}
    unknown = set(raw or {}) - set(merged)
    if unknown:
        raise WeightsInvalid(f"unknown ranking weight(s): {', '.join(sorted(unknown))}")
    merged.update(raw or {})
    for name, value in merged.items():
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            raise WeightsInvalid(f"{name}: not a number: {value!r}") from None
        if not number.is_finite() or number < 0:
            raise WeightsInvalid(f"{name}: must be a number ≥ 0")
        values[name] = number
    if values["quota_cap"] <= 0:
        raise WeightsInvalid("quota_cap: must be above 0")
    if sum(values[c] for c in COMPONENTS) <= 0:
        raise WeightsInvalid("at least one weight must be above 0")
    return Weights(
        quota=values["quota"],
        on_time=values["on_time"],
        satisfaction=values["satisfaction"],
        quota_cap=values["quota_cap"],
    )


@dataclass(frozen=True)
class RankInput:
    key: Hashable
    label: str
    quota_pct: Decimal | None = None  # received ÷ quotas × 100
    on_time_pct: Decimal | None = None
    satisfaction_pct: Decimal | None = None


@dataclass
class RankRow:
    key: Hashable
    label: str
    score: Decimal | None
    components: dict[str, Decimal | None] = field(default_factory=dict)
    rank: int | None = None


def _component(value: Decimal | None, cap: Decimal) -> Decimal | None:
    if value is None:
        return None
    return min(max(value, Decimal(0)), cap) * 100 / cap


def score(item: RankInput, weights: Weights) -> tuple[Decimal | None, dict[str, Decimal | None]]:
    """The unit's score (0–100, one decimal) and the scaled components it was made of."""
    parts = {
        "quota": _component(item.quota_pct, weights.quota_cap),
        "on_time": _component(item.on_time_pct, Decimal(100)),
        "satisfaction": _component(item.satisfaction_pct, Decimal(100)),
    }
    used = [(weights.of(name), value) for name, value in parts.items() if value is not None]
    total_weight = sum((w for w, _v in used), Decimal(0))
    rounded = {
        name: (v.quantize(Decimal("0.1"), ROUND_HALF_UP) if v is not None else None)
        for name, v in parts.items()
    }
    if total_weight <= 0:
        return None, rounded
    value = sum((w * v for w, v in used), Decimal(0)) / total_weight
    return value.quantize(Decimal("0.1"), ROUND_HALF_UP), rounded


def rank(items: Sequence[RankInput], weights: Weights) -> list[RankRow]:
    """Rows best first; units without any score come last, unranked."""
    rows = []
    for item in items:
        value, parts = score(item, weights)
        rows.append(RankRow(key=item.key, label=item.label, score=value, components=parts))
    order = sorted(
        range(len(rows)),
        key=lambda i: (rows[i].score is None, -(rows[i].score or 0), i),
    )
    ranked = [rows[i] for i in order]
    previous: Decimal | None = None
    position = 0
    for index, row in enumerate(ranked, start=1):
        if row.score is None:
            continue
        if row.score != previous:
            position = index
            previous = row.score
        row.rank = position
    return ranked
