"""The demo data set, built step by step so every module can add its own part.

`cancuoc demo` calls each registered step in order. A later module appends a
step (its registry, its dossiers, its campaign) to `DEMO_STEPS`, so the demo
always shows everything built so far. Every step is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEMO_PASSWORD = "cancuoc-demo"  # noqa: S105 - printed to the operator; demo only


@dataclass
class DemoContext:
    province_code: str
    second_province_code: str
    out: Callable[[str], None]
    # Citizens the registry step generates in the demo province (`cancuoc demo --people N`).
    people: int = 100_000
    # Filled by the steps: units chosen, accounts created, for later steps and the summary.
    units: dict[str, Any] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)


DemoStep = Callable[[DemoContext], None]
DEMO_STEPS: list[tuple[str, DemoStep]] = []


def demo_step(name: str) -> Callable[[DemoStep], DemoStep]:
    def register(step: DemoStep) -> DemoStep:
        DEMO_STEPS.append((name, step))
        return step

    return register
