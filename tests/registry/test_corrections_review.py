"""Review fixes: audited reads, cards cancelled with the record, scope after a move."""

from __future__ import annotations

import pytest

from cancuoc.accounts.roles import Role
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.registry import idnumber
from cancuoc.registry.corrections import (
    correction_get,
    corrections_pending_for_approval,
    corrections_visible,
)
from cancuoc.registry.models import (
    Citizen,
    Correction,
    DocumentKind,
    DocumentStatus,
    FormerNumber,
    IdentityDocument,
)
from cancuoc.registry.services import (
    correction_approve,
    correction_propose,
    correction_withdraw,
)
from tests import factories
from tests.registry.test_corrections import an, dan, propose_name  # noqa: F401

OLD = "042090123456"


def _reads(*actions):
    return list(
        AuditEntry.objects.filter(action__in=actions)
        .order_by("id")
        .values_list("actor__username", "action", "object_id", "unit_path", "detail")
    )


def _doc(citizen, kind, status, number=None):
    return IdentityDocument.objects.create(
        citizen=citizen,
        province_code="42",
        kind=kind,
        number=number or citizen.id_number,
        status=status,
    )


def _statuses(citizen):
    return list(
        IdentityDocument.objects.filter(citizen=citizen)
        .order_by("id")
        .values_list("kind", "number", "status")
    )


# --- Finding 2: personal-data reads are audited in the selectors ----------------------------


def test_reading_a_correction_leaves_one_audit_row_per_read(dan, alice, bob, an, client, world):  # noqa: F811
    correction = propose_name(dan, an)
    client.force_login(alice)
    assert client.get(f"/registry/corrections/{correction.pk}/").status_code == 200
    assert client.get(f"/api/v1/registry/corrections/{correction.pk}").status_code == 200
    row = ("alice", "correction.view", str(correction.pk), world.commune_a.path, {"citizen": an.pk})
    assert _reads("correction.view") == [row, row]
    client.force_login(bob)  # commune B: out of scope, nothing read, nothing recorded
    assert client.get(f"/registry/corrections/{correction.pk}/").status_code == 404
    assert client.get(f"/api/v1/registry/corrections/{correction.pk}").status_code == 404
    assert _reads("correction.view") == [row, row]


def test_the_proposal_page_audits_the_citizen_it_shows(alice, bob, an, client, world):  # noqa: F811
    client.force_login(bob)
    assert client.get(f"/registry/citizens/{an.pk}/corrections/new/").status_code == 404
    assert _reads("citizen.view") == []
    client.force_login(alice)
    assert client.get(f"/registry/citizens/{an.pk}/corrections/new/").status_code == 200
    assert _reads("citizen.view") == [
        ("alice", "citizen.view", str(an.pk), world.commune_a.path, {"purpose": "correction"})
    ]


# --- Finding 3: approved corrections leave no live card behind -------------------------------


def test_a_death_cancels_valid_enrolled_and_in_production_cards(dan, alice, an):  # noqa: F811
    _doc(an, DocumentKind.CMND9, DocumentStatus.EXPIRED, number="183456789")
    _doc(an, DocumentKind.CCCD_CHIP, DocumentStatus.VALID)
    _doc(an, DocumentKind.CANCUOC, DocumentStatus.ENROLLED)
    _doc(an, DocumentKind.CANCUOC, DocumentStatus.IN_PRODUCTION)
    _doc(an, DocumentKind.CCCD_BARCODE, DocumentStatus.LOST)
    correction = correction_propose(
        actor=dan,
        citizen_id=an.pk,
        kind=Correction.Kind.DEATH,
        changes={"death_date": "2025-01-10"},
        reason="Giấy báo tử số 5/2025",
    )
    correction_approve(actor=alice, correction_id=correction.pk)
    assert _statuses(an) == [
        ("cmnd9", "183456789", "expired"),
        ("cccd_chip", OLD, "cancelled"),
        ("cancuoc", OLD, "cancelled"),
        ("cancuoc", OLD, "cancelled"),
        ("cccd_barcode", OLD, "lost"),
    ]
    detail = AuditEntry.objects.get(action="citizen.correct").detail
    assert detail["documents_cancelled"] == [OLD, OLD, OLD]


def test_a_new_id_number_cancels_the_cards_carrying_the_old_one(dan, alice, an):  # noqa: F811
    new = idnumber.generate("042", "male", 1990, 999)
    _doc(an, DocumentKind.CMND9, DocumentStatus.VALID, number="183456789")
    _doc(an, DocumentKind.CMND12, DocumentStatus.VALID)
    _doc(an, DocumentKind.CCCD_BARCODE, DocumentStatus.EXPIRED)
    _doc(an, DocumentKind.CCCD_CHIP, DocumentStatus.VALID)
    _doc(an, DocumentKind.CANCUOC, DocumentStatus.ENROLLED)
    _doc(an, DocumentKind.CCCD_CHIP, DocumentStatus.VALID, number="042090654321")
    correction = correction_propose(
        actor=dan,
        citizen_id=an.pk,
        kind=Correction.Kind.CORRECT,
        changes={"id_number": new},
        reason="Cấp trùng số",
    )
    correction_approve(actor=alice, correction_id=correction.pk)
    assert Citizen.objects.get(pk=an.pk).id_number == new
    assert list(FormerNumber.objects.values_list("number", flat=True)) == [OLD]
    assert _statuses(an) == [
        ("cmnd9", "183456789", "valid"),  # its own 9-digit number: not the ID number
        ("cmnd12", OLD, "cancelled"),
        ("cccd_barcode", OLD, "expired"),
        ("cccd_chip", OLD, "cancelled"),
        ("cancuoc", OLD, "cancelled"),
        ("cccd_chip", "042090654321", "valid"),
    ]
    detail = AuditEntry.objects.get(action="citizen.correct").detail
    assert detail["documents_cancelled"] == [OLD, OLD, OLD]


def test_withdrawing_needs_the_propose_capability(dan, an):  # noqa: F811
    correction = propose_name(dan, an)
    dan.role = Role.APPROVER  # no longer proposes
    dan.save(update_fields=["role"])
    with pytest.raises(PermissionDenied):
        correction_withdraw(actor=dan, correction_id=correction.pk)
    assert Correction.objects.get(pk=correction.pk).status == Correction.Status.PENDING
    assert not AuditEntry.objects.filter(action="correction.withdraw").exists()


# --- Finding 4: a pending proposal follows the citizen to their new unit --------------------


def test_a_proposal_follows_the_citizen_who_moves(dan, alice, an, world):  # noqa: F811
    bella = factories.user(unit=world.commune_b, role=Role.UNIT_MANAGER, username="bella")
    correction = propose_name(dan, an)
    assert correction.unit_path == world.commune_a.path
    Citizen.objects.filter(pk=an.pk).update(
        current_unit=world.commune_b, unit_path=world.commune_b.path
    )
    assert list(corrections_visible(user=alice)) == []
    assert list(corrections_pending_for_approval(user=alice)) == []
    with pytest.raises(OutOfScope):
        correction_get(user=alice, correction_id=correction.pk)
    with pytest.raises(OutOfScope):
        correction_approve(actor=alice, correction_id=correction.pk)
    assert Citizen.objects.get(pk=an.pk).full_name == "Nguyễn Văn An"
    assert list(corrections_pending_for_approval(user=bella)) == [correction]
    correction_approve(actor=bella, correction_id=correction.pk)
    stored = Correction.objects.get(pk=correction.pk)
    assert (stored.status, stored.decided_by, stored.unit_path) == (
        Correction.Status.APPROVED,
        bella,
        world.commune_a.path,  # kept for history
    )
    assert Citizen.objects.get(pk=an.pk).full_name == "Nguyễn Văn Ánh"


def test_reading_the_list_of_corrections_through_the_api_is_audited_once_per_read(world, hana):
    from django.test import Client

    from cancuoc.core.models import AuditEntry

    client = Client()
    client.force_login(hana)
    before = AuditEntry.objects.filter(action="correction.list").count()
    assert client.get("/api/v1/registry/corrections", {"status": "pending"}).status_code == 200
    assert client.get("/api/v1/registry/corrections").status_code == 200
    rows = AuditEntry.objects.filter(action="correction.list").order_by("id")
    assert rows.count() == before + 2
    assert rows.last().detail == {"query": {"mine": False, "to_decide": False}}
    assert rows.last().actor == hana
