"""Data-quality rules: each finds exactly what was planted, and a run stays in its subtree."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.registry import idnumber
from cancuoc.registry.models import (
    Citizen,
    DocumentKind,
    DocumentStatus,
    Household,
    IdentityDocument,
    LifeStatus,
    QualityFinding,
    QualityRun,
    Relationship,
)
from cancuoc.registry.quality import (
    RULE_CODES,
    _id_fast_ok,
    _known_prefixes_cached,
    finding_detail_display,
    id_rule_codes,
    quality_run_start,
)
from tests import factories

ORIGIN = "Xã Thạch Hà, Hà Tĩnh"


def person(unit, name="Nguyễn Văn An", born=dt.date(1990, 5, 17), sex="M", **fields):
    fields.setdefault("place_of_origin", ORIGIN)
    fields.setdefault("phone", "0912345678")
    return factories.citizen(unit=unit, full_name=name, birth_date=born, sex=sex, **fields)


def document(citizen, kind=DocumentKind.CCCD_CHIP, status=DocumentStatus.VALID, **fields):
    fields.setdefault("issue_date", dt.date(2021, 3, 1))
    return IdentityDocument.objects.create(
        citizen=citizen,
        province_code=citizen.province_code,
        kind=kind,
        number=fields.pop(
            "number",
            citizen.id_number if kind != DocumentKind.CMND9 else "18" + citizen.id_number[-7:],
        ),
        status=status,
        **fields,
    )


def household(unit, number, members):
    """members: list of (citizen, relationship); the first head becomes the FK head."""
    home = Household.objects.create(
        province_code=unit.province_code, number=number, unit=unit, unit_path=unit.path
    )
    heads = [c for c, rel in members if rel == Relationship.HEAD]
    for citizen, rel in members:
        citizen.household = home
        citizen.relationship = rel
        citizen.save(update_fields=["household", "relationship"])
    if heads:
        home.head = heads[0]
        home.save(update_fields=["head"])
    return home


def plant(unit, tag):
    """One problem per rule in ``unit``, plus near misses that must not be found.

    Returns {rule: {label}} of what must be found; labels are full names or household numbers.
    """
    p = f"{tag} "
    expected: dict[str, set[str]] = {code: set() for code in RULE_CODES}
    # Clean people (near misses for several rules).
    clean = person(unit, p + "Sạch Một")
    person(unit, p + "Trùng Tên", born=dt.date(1985, 1, 2), place_of_origin="Nơi khác")
    person(unit, p + "Trùng Tên", born=dt.date(1985, 1, 2))  # different origin: not a duplicate
    person(
        unit, p + "Số Nước Ngoài", id_number=idnumber.generate("101", "male", 1990, 77 + len(tag))
    )
    # ID rules.
    person(unit, p + "Sai Định Dạng", id_number=f"04209{len(tag)}12345")  # 11 digits
    expected["id_malformed"].add(p + "Sai Định Dạng")
    person(unit, p + "Mã Lạ", id_number=f"099090{900000 + len(tag)}")
    expected["id_unknown_prefix"].add(p + "Mã Lạ")
    person(unit, p + "Sai Giới", sex="F", id_number=f"042090{910000 + len(tag)}")
    expected["id_sex_mismatch"].add(p + "Sai Giới")
    person(unit, p + "Sai Năm", id_number=f"042091{920000 + len(tag)}")
    expected["id_year_mismatch"].add(p + "Sai Năm")
    # Duplicates: same folded name, birth date, origin; the second spelt without diacritics.
    person(unit, p + "Lê Thị Hằng", born=dt.date(1970, 2, 3), sex="F")
    person(unit, p.lower() + "le thi hang", born=dt.date(1970, 2, 3), sex="F")
    person(unit, p.upper() + "LÊ THỊ HẰNG", born=dt.date(1970, 2, 3), sex="F")
    # The earliest record stands; the later ones are its likely duplicates.
    expected["duplicate_person"] |= {p.lower() + "le thi hang", p.upper() + "LÊ THỊ HẰNG"}
    # Impossible dates.
    person(
        unit, p + "Sinh Tương Lai", born=dt.date(2099, 1, 1), id_number=f"042299{930000 + len(tag)}"
    )
    dead_early = person(
        unit, p + "Mất Trước Sinh", life_status=LifeStatus.DECEASED, death_date=dt.date(1980, 1, 1)
    )
    early_doc = person(unit, p + "Cấp Trước Sinh")
    document(early_doc, issue_date=dt.date(1989, 1, 1))
    expected["impossible_date"] |= {
        p + "Sinh Tương Lai",
        p + "Mất Trước Sinh",
        p + "Cấp Trước Sinh",
    }
    # Missing required.
    person(unit, p + "Thiếu Quê", place_of_origin="")
    expected["missing_required"].add(p + "Thiếu Quê")
    # Deceased with a valid card; a deceased whose card was cancelled is fine.
    gone = person(
        unit, p + "Đã Mất Còn Thẻ", life_status=LifeStatus.DECEASED, death_date=dt.date(2024, 1, 1)
    )
    document(gone)
    expected["deceased_with_valid_card"].add(p + "Đã Mất Còn Thẻ")
    gone_ok = person(
        unit, p + "Đã Mất Hủy Thẻ", life_status=LifeStatus.DECEASED, death_date=dt.date(2024, 1, 1)
    )
    document(gone_ok, status=DocumentStatus.CANCELLED)
    document(dead_early, status=DocumentStatus.EXPIRED)
    # CMND9 only; CMND9 plus a chip card is fine.
    only9 = person(unit, p + "Chỉ CMND")
    document(only9, kind=DocumentKind.CMND9, issue_date=dt.date(2005, 1, 1))
    expected["cmnd9_only"].add(p + "Chỉ CMND")
    both = person(unit, p + "CMND Và CCCD")
    document(both, kind=DocumentKind.CMND9, issue_date=dt.date(2005, 1, 1))
    document(both)
    # Phone.
    person(unit, p + "Sai Số Điện Thoại", phone="091234567")
    person(unit, p + "Không Điện Thoại", phone="")
    expected["phone_invalid"].add(p + "Sai Số Điện Thoại")
    # Households: one good, one headless, one with two heads.
    spouse = person(unit, p + "Vợ", sex="F")
    household(unit, f"{tag}-H1", [(clean, Relationship.HEAD), (spouse, Relationship.SPOUSE)])
    child = person(unit, p + "Con", born=dt.date(2012, 1, 1))
    household(unit, f"{tag}-H2", [(child, Relationship.CHILD)])
    expected["household_without_head"].add(f"{tag}-H2")
    h1, h2 = person(unit, p + "Chủ Một"), person(unit, p + "Chủ Hai")
    household(unit, f"{tag}-H3", [(h1, Relationship.HEAD), (h2, Relationship.HEAD)])
    expected["household_several_heads"].add(f"{tag}-H3")
    return expected


def labels(run):
    found: dict[str, set[str]] = {code: set() for code in RULE_CODES}
    for finding in QualityFinding.objects.filter(run=run).select_related("citizen", "household"):
        label = finding.citizen.full_name if finding.citizen else finding.household.number
        found[finding.rule].add(label)
    return found


def start(actor, unit, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = quality_run_start(actor=actor, unit_id=unit.pk)
    run.refresh_from_db()
    return run


@pytest.fixture
def planted(world):
    return {
        "a": plant(world.commune_a, "A"),
        "b": plant(world.commune_b, "BB"),
        "c": plant(world.commune_c, "CCC"),
    }


def merged(*parts):
    return {code: set().union(*(part[code] for part in parts)) for code in RULE_CODES}


def test_each_rule_finds_exactly_the_planted_records(
    planted, hana, django_capture_on_commit_callbacks
):
    run = start(hana, hana.unit, django_capture_on_commit_callbacks)
    expected = merged(planted["a"], planted["b"])
    assert run.status == QualityRun.Status.DONE
    assert labels(run) == expected
    assert run.counts == {code: len(expected[code]) for code in RULE_CODES}
    assert run.counts["duplicate_person"] == 4 and run.counts["impossible_date"] == 6


def test_a_commune_run_covers_only_the_commune(planted, alice, django_capture_on_commit_callbacks):
    run = start(alice, alice.unit, django_capture_on_commit_callbacks)
    assert labels(run) == planted["a"]
    assert set(QualityFinding.objects.filter(run=run).values_list("unit_path", flat=True)) == {
        alice.unit.path
    }


def test_details_are_compact_and_display_in_words(
    planted, alice, django_capture_on_commit_callbacks
):
    run = start(alice, alice.unit, django_capture_on_commit_callbacks)
    details = {
        f.citizen.full_name: (f.rule, f.detail)
        for f in QualityFinding.objects.filter(run=run, citizen__isnull=False).select_related(
            "citizen"
        )
        if f.rule != "duplicate_person"
    }
    first, second, third = Citizen.objects.filter(search_name="a le thi hang").order_by("id")
    duplicates = QualityFinding.objects.filter(run=run, rule="duplicate_person")
    assert {(f.citizen_id, f.detail) for f in duplicates} == {
        (second.pk, f"others={first.id_number},{third.id_number}"),
        (third.pk, f"others={first.id_number},{second.id_number}"),
    }
    assert details["A Sai Giới"] == ("id_sex_mismatch", "id=M;record=F")
    assert details["A Sai Năm"] == ("id_year_mismatch", "id=1991;record=1990")
    assert details["A Mã Lạ"] == ("id_unknown_prefix", "prefix=099")
    assert details["A Thiếu Quê"] == ("missing_required", "fields=place_of_origin")
    assert details["A Cấp Trước Sinh"] == ("impossible_date", "problems=document_before_birth")
    assert details["A Sai Số Điện Thoại"] == ("phone_invalid", "phone=091234567")
    assert finding_detail_display("id_sex_mismatch", "id=M;record=F") == (
        "Số định danh ghi nam, hồ sơ ghi nữ"
    )
    assert finding_detail_display("missing_required", "fields=sex,place_of_origin") == (
        "Thiếu: giới tính, quê quán"
    )


def test_a_new_run_replaces_the_units_previous_findings(
    planted, alice, hana, django_capture_on_commit_callbacks
):
    first = start(alice, alice.unit, django_capture_on_commit_callbacks)
    province = start(hana, hana.unit, django_capture_on_commit_callbacks)
    second = start(alice, alice.unit, django_capture_on_commit_callbacks)
    assert not QualityFinding.objects.filter(run=first).exists()
    # Another unit's run is not touched by the commune's recomputation.
    assert QualityFinding.objects.filter(run=province).count() == sum(province.counts.values())
    assert QualityFinding.objects.filter(run=second).count() == sum(second.counts.values())
    assert QualityRun.objects.get(pk=first.pk).counts == second.counts


def test_only_managers_in_scope_may_recompute(world, alice, bob, carl):
    with pytest.raises(PermissionDenied):
        quality_run_start(actor=bob, unit_id=world.commune_b.pk)
    with pytest.raises(OutOfScope):
        quality_run_start(actor=alice, unit_id=world.commune_b.pk)
    with pytest.raises(OutOfScope):
        quality_run_start(actor=carl, unit_id=world.hatinh.pk)
    assert QualityRun.objects.count() == 0
    assert AuditEntry.objects.filter(action="quality.start").count() == 0


def test_a_run_in_progress_blocks_another(world, alice):
    QualityRun.objects.create(unit=world.commune_a, unit_path=world.commune_a.path)
    with pytest.raises(DomainError):
        quality_run_start(actor=alice, unit_id=world.commune_a.pk)
    assert QualityRun.objects.count() == 1


def test_the_start_is_audited(world, alice, django_capture_on_commit_callbacks):
    run = start(alice, alice.unit, django_capture_on_commit_callbacks)
    entry = AuditEntry.objects.get(action="quality.start")
    assert (entry.actor, entry.object_id, entry.unit_path) == (alice, str(run.pk), alice.unit.path)


# --- The pure ID rule ---------------------------------------------------------------------

_RULE_OF_ISSUE = {
    "format": "id_malformed",
    "unknown_prefix": "id_unknown_prefix",
    "sex_mismatch": "id_sex_mismatch",
    "birth_year_mismatch": "id_year_mismatch",
}


@given(
    number=st.one_of(
        st.text(alphabet="0123456789", min_size=10, max_size=13),
        st.from_regex(r"\A(0[0-9]{2}|[12][0-9]{2})[0-9]{9}\Z"),
    ),
    sex=st.sampled_from(["M", "F", ""]),
    birth_year=st.one_of(st.none(), st.integers(1890, 2110)),
)
def test_id_rules_agree_with_idnumber_validate(number, sex, birth_year):
    expected = [
        _RULE_OF_ISSUE[issue.code]
        for issue in idnumber.validate(
            number,
            birth_year=birth_year,
            sex={"M": "male", "F": "female"}.get(sex),
            on=dt.date(9999, 1, 1),
        )
        if issue.code in _RULE_OF_ISSUE
    ]
    assert [rule for rule, _detail in id_rule_codes(number, sex=sex, birth_year=birth_year)] == (
        expected
    )
    assert _id_fast_ok(number, sex, birth_year, _known_prefixes_cached()) == (not expected)


def test_a_failed_run_keeps_the_previous_findings(
    planted, alice, monkeypatch, django_capture_on_commit_callbacks
):
    from cancuoc.registry import quality

    good = start(alice, alice.unit, django_capture_on_commit_callbacks)

    def broken(path, *, today):
        raise RuntimeError("database went away")
        yield

    monkeypatch.setattr(quality, "RULE_FUNCTIONS", (*quality.RULE_FUNCTIONS, broken))
    failed = start(alice, alice.unit, django_capture_on_commit_callbacks)
    assert failed.status == QualityRun.Status.FAILED and failed.counts == {}
    assert not QualityFinding.objects.filter(run=failed).exists()
    assert QualityFinding.objects.filter(run=good).count() == sum(good.counts.values())
