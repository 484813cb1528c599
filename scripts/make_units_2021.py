"""Regenerate src/cancuoc/units/data/units_2021.tsv (the pre-2025 three-level set).

The project depends on vietnam-provinces >= 2025.10, which only carries the
2025 two-level set. The last release with the 2021 set (province → district →
commune, valid until 2025-06-30) is 0.6.0, so this script runs in a throwaway
virtual environment that has exactly that version and writes a compact TSV
that ships with the package. Re-run it only if that data ever needs fixing:

    python3.11 -m venv /tmp/vp6
    /tmp/vp6/bin/pip install vietnam-provinces==0.6.0
    /tmp/vp6/bin/python scripts/make_units_2021.py    # from the repository root

Output columns (tab-separated, with a header): level (1/2/3), code, name,
parent_code, unit_type. Codes are written without zero padding; the importer
pads them (province 2 digits, district 3, commune 5). unit_type is our
`UnitType` value, derived from the name's prefix because the 0.6.0 data's
`division_type` field does not distinguish them.

The script uses only the standard library and does not import Django or the
project, so it runs in the bare throwaway venv.
"""

import csv
import importlib.metadata
import importlib.resources
import json
import sys
import unicodedata
from pathlib import Path

EXPECTED_VERSION = "0.6.0"
OUTPUT = Path(__file__).resolve().parent.parent / "src/cancuoc/units/data/units_2021.tsv"

# (prefix, unit_type), longest prefixes first where they overlap.
PROVINCE_PREFIXES = [("Thành phố ", "city"), ("Tỉnh ", "province")]
DISTRICT_PREFIXES = [
    ("Quận ", "urban_district"),
    ("Huyện ", "rural_district"),
    ("Thị xã ", "town"),
    ("Thành phố ", "provincial_city"),
]
COMMUNE_PREFIXES = [("Xã ", "commune"), ("Phường ", "ward"), ("Thị trấn ", "township")]


def clean(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def classify(name: str, prefixes: list[tuple[str, str]]) -> tuple[str, str]:
    """Return (name with a canonically-cased prefix, unit_type).

    The source spells two district names "Thành Phố …"; the prefix is matched
    case-insensitively and rewritten in its usual case.
    """
    for prefix, unit_type in prefixes:
        if name.casefold().startswith(prefix.casefold()):
            return prefix + name[len(prefix) :], unit_type
    raise SystemExit(f"no known type prefix in {name!r}")


def main() -> int:
    version = importlib.metadata.version("vietnam-provinces")
    if version != EXPECTED_VERSION:
        print(
            f"vietnam-provinces {version} is installed; this script needs {EXPECTED_VERSION}",
            file=sys.stderr,
        )
        return 1
    source = importlib.resources.files("vietnam_provinces") / "data" / "nested-divisions.json"
    provinces = json.loads(source.read_text(encoding="utf-8"))

    rows: list[tuple[int, int, str, int | str, str]] = []
    for province in provinces:
        name, unit_type = classify(clean(province["name"]), PROVINCE_PREFIXES)
        rows.append((1, province["code"], name, "", unit_type))
        for district in province["districts"]:
            name, unit_type = classify(clean(district["name"]), DISTRICT_PREFIXES)
            rows.append((2, district["code"], name, province["code"], unit_type))
            for commune in district["wards"]:
                name, unit_type = classify(clean(commune["name"]), COMMUNE_PREFIXES)
                rows.append((3, commune["code"], name, district["code"], unit_type))

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["level", "code", "name", "parent_code", "unit_type"])
        writer.writerows(rows)

    counts = {level: sum(1 for row in rows if row[0] == level) for level in (1, 2, 3)}
    print(f"wrote {OUTPUT}: {counts[1]} provinces, {counts[2]} districts, {counts[3]} communes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
