"""Dossier services end to end: receipt, every path, permissions, scope, events, fees."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import translation

from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.events import MONTH_SUBJECT_PREFIX
from cancuoc.core.models import AuditEntry, DailyRollup, Event
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers import selectors, services
from cancuoc.dossiers.models import (
    Channel,
    DeliveryStatus,
    DeskSettings,
    Dossier,
    DossierTransition,
    FeeStatus,
    ReturnMethod,
)
from tests.dossiers.factories import Desk, local, procedure, received_dossier

D = dt.date


@pytest.fixture
def desk_a(world):
    return Desk(world.commune_a, "a")


@pytest.fixture
def desk_b(world):
    return Desk(world.commune_b, "b")


def rollup(unit, measure: str, day: dt.date | None = None) -> int:
    rows = DailyRollup.objects.filter(unit=unit, measure=measure).exclude(
        subject__startswith=MONTH_SUBJECT_PREFIX
    )
    if day is not None:
        rows = rows.filter(day=day)
    return rows.aggregate(total=Sum("value"))["total"] or 0


def snapshot():
    """Everything a refused action must leave untouched."""
    return (
        list(Dossier.objects.order_by("pk").values()),
        DossierTransition.objects.count(),
        Event.objects.count(),
        list(
            DailyRollup.objects.exclude(subject__startswith=MONTH_SUBJECT_PREFIX)
            .order_by("pk")
            .values_list("measure", "value")
        ),
        AuditEntry.objects.count(),
    )


# --- Receipt -------------------------------------------------------------------------


def test_receive_sets_code_due_date_fee_history_audit_and_events(world, desk_a):
    proc = procedure(code="1.000001", days=5, fee=8000)
    # Monday 3/3/2025 09:00; 5 working days later is Monday 10/3.
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))

    assert dossier.code == "18100-250303-0001"
    assert dossier.status == lc.RECEIVED
    assert dossier.due_date == D(2025, 3, 10)
    assert dossier.unit == world.commune_a
    assert dossier.receiving_unit == world.commune_a
    assert dossier.unit_path == world.commune_a.path
    assert dossier.province_code == "42"
    assert (dossier.fee_amount, dossier.fee_status) == (8000, FeeStatus.DUE)
    [step] = dossier.transitions.all()
    assert (step.action, step.from_status, step.to_status) == ("receive", "", "received")
    assert step.actor == desk_a.clerk
    assert step.actor_unit == world.commune_a
    assert step.data["due_date"] == "2025-03-10"
    assert (
        AuditEntry.objects.filter(action="dossier.receive", object_id=str(dossier.pk)).count() == 1
    )
    assert rollup(world.commune_a, "received", D(2025, 3, 3)) == 1
    assert rollup(world.commune_a, "received_counter", D(2025, 3, 3)) == 1
    assert rollup(world.commune_a, "due_open", D(2025, 3, 10)) == 1
    assert set(Event.objects.values_list("subject", flat=True)) == {"proc:1.000001"}


def test_codes_follow_the_unit_pattern_and_restart_each_day(world, desk_a):
    DeskSettings.objects.create(
        unit=world.commune_a,
        identifier="000.31.33.H42",
        code_pattern="{identifier}-{yymmdd}-{seq:04d}",
    )
    proc = procedure()
    first = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2021, 3, 16, 8))
    second = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2021, 3, 16, 10))
    next_day = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2021, 3, 17, 8))
    assert [first.code, second.code, next_day.code] == [
        "000.31.33.H42-210316-0001",
        "000.31.33.H42-210316-0002",
        "000.31.33.H42-210317-0001",
    ]


def test_receipt_after_15h_counts_from_next_working_day(desk_a):
    proc = procedure(days=1)
    before = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 15, 0, 0))
    after = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 15, 0, 1))
    assert before.due_date == D(2025, 3, 4)
    assert after.due_date == D(2025, 3, 5)


def test_unknown_procedure_and_missing_name_change_nothing(desk_a):
    procedure(code="1.000002")
    before = snapshot()
    with pytest.raises(DomainError) as err:
        services.dossier_receive(actor=desk_a.clerk, procedure_code="9.999999", applicant_name="A")
    assert "9.999999" in err.value.message
    with pytest.raises(DomainError):
        services.dossier_receive(actor=desk_a.clerk, procedure_code="1.000002", applicant_name="  ")
    with pytest.raises(DomainError):
        services.dossier_receive(
            actor=desk_a.clerk,
            procedure_code="1.000002",
            applicant_name="A",
            applicant_id_number="12ab",
        )
    assert snapshot() == before


def test_only_a_desk_role_may_receive(desk_a, alice):
    proc = procedure()
    before = snapshot()
    for officer in (desk_a.appraiser, desk_a.approver, alice):
        with pytest.raises(PermissionDenied):
            received_dossier(actor=officer, proc=proc)
    assert snapshot() == before


def test_a_form_submitted_twice_creates_one_dossier(desk_a):
    proc = procedure()
    first = received_dossier(actor=desk_a.clerk, proc=proc, submission_key="form-123")
    before = snapshot()
    with pytest.raises(services.DuplicateSubmission) as err:
        received_dossier(actor=desk_a.clerk, proc=proc, submission_key="form-123")
    assert first.code in err.value.message
    assert snapshot() == before
    assert Dossier.objects.count() == 1


def test_vietnamese_message_for_duplicate_submission(desk_a):
    proc = procedure()
    received_dossier(actor=desk_a.clerk, proc=proc, submission_key="k1")
    with translation.override("vi"), pytest.raises(services.DuplicateSubmission) as err:
        received_dossier(actor=desk_a.clerk, proc=proc, submission_key="k1")
    assert err.value.message.startswith("Biểu mẫu này đã được gửi trước đó: hồ sơ 18100-")


# --- The main path, timeliness, events -------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "timeliness"),
    [
        (local(2025, 3, 7, 10), "early"),
        (local(2025, 3, 10, 16), "on_time"),
        (local(2025, 3, 11, 8), "late"),
    ],
)
def test_main_path_classifies_the_return(world, desk_a, returned, timeliness):
    proc = procedure(days=5)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    dossier = desk_a.advance(dossier, until=lc.RESULT_READY, at=local(2025, 3, 5, 9))
    dossier = services.dossier_return(actor=desk_a.clerk, dossier_id=dossier.pk, at=returned)

    assert dossier.status == lc.RETURNED
    assert dossier.timeliness == timeliness
    actions = list(dossier.transitions.values_list("action", flat=True))
    assert actions == [
        "receive",
        "transfer",
        "appraise",
        "approve",
        "sign",
        "result_ready",
        "return",
    ]
    assert lc.replay(actions) == dossier.status
    day = returned.date()
    assert rollup(world.commune_a, "resolved", day) == 1
    assert rollup(world.commune_a, f"resolved_{timeliness}", day) == 1
    assert rollup(world.commune_a, "due_open") == 0


def test_refused_dossier_is_signed_and_returned(desk_a):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 3, 10))
    with pytest.raises(DomainError):
        services.dossier_refuse(actor=desk_a.approver, dossier_id=dossier.pk, reason=" ")
    dossier = services.dossier_refuse(
        actor=desk_a.approver,
        dossier_id=dossier.pk,
        reason="Không đủ điều kiện",
        at=local(2025, 3, 4, 9),
    )
    assert dossier.status == lc.REFUSED
    assert dossier.transitions.last().data["reason"] == "Không đủ điều kiện"
    services.dossier_sign(actor=desk_a.approver, dossier_id=dossier.pk, at=local(2025, 3, 4, 10))
    services.dossier_result_ready(
        actor=desk_a.clerk, dossier_id=dossier.pk, at=local(2025, 3, 4, 11)
    )
    dossier = services.dossier_return(
        actor=desk_a.clerk, dossier_id=dossier.pk, at=local(2025, 3, 4, 14)
    )
    assert (dossier.status, dossier.timeliness) == (lc.RETURNED, "early")


def test_illegal_transition_is_refused_with_a_clear_message_and_changes_nothing(desk_a):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    before = snapshot()
    with translation.override("en"), pytest.raises(services.IllegalAction) as err:
        services.dossier_approve(actor=desk_a.approver, dossier_id=dossier.pk)
    assert "Approve" in err.value.message and "Received" in err.value.message
    with pytest.raises(services.IllegalAction):
        services.dossier_act(actor=desk_a.clerk, dossier_id=dossier.pk, action="teleport")
    with pytest.raises(services.IllegalAction):
        services.dossier_act(actor=desk_a.clerk, dossier_id=dossier.pk, action="receive")
    assert snapshot() == before


def test_wrong_role_is_refused_and_changes_nothing(desk_a):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 3, 10))
    before = snapshot()
    for officer in (desk_a.clerk, desk_a.appraiser):
        with pytest.raises(PermissionDenied):
            services.dossier_approve(actor=officer, dossier_id=dossier.pk)
    assert snapshot() == before
    services.dossier_approve(actor=desk_a.approver, dossier_id=dossier.pk, at=local(2025, 3, 3, 11))
    assert Dossier.objects.get(pk=dossier.pk).status == lc.APPROVED


def test_wrong_unit_is_refused_and_changes_nothing(desk_a, desk_b, carl):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    before = snapshot()
    with pytest.raises(OutOfScope):
        services.dossier_transfer(actor=desk_b.clerk, dossier_id=dossier.pk)
    with pytest.raises(OutOfScope):
        services.dossier_withdraw(actor=carl, dossier_id=dossier.pk, reason="x")
    with pytest.raises(OutOfScope):
        services.dossier_transfer(actor=desk_a.clerk, dossier_id=999999)
    assert snapshot() == before


def test_province_manager_may_approve_in_any_commune_of_the_province(desk_a, hana):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 3, 10))
    dossier = services.dossier_approve(actor=hana, dossier_id=dossier.pk, at=local(2025, 3, 3, 11))
    assert dossier.status == lc.APPROVED


def test_a_step_cannot_be_dated_before_the_previous_one(desk_a):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    before = snapshot()
    with pytest.raises(DomainError):
        services.dossier_transfer(
            actor=desk_a.clerk, dossier_id=dossier.pk, at=local(2025, 3, 2, 9)
        )
    assert snapshot() == before


# --- Side paths ---------------------------------------------------------------------------


def test_supplement_request_pauses_the_clock_end_to_end(world, desk_a):
    # Received Monday 3/3/2025 09:00 with N = 5: due Monday 10/3.
    proc = procedure(days=5)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 4, 9))
    with pytest.raises(DomainError):
        services.dossier_supplement_request(actor=desk_a.clerk, dossier_id=dossier.pk, missing=[])
    # Asked on Wednesday 5/3, supplied on Tuesday 11/3: (5/3, 11/3] holds 4 working days.
    dossier = services.dossier_supplement_request(
        actor=desk_a.clerk,
        dossier_id=dossier.pk,
        missing=["Giấy khai sinh (bản sao)"],
        at=local(2025, 3, 5, 10),
    )
    assert (dossier.status, dossier.paused_since) == (lc.SUPPLEMENT, D(2025, 3, 5))
    dossier = services.dossier_supplement_receive(
        actor=desk_a.clerk, dossier_id=dossier.pk, at=local(2025, 3, 11, 8)
    )
    assert dossier.status == lc.IN_APPRAISAL
    assert dossier.paused_days == 4
    assert dossier.paused_since is None
    assert dossier.due_date == D(2025, 3, 14)  # 10/3 + 4 working days
    assert rollup(world.commune_a, "due_open", D(2025, 3, 10)) == 0
    assert rollup(world.commune_a, "due_open", D(2025, 3, 14)) == 1
    # Returned on 14/3: on time although 9 working days after receipt.
    dossier = desk_a.advance(dossier, at=local(2025, 3, 14, 10))
    assert (dossier.status, dossier.timeliness) == (lc.RETURNED, "on_time")


def test_apology_sets_a_new_date_but_the_dossier_still_counts_late(world, desk_a):
    proc = procedure(days=2)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    assert dossier.due_date == D(2025, 3, 5)
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 4, 9))
    before = snapshot()
    with pytest.raises(DomainError):  # not after the due date
        services.dossier_apologise(
            actor=desk_a.approver,
            dossier_id=dossier.pk,
            new_date=D(2025, 3, 5),
            reason="Chờ xác minh",
        )
    with pytest.raises(PermissionDenied):
        services.dossier_apologise(
            actor=desk_a.clerk, dossier_id=dossier.pk, new_date=D(2025, 3, 7), reason="Chờ xác minh"
        )
    assert snapshot() == before
    dossier = services.dossier_apologise(
        actor=desk_a.approver,
        dossier_id=dossier.pk,
        new_date=D(2025, 3, 7),
        reason="Chờ xác minh",
        at=local(2025, 3, 4, 15),
    )
    assert (dossier.status, dossier.due_date, dossier.apology_due_date) == (
        lc.IN_APPRAISAL,
        D(2025, 3, 5),
        D(2025, 3, 7),
    )
    assert rollup(world.commune_a, "apologised", D(2025, 3, 4)) == 1
    dossier = desk_a.advance(dossier, at=local(2025, 3, 7, 9))
    assert dossier.timeliness == "late"
    assert rollup(world.commune_a, "resolved_late") == 1


def test_withdrawal_closes_the_dossier(world, desk_a):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    with pytest.raises(DomainError):
        services.dossier_withdraw(actor=desk_a.clerk, dossier_id=dossier.pk, reason="")
    dossier = services.dossier_withdraw(
        actor=desk_a.clerk,
        dossier_id=dossier.pk,
        reason="Công dân rút hồ sơ",
        at=local(2025, 3, 4, 9),
    )
    assert dossier.status == lc.WITHDRAWN
    assert rollup(world.commune_a, "withdrawn", D(2025, 3, 4)) == 1
    assert rollup(world.commune_a, "due_open") == 0
    with pytest.raises(services.IllegalAction):
        services.dossier_transfer(actor=desk_a.clerk, dossier_id=dossier.pk)


def test_refusal_at_intake_is_never_counted_as_received(world, desk_a):
    proc = procedure(code="1.000003")
    with pytest.raises(DomainError):
        services.dossier_reject_at_intake(
            actor=desk_a.clerk, procedure_code="1.000003", applicant_name="Lê Thị Hoa", reason=""
        )
    dossier = services.dossier_reject_at_intake(
        actor=desk_a.clerk,
        procedure_code=proc.code,
        applicant_name="Lê Thị Hoa",
        reason="Không thuộc thẩm quyền",
        at=local(2025, 3, 3, 9),
    )
    assert dossier.status == lc.REJECTED
    assert dossier.code == "18100-250303-0001"
    assert rollup(world.commune_a, "rejected_intake") == 1
    assert rollup(world.commune_a, "received") == 0
    assert rollup(world.commune_a, "due_open") == 0
    assert lc.allowed_actions(dossier.status) == []


def test_receipt_for_another_commune_of_the_province(world, desk_a, desk_b):
    """Decree 118/2025: desk A receives for commune B; B processes it, A may still read it."""
    dossier = received_dossier(
        actor=desk_a.clerk, competent_unit_id=world.commune_b.pk, at=local(2025, 7, 7, 9)
    )
    assert (dossier.unit, dossier.receiving_unit) == (world.commune_b, world.commune_a)
    assert dossier.code.startswith("18100-250707-")  # numbered by the receiving desk
    assert rollup(world.commune_b, "received") == 1
    assert rollup(world.commune_a, "received") == 0
    # The competent desk acts; the receiving desk reads only.
    assert selectors.dossier_get(user=desk_a.clerk, dossier_id=dossier.pk) == dossier
    with pytest.raises(OutOfScope):
        services.dossier_transfer(actor=desk_a.clerk, dossier_id=dossier.pk)
    services.dossier_transfer(actor=desk_b.clerk, dossier_id=dossier.pk, at=local(2025, 7, 7, 10))


def test_receipt_for_a_unit_of_another_province_is_refused(world, desk_a):
    before = snapshot()
    with pytest.raises(DomainError):
        received_dossier(actor=desk_a.clerk, competent_unit_id=world.commune_c.pk)
    assert snapshot() == before


def test_route_moves_the_counts_to_the_competent_unit(world, desk_a, desk_b):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 7, 7, 9), channel=Channel.POST)
    before = snapshot()
    with pytest.raises(DomainError):
        services.dossier_route(
            actor=desk_a.clerk, dossier_id=dossier.pk, unit_id=world.commune_c.pk
        )
    with pytest.raises(DomainError):
        services.dossier_route(
            actor=desk_a.clerk, dossier_id=dossier.pk, unit_id=world.commune_a.pk
        )
    assert snapshot() == before
    dossier = services.dossier_route(
        actor=desk_a.clerk,
        dossier_id=dossier.pk,
        unit_id=world.commune_b.pk,
        at=local(2025, 7, 7, 10),
    )
    assert (dossier.status, dossier.unit, dossier.unit_path) == (
        lc.RECEIVED,
        world.commune_b,
        world.commune_b.path,
    )
    for measure in ("received", "received_post", "due_open"):
        assert rollup(world.commune_a, measure) == 0
        assert rollup(world.commune_b, measure) == 1
    dossier = desk_b.advance(dossier, at=local(2025, 7, 8, 9))
    assert dossier.status == lc.RETURNED
    assert rollup(world.commune_b, "resolved") == 1


def test_on_the_spot_does_every_stage_in_one_sitting(world, desk_a):
    proc = procedure(days=3, on_the_spot=True)
    dossier = services.dossier_on_the_spot(
        actor=desk_a.clerk,
        procedure_code=proc.code,
        applicant_name="Trần Văn Bình",
        at=local(2025, 3, 3, 9),
    )
    assert (dossier.status, dossier.timeliness) == (lc.RETURNED, "early")
    steps = list(dossier.transitions.all())
    assert [s.action for s in steps] == list(lc.ON_THE_SPOT_PATH)
    assert all(s.actor == desk_a.clerk and s.data.get("on_the_spot") for s in steps)
    assert rollup(world.commune_a, "received") == 1
    assert rollup(world.commune_a, "resolved_early") == 1
    assert rollup(world.commune_a, "due_open") == 0


def test_on_the_spot_refused_for_a_procedure_not_marked_so(desk_a):
    proc = procedure(days=3, on_the_spot=False)
    before = snapshot()
    with pytest.raises(DomainError):
        services.dossier_on_the_spot(
            actor=desk_a.clerk, procedure_code=proc.code, applicant_name="A"
        )
    with pytest.raises(PermissionDenied):
        services.dossier_on_the_spot(
            actor=desk_a.appraiser, procedure_code=proc.code, applicant_name="A"
        )
    assert snapshot() == before


# --- Fees and delivery -----------------------------------------------------------------


def test_fee_due_then_paid_with_a_receipt(world, desk_a):
    proc = procedure(fee=50000)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    with pytest.raises(DomainError):
        services.dossier_fee_pay(actor=desk_a.clerk, dossier_id=dossier.pk, receipt_number=" ")
    with pytest.raises(PermissionDenied):
        services.dossier_fee_pay(
            actor=desk_a.appraiser, dossier_id=dossier.pk, receipt_number="BL1"
        )
    dossier = services.dossier_fee_pay(
        actor=desk_a.clerk,
        dossier_id=dossier.pk,
        receipt_number="BL-0001",
        at=local(2025, 3, 3, 9, 5),
    )
    assert (dossier.fee_status, dossier.fee_receipt_number, dossier.fee_amount) == (
        FeeStatus.PAID,
        "BL-0001",
        50000,
    )
    assert rollup(world.commune_a, "fee_amount_paid") == 50000
    with pytest.raises(DomainError):
        services.dossier_fee_pay(
            actor=desk_a.clerk, dossier_id=dossier.pk, receipt_number="BL-0002"
        )
    # The fee step is on the control sheet but the history still replays to the status.
    actions = list(dossier.transitions.values_list("action", flat=True))
    assert actions == ["receive", "fee_pay"]
    assert lc.replay(actions) == lc.RECEIVED


def test_fee_exempted_at_receipt_or_later_and_free_procedures(desk_a):
    paid = procedure(fee=30000)
    free = procedure(fee=0)
    exempt = received_dossier(actor=desk_a.clerk, proc=paid, fee_exemption_reason="Hộ nghèo")
    assert (exempt.fee_status, exempt.fee_exemption_reason) == (FeeStatus.EXEMPT, "Hộ nghèo")
    assert received_dossier(actor=desk_a.clerk, proc=free).fee_status == FeeStatus.NONE
    later = received_dossier(actor=desk_a.clerk, proc=paid)
    with pytest.raises(DomainError):
        services.dossier_fee_exempt(actor=desk_a.clerk, dossier_id=later.pk, reason="")
    later = services.dossier_fee_exempt(
        actor=desk_a.clerk, dossier_id=later.pk, reason="Xã biên giới"
    )
    assert later.fee_status == FeeStatus.EXEMPT
    with pytest.raises(DomainError):
        services.dossier_fee_exempt(actor=desk_a.clerk, dossier_id=later.pk, reason="again")


def test_return_by_post_and_delivery_updates(desk_a):
    dossier = received_dossier(
        actor=desk_a.clerk,
        at=local(2025, 3, 3, 9),
        return_method=ReturnMethod.POST,
        applicant_address="Thôn 1, xã Thạch Hà",
    )
    assert dossier.delivery_address == "Thôn 1, xã Thạch Hà"
    with pytest.raises(DomainError):  # not sent yet
        services.dossier_delivery_update(
            actor=desk_a.clerk, dossier_id=dossier.pk, status=DeliveryStatus.DELIVERED
        )
    dossier = desk_a.advance(dossier, until=lc.RESULT_READY, at=local(2025, 3, 4, 9))
    dossier = services.dossier_return(
        actor=desk_a.clerk,
        dossier_id=dossier.pk,
        tracking_number="EB123VN",
        at=local(2025, 3, 4, 10),
    )
    assert (dossier.delivery_status, dossier.tracking_number) == (
        DeliveryStatus.IN_TRANSIT,
        "EB123VN",
    )
    dossier = services.dossier_delivery_update(
        actor=desk_a.clerk,
        dossier_id=dossier.pk,
        status=DeliveryStatus.DELIVERED,
        delivered_on=D(2025, 3, 6),
        at=local(2025, 3, 6, 17),
    )
    assert (dossier.delivery_status, dossier.delivered_on) == (
        DeliveryStatus.DELIVERED,
        D(2025, 3, 6),
    )
    with pytest.raises(DomainError):
        services.dossier_delivery_update(actor=desk_a.clerk, dossier_id=dossier.pk, status="lost")


def test_post_return_needs_an_address(desk_a):
    before = snapshot()
    with pytest.raises(DomainError):
        received_dossier(actor=desk_a.clerk, return_method=ReturnMethod.POST)
    assert snapshot() == before


# --- Selectors -------------------------------------------------------------------------


def test_selectors_are_scoped(world, desk_a, desk_b, carl, hana):
    a = received_dossier(
        actor=desk_a.clerk, applicant_name="Nguyễn Văn An", applicant_id_number="042090000001"
    )
    b = received_dossier(actor=desk_b.clerk, applicant_name="Lê Thị Hoa")
    assert list(selectors.dossier_list(user=desk_a.clerk)) == [a]
    assert set(selectors.dossier_list(user=hana)) == {a, b}
    assert list(selectors.dossier_list(user=carl)) == []
    assert list(selectors.dossier_list(user=hana, q="042090000001")) == [a]
    assert list(selectors.dossier_list(user=hana, q=b.code)) == [b]
    assert list(selectors.dossier_list(user=hana, status="returned")) == []
    with pytest.raises(OutOfScope):
        selectors.dossier_get(user=desk_b.clerk, dossier_id=a.pk)
    with pytest.raises(OutOfScope):
        selectors.dossier_history(user=carl, dossier_id=a.pk)
    assert [s.action for s in selectors.dossier_history(user=hana, dossier_id=a.pk)] == ["receive"]
    assert selectors.dossier_by_submission_key(user=hana, key="") is None
    units = list(selectors.competent_units(user=desk_a.clerk))
    assert world.commune_a in units and world.commune_b in units and world.commune_c not in units
