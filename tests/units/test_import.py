"""The administrative-unit importers: counts, paths, successions, idempotency."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cancuoc.core.text import fold
from cancuoc.units.importers import units_import
from cancuoc.units.models import Unit, UnitSuccession

PROVINCES_2025 = 34
COMMUNES_2025 = 3321
PROVINCES_2021 = 63
DISTRICTS_2021 = 696
COMMUNES_2021 = 10051

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[list[tuple], list[tuple]]:
    units = list(
        Unit.objects.order_by("pk").values_list(
            "pk",
            "edition",
            "code",
            "name",
            "search_name",
            "unit_type",
            "level",
            "parent_id",
            "path",
            "province_code",
            "valid_from",
            "valid_to",
        )
    )
    successions = list(
        UnitSuccession.objects.order_by("pk").values_list(
            "pk", "predecessor_id", "successor_id", "effective"
        )
    )
    return units, successions


def _portable_snapshot() -> tuple[set[tuple], set[tuple]]:
    """Like _snapshot but independent of primary keys (for comparing import orders)."""
    units = set(
        Unit.objects.values_list(
            "edition",
            "code",
            "name",
            "search_name",
            "unit_type",
            "level",
            "parent__path",
            "path",
            "province_code",
            "valid_from",
            "valid_to",
        )
    )
    successions = set(
        UnitSuccession.objects.values_list("predecessor__path", "successor__path", "effective")
    )
    return units, successions


def _clear_units() -> None:
    UnitSuccession.objects.all().delete()
    for level in (3, 2, 1, 0):  # parents are PROTECTed: delete children first
        Unit.objects.filter(level=level).delete()


@pytest.fixture(scope="module")
def first_import(django_db_setup, django_db_blocker):
    """Import 2021 then 2025 once for the whole module; remove them afterwards."""
    with django_db_blocker.unblock():
        result = {
            "2021": units_import(edition="2021"),
            "2025": units_import(edition="2025"),
        }
    yield result
    with django_db_blocker.unblock():
        _clear_units()


def test_first_import_counts(first_import):
    r2021, r2025 = first_import["2021"], first_import["2025"]
    assert r2021["created"] == PROVINCES_2021 + DISTRICTS_2021 + COMMUNES_2021
    assert r2021["updated"] == r2021["unchanged"] == 0
    assert r2021["nation_root"] == "created"
    # 2025 came second: the root already existed and the successions appear now.
    assert r2025["created"] == PROVINCES_2025 + COMMUNES_2025
    assert r2025["updated"] == r2025["unchanged"] == 0
    assert r2025["nation_root"] == "unchanged"
    assert r2021["successions_created"] == 0
    assert r2025["successions_created"] == PROVINCES_2021


def test_2025_set(first_import):
    units = Unit.objects.filter(edition="2025")
    assert units.filter(level=1).count() == PROVINCES_2025
    assert units.filter(level=2).count() == 0
    assert units.filter(level=3).count() == COMMUNES_2025
    assert not units.filter(valid_to__isnull=False).exists()
    assert not units.exclude(valid_from="2025-07-01").exists()


def test_2021_set(first_import):
    units = Unit.objects.filter(edition="2021")
    assert units.filter(level=1).count() == PROVINCES_2021
    assert units.filter(level=2).count() == DISTRICTS_2021
    assert units.filter(level=3).count() == COMMUNES_2021
    assert not units.filter(valid_from__isnull=False).exists()
    assert not units.exclude(valid_to="2025-06-30").exists()


def test_nation_root_holds_both_sets(first_import):
    root = Unit.objects.get(edition="", code="VN")
    assert (root.path, root.level, root.unit_type, root.name) == ("/", 0, "nation", "Việt Nam")
    assert root.search_name == "viet nam"
    assert root.parent_id is None
    assert Unit.objects.filter(level=1, parent=root).count() == PROVINCES_2021 + PROVINCES_2025
    assert Unit.objects.count() == (
        1 + PROVINCES_2021 + DISTRICTS_2021 + COMMUNES_2021 + PROVINCES_2025 + COMMUNES_2025
    )


def test_paths_and_province_codes_2025(first_import):
    ha_tinh = Unit.objects.get(edition="2025", code="42")
    assert ha_tinh.name == "Tỉnh Hà Tĩnh"
    assert ha_tinh.unit_type == "province"
    assert (ha_tinh.path, ha_tinh.province_code, ha_tinh.level) == ("/2025/42/", "42", 1)
    hanoi = Unit.objects.get(edition="2025", code="01")
    assert (hanoi.name, hanoi.unit_type, hanoi.path) == ("Thành phố Hà Nội", "city", "/2025/01/")

    ward = Unit.objects.get(edition="2025", code="18073")
    assert ward.name == "Phường Thành Sen"
    assert (ward.path, ward.province_code, ward.parent_id) == ("/2025/42/18073/", "42", ha_tinh.pk)
    assert ward.unit_type == "ward"
    assert Unit.objects.get(edition="2025", code="00004").path == "/2025/01/00004/"
    assert Unit.objects.filter(edition="2025", unit_type="special_zone").count() == 13
    assert (
        Unit.objects.filter(path__startswith="/2025/42/").count()
        == 1 + Unit.objects.filter(edition="2025", level=3, province_code="42").count()
    )


def test_paths_and_province_codes_2021(first_import):
    province = Unit.objects.get(edition="2021", code="42")
    assert (province.name, province.path, province.province_code) == (
        "Tỉnh Hà Tĩnh",
        "/2021/42/",
        "42",
    )
    district = Unit.objects.get(edition="2021", code="436")
    assert (district.name, district.unit_type) == ("Thành phố Hà Tĩnh", "provincial_city")
    assert (district.path, district.province_code, district.parent_id) == (
        "/2021/42/436/",
        "42",
        province.pk,
    )
    commune = Unit.objects.get(edition="2021", code="18073")
    assert (commune.name, commune.unit_type) == ("Phường Nam Hà", "ward")
    assert (commune.path, commune.province_code, commune.parent_id) == (
        "/2021/42/436/18073/",
        "42",
        district.pk,
    )
    assert Unit.objects.get(edition="2021", code="001").path == "/2021/01/001/"
    # Every 2021 commune sits under a district of its own province.
    assert (
        not Unit.objects.filter(edition="2021", level=3)
        .exclude(path__regex=r"^/2021/[0-9]{2}/[0-9]{3}/[0-9]{5}/$")
        .exists()
    )


def test_unit_types(first_import):
    types_2021 = set(
        Unit.objects.filter(edition="2021").values_list("level", "unit_type").distinct()
    )
    assert types_2021 == {
        (1, "province"),
        (1, "city"),
        (2, "urban_district"),
        (2, "rural_district"),
        (2, "town"),
        (2, "provincial_city"),
        (3, "commune"),
        (3, "ward"),
        (3, "township"),
    }
    types_2025 = set(
        Unit.objects.filter(edition="2025").values_list("level", "unit_type").distinct()
    )
    assert types_2025 == {
        (1, "province"),
        (1, "city"),
        (3, "commune"),
        (3, "ward"),
        (3, "special_zone"),
    }


def test_search_name_is_folded(first_import):
    unit = Unit.objects.get(edition="2025", code="00004")
    assert unit.name == "Phường Ba Đình"
    assert unit.search_name == "phuong ba dinh"
    assert Unit.objects.get(edition="2021", code="36").search_name == "tinh nam dinh"
    for name, search_name in Unit.objects.values_list("name", "search_name"):
        assert search_name == fold(name)
        # No letter with a diacritic survives (punctuation such as ’ or – may).
        assert not any(ch.isalpha() and not ch.isascii() for ch in search_name), name


def test_successions(first_import):
    assert UnitSuccession.objects.count() == PROVINCES_2021
    nam_dinh = Unit.objects.get(edition="2021", code="36")
    assert [s.successor.path for s in nam_dinh.successions.all()] == ["/2025/37/"]
    ha_tinh = Unit.objects.get(edition="2021", code="42")
    succession = ha_tinh.successions.get()
    assert succession.successor.path == "/2025/42/"
    assert str(succession.effective) == "2025-07-01"
    # Every 2021 province has exactly one successor; every 2025 province has a predecessor.
    assert not Unit.objects.filter(edition="2021", level=1, successions__isnull=True).exists()
    assert UnitSuccession.objects.values("successor").distinct().count() == PROVINCES_2025
    ninh_binh = Unit.objects.get(edition="2025", code="37")
    assert sorted(ninh_binh.predecessions.values_list("predecessor__code", flat=True)) == [
        "35",
        "36",
        "37",
    ]


def test_reimport_changes_nothing(first_import):
    before = _snapshot()
    for edition in ("2025", "2021"):
        result = units_import(edition=edition)
        assert result["created"] == 0
        assert result["updated"] == 0
        assert result["stale"] == 0
        assert result["successions_created"] == result["successions_updated"] == 0
        assert result["nation_root"] == "unchanged"
    assert result["unchanged"] == PROVINCES_2021 + DISTRICTS_2021 + COMMUNES_2021
    assert _snapshot() == before


def test_reimport_repairs_a_changed_row(first_import):
    Unit.objects.filter(edition="2025", code="42").update(name="Hà Tĩnh", search_name="x")
    result = units_import(edition="2025")
    assert (result["created"], result["updated"]) == (0, 1)
    unit = Unit.objects.get(edition="2025", code="42")
    assert (unit.name, unit.search_name) == ("Tỉnh Hà Tĩnh", "tinh ha tinh")


def test_command_prints_json_summary(first_import):
    out = io.StringIO()
    call_command("import-units", "--set", "2025", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["edition"] == "2025"
    assert (summary["created"], summary["updated"]) == (0, 0)
    assert summary["unchanged"] == PROVINCES_2025 + COMMUNES_2025


def test_command_rejects_unknown_set():
    with pytest.raises(CommandError):
        call_command("import-units", "--set", "2019")


def test_import_order_does_not_matter(first_import):
    """2025 then 2021 ends in the same state as 2021 then 2025 (rolled back afterwards)."""
    expected = _portable_snapshot()
    _clear_units()
    first = units_import(edition="2025")
    assert first["successions_created"] == 0
    second = units_import(edition="2021")
    assert second["successions_created"] == PROVINCES_2021
    assert _portable_snapshot() == expected
