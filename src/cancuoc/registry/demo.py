"""Demo step: a realistic registry for the demo province (and a small one for the second).

`cancuoc demo --people N` sets the size (default 100,000). The generator is idempotent per
seed, so running the demo again inserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cancuoc.core.demo import DemoContext, demo_step
from cancuoc.registry.population import population_generate

SEED = 42
#: The second province gets a small registry so its accounts have something to see.
SECOND_PROVINCE_SHARE = 50


def _reporter(ctx: DemoContext, name: str, people: int) -> Callable[[int], None]:
    step = max(10_000, people // 10)
    shown = [0]

    def progress(done: int) -> None:
        if done - shown[0] >= step:
            shown[0] = done
            ctx.out(f"registry {name}: {done:,} citizens…")

    return progress


@demo_step("registry")
def load_registry(ctx: DemoContext) -> None:
    places = [
        (ctx.units["province"], ctx.people),
        (ctx.units["second_province"], max(1_000, ctx.people // SECOND_PROVINCE_SHARE)),
    ]
    for province, people in places:
        if people <= 0:
            continue
        start = time.perf_counter()
        counts = population_generate(
            province=province,
            people=people,
            seed=SEED,
            progress=_reporter(ctx, province.name, people),
        )
        if counts.get("skipped"):
            ctx.out(f"registry {province.name}: already loaded (seed {SEED})")
            continue
        ctx.out(
            f"registry {province.name}: {counts['citizens']:,} citizens, "
            f"{counts['households']:,} households, {counts['documents']:,} documents "
            f"in {time.perf_counter() - start:.1f} s"
        )
