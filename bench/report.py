"""Timing helpers and the docs/benchmarks.md writer."""

from __future__ import annotations

import datetime as dt
import platform
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def timed(fn: Callable[[], object], *, repeat: int = 20) -> dict[str, float]:
    """Median and p95 wall time in milliseconds over `repeat` runs, after one warm-up."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[int(0.95 * (len(samples) - 1))]}


def machine() -> str:
    from django.db import connection

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{connection.vendor} {version}"
    )


def record(name: str, rows: list[tuple[str, str, str]]) -> None:
    """Replace this benchmark's section for this database vendor in docs/benchmarks.md."""
    from django.db import connection

    heading = f"## {name} — {connection.vendor}"
    lines = [
        heading,
        "",
        f"Run on {dt.date.today().isoformat()}: {machine()}.",
        "",
        "| measure | result | baseline (same run) |",
        "|---|---|---|",
    ]
    lines += [f"| {what} | {result} | {baseline} |" for what, result, baseline in rows]
    section = "\n".join(lines) + "\n"
    print(section)
    text = (
        DOC.read_text()
        if DOC.exists()
        else (
            "# Benchmarks\n\nFigures written by `make bench`; each section is replaced by its "
            "latest run.\n\n"
        )
    )
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text + section + "\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)
