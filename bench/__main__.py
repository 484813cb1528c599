"""Run the benchmarks and record their figures in docs/benchmarks.md.

    make bench                       # SQLite at var/bench.sqlite3
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cancuoc_bench make bench

The benchmark database is separate from the working one and is reused between runs.
"""

import argparse
import os
import sys

from bench import report


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--events", type=int, default=1_000_000)
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
    from bench import foundation

    suites = {"foundation": foundation.run}
    chosen = args.names or list(suites)
    for name in chosen:
        if name not in suites:
            sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(suites)}")
        table = suites[name](events=args.events)
        report.record(name, table)


if __name__ == "__main__":
    main()
