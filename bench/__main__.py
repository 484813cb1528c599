"""Run the benchmarks and record their figures in docs/benchmarks.md.

    make bench                       # SQLite at var/bench.sqlite3
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cancuoc_bench make bench

The benchmark database is separate from the working one and is reused between runs.
"""

import argparse
import importlib
import os
import sys

from bench import report

# Each name is a module bench/<name>.py with `run(**scale) -> rows`.
SUITES = [
    "foundation",
    "registry_import",
    "registry_search",
    "registry_cohort",
    "dossiers_timeliness",
    "campaigns",
    "enrolment",
]


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=1_100_000, help="citizens in a province")
    parser.add_argument("--dossiers", type=int, default=10_000_000, help="dossiers in a year")
    args = parser.parse_args()

    os.environ.setdefault("DEBUG", "1")
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["CANCUOC_DATA_DIR"] = os.environ.get("CANCUOC_BENCH_DIR", "var/bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "cancuoc.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    chosen = args.names or SUITES
    for name in chosen:
        if name not in SUITES:
            sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(SUITES)}")
        suite = importlib.import_module(f"bench.{name}")
        # Every suite takes the scale options as keywords and ignores the ones it has no use for.
        table = suite.run(events=args.events, people=args.people, dossiers=args.dossiers)
        report.record(name, table)


if __name__ == "__main__":
    main()
