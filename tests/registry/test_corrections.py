"""Corrections: maker-checker, scope, staleness, exact effects, history and audit."""

from __future__ import annotations

import datetime as dt

import pytest

from cancuoc.accounts.roles import Role
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.registry import services
from cancuoc.registry.corrections import (
    citizen_corrections,
    corrections_mine,
    corrections_pending_for_approval,
)
from cancuoc.registry.models import (
    Citizen,
    Correction,
    DocumentKind,
    DocumentStatus,
    FormerNumber,
    IdentityDocument,
    LifeStatus,
)
from cancuoc.registry.services import (
    StaleCorrection,
    correction_approve,
    correction_propose,
    correction_reject,
    correction_withdraw,
)
from tests import factories

BORN = dt.date(1990, 5, 17)


@pytest.fixture
def dan(world):
    """A clerk of commune A: proposes, never approves."""
    return factories.user(unit=world.commune_a, role=Role.ONE_STOP_CLERK, username="dan")


@pytest.fixture
def an(world):
    return factories.citizen(
        unit=world.commune_a,
        full_name="Nguyễn Văn An",
        birth_date=BORN,
        place_of_origin="Thạch Hà",
        id_number="042090123456",
    )


def snapshot(citizen):
    fresh = Citizen.objects.get(pk=citizen.pk)
    return {
        f.attname: getattr(fresh, f.attname)
        for f in Citizen._meta.concrete_fields
        if f.attname != "updated_at"
    }


def propose_name(actor, citizen, name="Nguyễn Văn Ánh"):
    return correction_propose(
        actor=actor,
        citizen_id=citizen.pk,
        kind=Correction.Kind.CORRECT,
        changes={"full_name": name},
        reason="Sai dấu so với giấy khai sinh",
        evidence="Bản sao giấy khai sinh số 12/1990",
    )


def test_an_approved_correction_updates_exactly_the_fields(dan, alice, an):
    before = snapshot(an)
    correction = propose_name(dan, an, name="  Nguyễn   Văn Ánh ")
    assert correction.changes == {
        "full_name": {"before": "Nguyễn Văn An", "after": "Nguyễn Văn Ánh"}
    }
    assert snapshot(an) == before  # a proposal changes nothing
    correction_approve(actor=alice, correction_id=correction.pk, note="Đúng giấy khai sinh")
    after = snapshot(an)
    assert {k for k in after if after[k] != before[k]} == {"full_name", "search_name"}
    assert (after["full_name"], after["search_name"]) == ("Nguyễn Văn Ánh", "nguyen van anh")
    correction.refresh_from_db()
    assert (correction.status, correction.decided_by, correction.decision_note) == (
        Correction.Status.APPROVED,
        alice,
        "Đúng giấy khai sinh",
    )


def test_the_audit_rows_are_exact(dan, alice, an):
    correction = propose_name(dan, an)
    correction_approve(actor=alice, correction_id=correction.pk)
    rows = list(
        AuditEntry.objects.order_by("id").values_list("action", "actor__username", "object_type")
    )
    assert rows == [
        ("correction.propose", "dan", "registry.correction"),
        ("correction.approve", "alice", "registry.correction"),
        ("citizen.correct", "alice", "registry.citizen"),
    ]
    change = AuditEntry.objects.get(action="citizen.correct")
    assert change.unit_path == an.unit_path
    assert change.detail == {
        "correction": correction.pk,
        "kind": "correct",
        "before": {"full_name": "Nguyễn Văn An"},
        "after": {"full_name": "Nguyễn Văn Ánh"},
        "documents_cancelled": [],
    }


def test_self_approval_is_denied_and_changes_nothing(alice, an):
    correction = propose_name(alice, an)
    before = snapshot(an)
    with pytest.raises(PermissionDenied) as denied:
        correction_approve(actor=alice, correction_id=correction.pk)
    assert denied.value.message == "Bạn không thể phê duyệt đề xuất của chính mình."
    with pytest.raises(PermissionDenied):
        correction_reject(actor=alice, correction_id=correction.pk, note="x")
    correction.refresh_from_db()
    assert correction.status == Correction.Status.PENDING and correction.decided_by is None
    assert snapshot(an) == before
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["correction.propose"]


def test_a_clerk_cannot_approve_and_an_inspector_cannot_propose(world, dan, an):
    other_clerk = factories.user(unit=world.commune_a, role=Role.ONE_STOP_CLERK)
    inspector = factories.user(unit=world.commune_a, role=Role.INSPECTOR)
    correction = propose_name(dan, an)
    with pytest.raises(PermissionDenied):
        correction_approve(actor=other_clerk, correction_id=correction.pk)
    with pytest.raises(PermissionDenied):
        propose_name(inspector, an)
    assert Correction.objects.count() == 1
    assert Correction.objects.get().status == Correction.Status.PENDING


def test_out_of_scope_officers_are_denied(bob, carl, dan, an):
    with pytest.raises(OutOfScope):
        propose_name(bob, an)
    correction = propose_name(dan, an)
    before = snapshot(an)
    for outsider in (carl,):
        with pytest.raises(OutOfScope):
            correction_approve(actor=outsider, correction_id=correction.pk)
        with pytest.raises(OutOfScope):
            correction_reject(actor=outsider, correction_id=correction.pk, note="no")
    with pytest.raises(OutOfScope):
        correction_withdraw(actor=bob, correction_id=correction.pk)
    assert snapshot(an) == before
    assert Correction.objects.get().status == Correction.Status.PENDING


def test_a_province_manager_may_approve_a_communes_proposal(dan, hana, an):
    correction = propose_name(dan, an)
    correction_approve(actor=hana, correction_id=correction.pk)
    assert Citizen.objects.get(pk=an.pk).full_name == "Nguyễn Văn Ánh"


def test_a_stale_correction_is_refused(dan, alice, hana, an):
    first = propose_name(dan, an, name="Nguyễn Văn Ánh")
    second = propose_name(dan, an, name="Nguyễn Văn Án")
    correction_approve(actor=alice, correction_id=second.pk)
    before = snapshot(an)
    with pytest.raises(StaleCorrection) as stale:
        correction_approve(actor=hana, correction_id=first.pk)
    assert "họ và tên" in stale.value.message
    assert snapshot(an) == before
    first.refresh_from_db()
    assert first.status == Correction.Status.PENDING


def test_changing_the_id_number_keeps_the_old_one(dan, alice, an):
    correction = correction_propose(
        actor=dan,
        citizen_id=an.pk,
        kind=Correction.Kind.CHANGE,
        changes={"id_number": "042090654321"},
        reason="Cấp lại số định danh",
    )
    correction_approve(actor=alice, correction_id=correction.pk)
    assert Citizen.objects.get(pk=an.pk).id_number == "042090654321"
    former = FormerNumber.objects.get(citizen=an)
    assert (former.number, former.reason) == ("042090123456", "Cấp lại số định danh")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id_number": "04209012345"}, "Số định danh cá nhân phải gồm đúng 12 chữ số."),
        (
            {"id_number": "042190123456"},
            "Số định danh cho giới tính nữ nhưng hồ sơ ghi nam.",
        ),
        ({"birth_date": "2999-01-01"}, "Ngày sinh phải từ năm 1900 đến hôm nay."),
        ({"birth_date": "1991-05-17"}, "Số định danh cho năm sinh 1990 nhưng hồ sơ ghi 1991."),
        ({"sex": "X"}, "Giới tính phải là nam hoặc nữ."),
        ({"phone": "12345"}, "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0."),
        ({"full_name": "Nguyễn Văn An"}, "Đề xuất không thay đổi thông tin nào."),
        ({"unit_path": "/"}, "Không thể điều chỉnh trường “unit_path” tại đây."),
        ({}, "Đề xuất không thay đổi thông tin nào."),
    ],
)
def test_invalid_changes_are_refused(dan, an, changes, message):
    with pytest.raises(DomainError) as refused:
        correction_propose(
            actor=dan, citizen_id=an.pk, kind=Correction.Kind.CORRECT, changes=changes, reason="x"
        )
    assert refused.value.message == message
    assert Correction.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_a_birth_date_and_id_corrected_together_pass(dan, alice, an):
    correction = correction_propose(
        actor=dan,
        citizen_id=an.pk,
        kind=Correction.Kind.CORRECT,
        changes={"birth_date": dt.date(1991, 5, 17), "id_number": "042091123456"},
        reason="Sai năm sinh",
    )
    correction_approve(actor=alice, correction_id=correction.pk)
    citizen = Citizen.objects.get(pk=an.pk)
    assert (citizen.birth_date, citizen.birth_year, citizen.id_number) == (
        dt.date(1991, 5, 17),
        1991,
        "042091123456",
    )


def test_an_id_number_held_by_someone_else_is_refused(world, dan, an):
    factories.citizen(unit=world.commune_c, id_number="042090999999")
    with pytest.raises(DomainError) as refused:
        correction_propose(
            actor=dan,
            citizen_id=an.pk,
            kind=Correction.Kind.CHANGE,
            changes={"id_number": "042090999999"},
            reason="x",
        )
    assert refused.value.message == "Số định danh này đã được cấp cho công dân khác."


def test_a_supplement_only_fills_empty_fields(dan, alice, an):
    with pytest.raises(DomainError):
        correction_propose(
            actor=dan,
            citizen_id=an.pk,
            kind=Correction.Kind.SUPPLEMENT,
            changes={"place_of_origin": "Cẩm Xuyên"},
            reason="x",
        )
    correction = correction_propose(
        actor=dan,
        citizen_id=an.pk,
        kind=Correction.Kind.SUPPLEMENT,
        changes={"ethnicity": "Kinh", "place_of_origin": "Thạch Hà"},
        reason="Bổ sung dân tộc",
    )
    assert correction.changes == {"ethnicity": {"before": "", "after": "Kinh"}}
    correction_approve(actor=alice, correction_id=correction.pk)
    assert Citizen.objects.get(pk=an.pk).ethnicity == "Kinh"


def test_a_death_registration_cancels_only_valid_documents(dan, alice, an):
    valid = IdentityDocument.objects.create(
        citizen=an, province_code="42", kind=DocumentKind.CCCD_CHIP, number=an.id_number
    )
    old = IdentityDocument.objects.create(
        citizen=an,
        province_code="42",
        kind=DocumentKind.CMND9,
        number="186000001",
        status=DocumentStatus.EXPIRED,
    )
    correction = correction_propose(
        actor=dan,
        citizen_id=an.pk,
        kind=Correction.Kind.DEATH,
        changes={"death_date": "2025-03-02"},
        reason="Trích lục khai tử",
        evidence="Trích lục khai tử số 5/2025",
    )
    assert correction.changes == {
        "life_status": {"before": "alive", "after": "deceased"},
        "death_date": {"before": "", "after": "2025-03-02"},
    }
    correction_approve(actor=alice, correction_id=correction.pk)
    citizen = Citizen.objects.get(pk=an.pk)
    assert (citizen.life_status, citizen.death_date) == (LifeStatus.DECEASED, dt.date(2025, 3, 2))
    assert IdentityDocument.objects.get(pk=valid.pk).status == DocumentStatus.CANCELLED
    assert IdentityDocument.objects.get(pk=old.pk).status == DocumentStatus.EXPIRED
    entry = AuditEntry.objects.get(action="citizen.correct")
    assert entry.detail["documents_cancelled"] == [an.id_number]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"death_date": "1980-01-01"}, "Ngày mất không thể trước ngày sinh."),
        ({"death_date": "2999-01-01"}, "Ngày mất không thể sau ngày hôm nay."),
        ({"death_date": ""}, "Cần ghi ngày mất."),
        (
            {"death_date": "2025-01-01", "full_name": "X"},
            "Đăng ký khai tử chỉ ghi nhận ngày mất.",
        ),
    ],
)
def test_an_impossible_death_is_refused(dan, an, changes, message):
    with pytest.raises(DomainError) as refused:
        correction_propose(
            actor=dan, citizen_id=an.pk, kind=Correction.Kind.DEATH, changes=changes, reason="x"
        )
    assert refused.value.message == message
    assert Correction.objects.count() == 0


def test_a_failure_while_applying_leaves_nothing_half_done(monkeypatch, dan, alice, an):
    IdentityDocument.objects.create(
        citizen=an, province_code="42", kind=DocumentKind.CCCD_CHIP, number=an.id_number
    )
    correction = correction_propose(
        actor=dan,
        citizen_id=an.pk,
        kind=Correction.Kind.DEATH,
        changes={"death_date": "2025-03-02"},
        reason="x",
    )
    before = snapshot(an)

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        correction_approve(actor=alice, correction_id=correction.pk)
    assert snapshot(an) == before
    assert IdentityDocument.objects.get().status == DocumentStatus.VALID
    assert Correction.objects.get().status == Correction.Status.PENDING


def test_reject_needs_a_note_and_leaves_the_record(dan, alice, an):
    correction = propose_name(dan, an)
    with pytest.raises(DomainError):
        correction_reject(actor=alice, correction_id=correction.pk, note="  ")
    correction_reject(actor=alice, correction_id=correction.pk, note="Thiếu giấy tờ")
    correction.refresh_from_db()
    assert (correction.status, correction.decision_note) == (
        Correction.Status.REJECTED,
        "Thiếu giấy tờ",
    )
    assert Citizen.objects.get(pk=an.pk).full_name == "Nguyễn Văn An"
    with pytest.raises(DomainError):
        correction_approve(actor=alice, correction_id=correction.pk)


def test_only_the_proposer_withdraws(dan, alice, an):
    correction = propose_name(dan, an)
    with pytest.raises(PermissionDenied):
        correction_withdraw(actor=alice, correction_id=correction.pk)
    correction_withdraw(actor=dan, correction_id=correction.pk)
    assert Correction.objects.get().status == Correction.Status.WITHDRAWN
    with pytest.raises(DomainError):
        correction_approve(actor=alice, correction_id=correction.pk)


def test_history_and_queues_are_scoped(dan, alice, bob, hana, an):
    mine = propose_name(dan, an)
    own = propose_name(alice, an, name="Nguyễn Văn Ấn")
    assert list(citizen_corrections(user=alice, citizen_id=an.pk)) == [own, mine]
    assert list(citizen_corrections(user=bob, citizen_id=an.pk)) == []
    assert list(corrections_pending_for_approval(user=alice)) == [mine]
    assert list(corrections_pending_for_approval(user=hana)) == [mine, own]
    assert list(corrections_pending_for_approval(user=dan)) == []
    assert list(corrections_mine(user=dan)) == [mine]
