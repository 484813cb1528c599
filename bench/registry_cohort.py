"""Cohort: who is due for a card in a province of 1.1 million people, against a naive baseline.

- Set-based: one grouped SQL statement reduces each citizen to a small key; the legal rules
  run once per distinct key (registry/cohort.py).
- Naive baseline: each citizen and their documents through the ORM, the pure rules applied
  per citizen in Python; timed on a sample and extrapolated to the province.
- A list page (50 citizens of one bucket) with the codes the page's counts found: a large
  list walks the citizens in list order and stops when the page is full; a rare one reads
  the subtree once. Baseline: the whole list read and the page cut out of it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time

from django.db import connection

from bench.report import timed
from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.core.scoping import prefix_q
from cancuoc.registry import cohort_rules as rules
from cancuoc.registry.cohort import cohort_counts, cohort_list
from cancuoc.registry.models import Citizen
from cancuoc.registry.population import population_generate
from cancuoc.units.importers import units_import
from cancuoc.units.models import Unit

ON_2023 = dt.date(2026, 7, 1)
ON_2014 = dt.date(2021, 6, 1)
SAMPLE = 20_000


def _naive(province: Unit, on: dt.date, limit: int) -> tuple[int, float]:
    day = rules.ymd(on)
    regime = rules.regime_on(on)
    start = time.perf_counter()
    seen = 0
    citizens = (
        Citizen.objects.filter(prefix_q("unit_path", province.path))
        .order_by("id")
        .prefetch_related("documents")[:limit]
    )
    for c in citizens:
        birth = c.birth_date
        person = rules.Person(
            birth=rules.ymd(birth) if birth else None,
            deceased=c.life_status == "deceased",
            death=rules.ymd(c.death_date) if c.death_date else None,
            documents=tuple(
                rules.Card(
                    kind=d.kind,
                    status=d.status,
                    issued=rules.ymd(d.issue_date) if d.issue_date else None,
                    expires=rules.ymd(d.expiry_date) if d.expiry_date else None,
                )
                for d in c.documents.all()
            ),
        )
        rules.evaluate_key(rules.cohort_key(person, day), regime, day)
        seen += 1
    return seen, time.perf_counter() - start


def run(*, people: int, **_scale: int) -> list[tuple[str, str, str]]:
    units_import(edition="2025")
    province = Unit.objects.get(edition="2025", code="42")
    rows: list[tuple[str, str, str]] = []
    start = time.perf_counter()
    counts = population_generate(province=province, people=people, seed=42)
    if not counts.get("skipped"):
        took = time.perf_counter() - start
        rows.append(
            (
                f"generate {counts['citizens']:,} citizens, {counts['households']:,} households, "
                f"{counts['documents']:,} documents",
                f"{took:.0f} s ({counts['citizens'] / took:,.0f} citizens/s)",
                "—",
            )
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    manager, _ = User.objects.get_or_create(
        username="bench.cohort.42", defaults={"role": Role.PROVINCE_MANAGER, "unit": province}
    )
    total = Citizen.objects.filter(prefix_q("unit_path", province.path)).count()
    for on in (ON_2023, ON_2014):
        result = cohort_counts(user=manager, unit=province, on=on)
        assert result.tally.total > 0, "empty benchmark"
        fast = timed(lambda on=on: cohort_counts(user=manager, unit=province, on=on), repeat=3)
        seen, took = _naive(province, on, SAMPLE)
        estimate = took / seen * total
        t = result.tally
        rows.append(
            (
                f"cohort of Hà Tĩnh ({total:,} citizens) on {on:%d/%m/%Y} "
                f"({result.regime.code}: must {t.buckets.get('must', 0):,}, "
                f"may {t.buckets.get('may', 0):,}), p50",
                f"{fast['p50'] / 1000:.2f} s (load {os.getloadavg()[0]:.1f})",
                f"≈ {estimate:.0f} s per citizen through the ORM ({seen:,} timed: {took:.1f} s)",
            )
        )
    rows.extend(_pages(manager, province))
    return rows


def _pages(manager: User, province: Unit) -> list[tuple[str, str, str]]:
    counts = cohort_counts(user=manager, unit=province, on=ON_2023)

    def page(bucket: str, reason: str, number: int) -> float:
        def run() -> None:
            rows = cohort_list(
                user=manager, unit=province, on=ON_2023, bucket=bucket, reason=reason,
                offset=(number - 1) * 50, limit=51, codes=counts.codes,
            )  # fmt: skip
            assert len(list(rows)) == 51

        return timed(run, repeat=3)["p50"]

    def whole(bucket: str) -> float:
        def run() -> None:
            rows = cohort_list(user=manager, unit=province, on=ON_2023, bucket=bucket)
            assert len(list(itertools.islice(rows, 0, 51))) == 51

        return timed(run, repeat=1)["p50"]

    rare = counts.tally.reasons.get("must:card_expired", 0)
    load = f"load {os.getloadavg()[0]:.1f}"
    baseline = f"{whole('must') / 1000:.2f} s reading the whole list ({load})"
    return [
        (
            f"list page of 50 on {ON_2023:%d/%m/%Y}, {label}, p50",
            f"{page(bucket, reason, number) / 1000:.2f} s",
            baseline,
        )
        for label, bucket, reason, number in (
            ("must, page 1", "must", "", 1),
            ("must, page 100", "must", "", 100),
            ("excluded (1 % of people), page 1", "excluded", "", 1),
            (f"must: card expired ({rare:,} people), page 1", "must", "card_expired", 1),
        )
    ]
