"""Regression tests for the one-stop desk review findings (each fails without its fix)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import Client
from django.utils import timezone, translation

from cancuoc.accounts.roles import Role
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.events import MONTH_SUBJECT_PREFIX
from cancuoc.core.models import AuditEntry, DailyRollup, Event
from cancuoc.dossiers import lifecycle as lc
from cancuoc.dossiers import selectors, services
from cancuoc.dossiers.calendar import workday_adjustment_set
from cancuoc.dossiers.catalogue import catalogue_load, starter_catalogue
from cancuoc.dossiers.codes import CodePatternError, desk_area, desk_settings_set
from cancuoc.dossiers.forms import ReceiveForm
from cancuoc.dossiers.models import (
    CompetentLevel,
    DeskSettings,
    Dossier,
    DossierTransition,
    Procedure,
    ProcedureVersion,
)
from cancuoc.dossiers.views.catalogue import primary_version
from cancuoc.dossiers.views.desk import desk_dossiers
from tests import factories
from tests.dossiers.factories import Desk, local, procedure, received_dossier

D = dt.date
ID_2014_FIRST = "1.001765"
ID_2023_FIRST = "1.012409"
ID_CARD_CODES = ("1.001765", "1.001773", "1.001780", "1.012409", "1.012410", "1.012411")


@pytest.fixture
def desk_a(world):
    return Desk(world.commune_a, "a")


@pytest.fixture
def desk_b(world):
    return Desk(world.commune_b, "b")


@pytest.fixture
def loaded(db):
    catalogue_load(starter_catalogue())


def rollup(unit, measure: str, day: dt.date | None = None) -> int:
    rows = DailyRollup.objects.filter(unit=unit, measure=measure).exclude(
        subject__startswith=MONTH_SUBJECT_PREFIX
    )
    if day is not None:
        rows = rows.filter(day=day)
    return rows.aggregate(total=Sum("value"))["total"] or 0


def snapshot():
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
        list(DeskSettings.objects.order_by("pk").values()),
    )


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- 1. Desk settings: a writer, and no silent longest time -----------------------------


def test_desk_settings_are_set_by_a_catalogue_manager_in_scope_and_audited(
    world, hana, carl, desk_a
):
    row = desk_settings_set(
        actor=hana,
        unit_id=world.commune_a.pk,
        identifier="000.31.33.H42",
        code_pattern="{identifier}-{yyyymmdd}-{seq:05d}",
        area="remote",
    )
    assert (row.unit, row.identifier, row.code_pattern, row.area) == (
        world.commune_a,
        "000.31.33.H42",
        "{identifier}-{yyyymmdd}-{seq:05d}",
        "remote",
    )
    entry = AuditEntry.objects.get(action="desk.settings_set")
    assert entry.detail["area"] == "remote"
    assert entry.detail["before"] is None
    proc = procedure()
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    assert dossier.code == "000.31.33.H42-20250303-00001"

    before = snapshot()
    with pytest.raises(OutOfScope):  # another province's manager
        desk_settings_set(
            actor=carl, unit_id=world.commune_a.pk, identifier="X", code_pattern="", area=""
        )
    with pytest.raises(PermissionDenied):  # a clerk
        desk_settings_set(
            actor=desk_a.clerk,
            unit_id=world.commune_a.pk,
            identifier="X",
            code_pattern="",
            area="",
        )
    with pytest.raises(CodePatternError):
        desk_settings_set(
            actor=hana,
            unit_id=world.commune_a.pk,
            identifier="X",
            code_pattern="{identifier}-{seq}",
            area="",
        )
    with pytest.raises(DomainError):
        desk_settings_set(
            actor=hana, unit_id=world.commune_a.pk, identifier="X", code_pattern="", area="moon"
        )
    assert snapshot() == before


def test_area_only_procedure_is_refused_until_the_area_is_set_then_inherited(
    world, hana, desk_a, loaded
):
    before = snapshot()
    with translation.override("vi"), pytest.raises(DomainError) as err:
        services.dossier_receive(
            actor=desk_a.clerk,
            procedure_code=ID_2014_FIRST,
            applicant_name="Lê Văn Cường",
            at=local(2021, 3, 1, 9),
        )
    assert err.value.message.startswith("Hãy đặt địa bàn của đơn vị trước")
    assert snapshot() == before

    # Set once on the province: its communes inherit it.
    desk_settings_set(
        actor=hana, unit_id=world.hatinh.pk, identifier="42", code_pattern="", area="other"
    )
    assert desk_area(world.commune_a) == "other"
    other = services.dossier_receive(
        actor=desk_a.clerk,
        procedure_code=ID_2014_FIRST,
        applicant_name="Lê Văn Cường",
        at=local(2021, 3, 1, 9),
    )
    # Monday 1/3/2021 + 15 working days = Monday 22/3/2021 (not the 20 of remote areas).
    assert (other.procedure_version.area, other.due_date) == ("other", D(2021, 3, 22))
    # A commune's own setting wins over its province's.
    desk_settings_set(
        actor=hana, unit_id=world.commune_a.pk, identifier="18100", code_pattern="", area="city"
    )
    city = services.dossier_receive(
        actor=desk_a.clerk,
        procedure_code=ID_2014_FIRST,
        applicant_name="Lê Văn Cường",
        at=local(2021, 3, 1, 9),
    )
    assert (city.procedure_version.area, city.due_date) == ("city", D(2021, 3, 10))


def test_deadline_command_asks_for_the_area_instead_of_taking_the_longest(loaded, capsys):
    with pytest.raises(CommandError, match="--area"):
        call_command("deadline", "--procedure", ID_2014_FIRST, "--received", "2021-03-01 09:00")
    call_command(
        "deadline", "--procedure", ID_2014_FIRST, "--received", "2021-03-01 09:00", "--area", "city"
    )
    assert capsys.readouterr().out.strip() == "2021-03-10"


def test_desk_settings_page_saves_and_shows_errors(world, hana, desk_a):
    client = login(hana)
    page = client.get("/desk/settings/", {"unit": world.commune_a.pk})
    assert page.status_code == 200
    response = client.post(
        "/desk/settings/",
        {
            "unit_id": world.commune_a.pk,
            "identifier": "H42.18100",
            "code_pattern": "{identifier}-{yymmdd}-{seq:04d}",
            "area": "remote",
        },
    )
    assert response.status_code == 302
    assert DeskSettings.objects.get(unit=world.commune_a).area == "remote"
    bad = client.post(
        "/desk/settings/",
        {"unit_id": world.commune_a.pk, "identifier": "H", "code_pattern": "{x}", "area": ""},
    )
    assert bad.status_code == 400
    assert DeskSettings.objects.get(unit=world.commune_a).identifier == "H42.18100"
    assert login(desk_a.clerk).get("/desk/settings/").status_code == 403


# --- 2. A dossier waiting for documents is not overdue -----------------------------------


def test_a_paused_dossier_leaves_its_due_day_and_comes_back_on_the_new_one(world, desk_a):
    proc = procedure(days=5)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    assert dossier.due_date == D(2025, 3, 10)
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 4, 9))
    services.dossier_supplement_request(
        actor=desk_a.clerk, dossier_id=dossier.pk, missing=["Sổ hộ khẩu"], at=local(2025, 3, 5, 9)
    )
    assert rollup(world.commune_a, "due_open", D(2025, 3, 10)) == 0
    assert rollup(world.commune_a, "due_open") == 0
    services.dossier_supplement_receive(
        actor=desk_a.clerk, dossier_id=dossier.pk, at=local(2025, 3, 11, 8)
    )
    assert rollup(world.commune_a, "due_open", D(2025, 3, 10)) == 0
    assert rollup(world.commune_a, "due_open", D(2025, 3, 14)) == 1
    assert rollup(world.commune_a, "due_open") == 1


def test_a_supplement_that_moves_nothing_still_counts_the_dossier_again(world, desk_a):
    proc = procedure(days=5)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 4, 9))
    services.dossier_supplement_request(
        actor=desk_a.clerk, dossier_id=dossier.pk, missing=["Ảnh"], at=local(2025, 3, 5, 9)
    )
    dossier = services.dossier_supplement_receive(
        actor=desk_a.clerk, dossier_id=dossier.pk, at=local(2025, 3, 5, 16)
    )
    assert dossier.due_date == D(2025, 3, 10)
    assert rollup(world.commune_a, "due_open", D(2025, 3, 10)) == 1


def test_withdrawing_a_paused_dossier_does_not_count_it_twice(world, desk_a):
    dossier = received_dossier(actor=desk_a.clerk, at=local(2025, 3, 3, 9))
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 4, 9))
    services.dossier_supplement_request(
        actor=desk_a.clerk, dossier_id=dossier.pk, missing=["Ảnh"], at=local(2025, 3, 5, 9)
    )
    services.dossier_withdraw(
        actor=desk_a.clerk, dossier_id=dossier.pk, reason="Công dân rút", at=local(2025, 3, 6, 9)
    )
    assert rollup(world.commune_a, "due_open") == 0
    assert rollup(world.commune_a, "withdrawn") == 1


def test_overdue_filter_leaves_out_dossiers_waiting_for_documents(desk_a):
    proc = procedure(days=1)
    late = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    paused = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    paused = desk_a.advance(paused, until=lc.IN_APPRAISAL, at=local(2025, 3, 3, 10))
    services.dossier_supplement_request(
        actor=desk_a.clerk, dossier_id=paused.pk, missing=["Ảnh"], at=local(2025, 3, 3, 11)
    )
    filters = {"q": "", "status": "", "procedure": "", "term": "overdue"}
    overdue = desk_dossiers(user=desk_a.clerk, filters=filters, today=D(2025, 3, 20))
    assert list(overdue) == [late]
    within = desk_dossiers(
        user=desk_a.clerk, filters={**filters, "term": "within"}, today=D(2025, 3, 20)
    )
    assert list(within) == []


# --- 5. Reads of personal data are audited ------------------------------------------------


def test_detail_page_api_get_and_history_each_write_one_view_audit_row(desk_a):
    dossier = received_dossier(actor=desk_a.clerk)
    client = login(desk_a.clerk)

    def views() -> int:
        return AuditEntry.objects.filter(action="dossier.view", object_id=str(dossier.pk)).count()

    assert views() == 0
    assert client.get(f"/desk/dossiers/{dossier.pk}/").status_code == 200
    assert views() == 1
    assert client.get(f"/api/v1/dossiers/{dossier.pk}").status_code == 200
    assert views() == 2
    assert client.get(f"/api/v1/dossiers/{dossier.pk}/history").status_code == 200
    assert views() == 3
    entry = AuditEntry.objects.filter(action="dossier.view").last()
    assert entry.actor == desk_a.clerk


def test_another_units_dossier_is_not_found_and_not_audited_as_viewed(desk_a, desk_b):
    dossier = received_dossier(actor=desk_a.clerk)
    assert login(desk_b.clerk).get(f"/desk/dossiers/{dossier.pk}/").status_code == 404
    assert not AuditEntry.objects.filter(action="dossier.view").exists()


def test_list_and_search_write_one_audit_row_per_page_with_the_query(desk_a):
    received_dossier(actor=desk_a.clerk, applicant_name="Phạm Thị Dung")
    client = login(desk_a.clerk)
    assert client.get("/desk/", {"q": "Dung"}).status_code == 200
    [entry] = AuditEntry.objects.filter(action="dossier.search")
    assert (entry.detail["q"], entry.detail["page"], entry.detail["shown"]) == ("Dung", 1, 1)
    assert client.get("/api/v1/dossiers/", {"q": "Dung"}).status_code == 200
    assert AuditEntry.objects.filter(action="dossier.search").count() == 2
    assert AuditEntry.objects.filter(action="dossier.search").last().detail["q"] == "Dung"


# --- 6. No apology after the deadline --------------------------------------------------------


def test_an_apology_after_the_due_date_is_refused_on_the_due_date_accepted(desk_a):
    proc = procedure(days=2)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    assert dossier.due_date == D(2025, 3, 5)
    before = snapshot()
    with translation.override("vi"), pytest.raises(DomainError) as err:
        services.dossier_apologise(
            actor=desk_a.approver,
            dossier_id=dossier.pk,
            new_date=D(2025, 3, 10),
            reason="Chờ xác minh",
            at=local(2025, 3, 6, 8),
        )
    assert (
        err.value.message == "Văn bản xin lỗi phải được ban hành trước ngày hẹn trả (05/03/2025)."
    )
    assert snapshot() == before
    dossier = services.dossier_apologise(
        actor=desk_a.approver,
        dossier_id=dossier.pk,
        new_date=D(2025, 3, 10),
        reason="Chờ xác minh",
        at=local(2025, 3, 5, 16),
    )
    assert dossier.apology_due_date == D(2025, 3, 10)


# --- 7. The API and the listing page show the same version -------------------------------------


def test_the_version_in_force_does_not_depend_on_the_order_of_rows(loaded):
    proc = Procedure.objects.get(code=ID_2023_FIRST)
    on = D(2025, 8, 1)
    rows = list(ProcedureVersion.objects.filter(procedure=proc).order_by("valid_from"))
    assert primary_version(rows).fee == 15000
    assert primary_version(list(reversed(rows))).fee == 15000
    assert selectors.procedure_version_in_force(procedure=proc, on=on).fee == 15000


def test_api_and_listing_page_agree_on_the_fee_of_the_day(loaded, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: D(2025, 8, 1))
    client = Client()
    one = client.get(f"/api/v1/dossiers/procedures/{ID_2023_FIRST}").json()
    assert (one["processing_days"], one["fee"]) == (7, 15000)
    listed = {p["code"]: p for p in client.get("/api/v1/dossiers/procedures").json()}
    assert listed[ID_2023_FIRST]["fee"] == 15000
    page = client.get("/desk/procedures/", {"q": ID_2023_FIRST})
    [row] = page.context["rows"]
    assert row["version"].fee == 15000
    detail = client.get(f"/desk/procedures/{ID_2023_FIRST}/")
    assert detail.context["current"].fee == 15000


# --- 8. The competent level is enforced ---------------------------------------------------------


def test_id_card_procedures_are_received_by_communes(loaded):
    levels = dict(
        Procedure.objects.filter(code__in=ID_CARD_CODES).values_list("code", "competent_level")
    )
    assert levels == dict.fromkeys(ID_CARD_CODES, CompetentLevel.COMMUNE)


def test_a_procedure_is_received_and_routed_only_at_its_competent_level(world, desk_a):
    province_proc = procedure(competent_level=CompetentLevel.PROVINCE)
    commune_proc = procedure(competent_level=CompetentLevel.COMMUNE)
    before = snapshot()
    with translation.override("vi"), pytest.raises(DomainError) as err:
        received_dossier(actor=desk_a.clerk, proc=province_proc)
    assert "Xã Thạch Hà" in err.value.message
    assert snapshot() == before
    # Received at the commune for the province department (Decree 118/2025): allowed.
    for_province = received_dossier(
        actor=desk_a.clerk, proc=province_proc, competent_unit_id=world.hatinh.pk
    )
    assert for_province.unit == world.hatinh
    dossier = received_dossier(actor=desk_a.clerk, proc=commune_proc)
    before = snapshot()
    with pytest.raises(DomainError):
        services.dossier_route(actor=desk_a.clerk, dossier_id=dossier.pk, unit_id=world.hatinh.pk)
    with pytest.raises(DomainError):
        received_dossier(actor=desk_a.clerk, proc=commune_proc, competent_unit_id=world.hatinh.pk)
    assert snapshot() == before
    routed = services.dossier_route(
        actor=desk_a.clerk, dossier_id=dossier.pk, unit_id=world.commune_b.pk
    )
    assert routed.unit == world.commune_b


def test_receive_form_defaults_to_a_unit_the_desk_may_receive_for(world, desk_a):
    page = login(desk_a.clerk).get("/desk/receive/")
    form = page.context["form"]
    assert form.initial["competent_unit_id"] == world.commune_a.pk
    # A clerk whose unit is an old (2021) district: the default is a current unit.
    old = factories.unit(
        parent=world.hatinh, code="436", name="Huyện Thạch Hà", edition="2021", level=2
    )
    clerk = factories.user(unit=old, role=Role.ONE_STOP_CLERK, username="old_clerk")
    form = login(clerk).get("/desk/receive/").context["form"]
    choices = [pk for pk, _name in form.fields["competent_unit_id"].choices]
    assert old.pk not in choices
    assert form.initial["competent_unit_id"] == choices[0]


# --- 10. A calendar edit never moves an existing deadline -------------------------------------


def test_supplied_documents_move_the_deadline_only_by_the_paused_days(world, hana, desk_a):
    proc = procedure(days=5)
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 9))
    assert dossier.due_date == D(2025, 3, 10)
    dossier = desk_a.advance(dossier, until=lc.IN_APPRAISAL, at=local(2025, 3, 3, 10))
    services.dossier_supplement_request(
        actor=desk_a.clerk, dossier_id=dossier.pk, missing=["Ảnh"], at=local(2025, 3, 5, 10)
    )
    # Later, an administrator declares Tuesday 4/3 a day off (before the pause).
    workday_adjustment_set(actor=hana, day=D(2025, 3, 4), is_working_day=False, note="Thử")
    dossier = services.dossier_supplement_receive(
        actor=desk_a.clerk, dossier_id=dossier.pk, at=local(2025, 3, 11, 8)
    )
    # (5/3, 11/3] holds 4 working days: 10/3 + 4 = 14/3, whatever 4/3 has become.
    assert (dossier.paused_days, dossier.due_date) == (4, D(2025, 3, 14))


# --- 12. Submission keys belong to the user who submitted ---------------------------------------


def test_a_submission_key_is_scoped_to_its_user(world, desk_a, desk_b):
    proc = procedure()
    mine = received_dossier(actor=desk_a.clerk, proc=proc, submission_key="k-1")
    # Another user (another unit) with the same key: a new dossier, nothing revealed.
    theirs = received_dossier(actor=desk_b.clerk, proc=proc, submission_key="k-1")
    assert theirs.pk != mine.pk
    assert selectors.dossier_by_submission_key(user=desk_b.clerk, key="k-1") == theirs
    assert selectors.dossier_by_submission_key(user=desk_a.clerk, key="k-1") == mine
    with pytest.raises(services.DuplicateSubmission) as err:
        received_dossier(actor=desk_a.clerk, proc=proc, submission_key="k-1")
    assert mine.code in err.value.message


def test_a_duplicate_never_names_a_dossier_the_user_can_no_longer_read(world, desk_a):
    proc = procedure()
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, submission_key="k-2")
    desk_a.clerk.unit = world.commune_c  # moved to Cà Mau
    desk_a.clerk.save()
    with pytest.raises(services.DuplicateSubmission) as err:
        services.dossier_receive(
            actor=desk_a.clerk, procedure_code=proc.code, applicant_name="B", submission_key="k-2"
        )
    assert dossier.code not in err.value.message
    assert selectors.dossier_by_submission_key(user=desk_a.clerk, key="k-2") is None


def test_a_long_key_still_fits_the_column(desk_a):
    proc = procedure()
    key = "k" * 64
    dossier = received_dossier(actor=desk_a.clerk, proc=proc, submission_key=key)
    assert len(dossier.submission_key) == 64
    assert selectors.dossier_by_submission_key(user=desk_a.clerk, key=key) == dossier


# --- 13. An exemption at intake is counted like a later one --------------------------------------


def test_a_fee_exempted_at_intake_is_rolled_up_on_the_receipt_day(world, desk_a):
    proc = procedure(fee=30000)
    dossier = received_dossier(
        actor=desk_a.clerk, proc=proc, fee_exemption_reason="Hộ nghèo", at=local(2025, 3, 3, 9)
    )
    assert rollup(world.commune_a, "fees_exempted", D(2025, 3, 3)) == 1
    assert rollup(world.commune_a, "fee_amount_exempted", D(2025, 3, 3)) == 30000
    [step] = dossier.transitions.all()
    assert step.data["fee_exemption_reason"] == "Hộ nghèo"
    received_dossier(actor=desk_a.clerk, proc=proc, at=local(2025, 3, 3, 10))
    assert rollup(world.commune_a, "fees_exempted") == 1  # a due fee is not an exemption


# --- 14. 2014-law fees were halved during the whole 2021 campaign ---------------------------


@pytest.mark.parametrize(
    ("on", "fee"),
    [
        (D(2020, 12, 31), 30000),
        (D(2021, 1, 1), 15000),
        (D(2021, 12, 31), 15000),
        (D(2022, 3, 1), 15000),
        (D(2022, 7, 1), 30000),
    ],
)
def test_the_2014_law_fee_was_halved_in_2021_and_early_2022(loaded, on, fee):
    proc = Procedure.objects.get(code=ID_2014_FIRST)
    for area in ("city", "other", "remote"):
        version = selectors.procedure_version_in_force(procedure=proc, on=on, area=area)
        assert (version.area, version.fee) == (area, fee)


# --- 18. The receipt form accepts what the service accepts ------------------------------------


def _form(**data):
    base = {
        "procedure_code": "1.000001",
        "channel": "counter",
        "applicant_name": "Trần Thị Bình",
        "return_method": "counter",
        "submission_key": "k",
    }
    return ReceiveForm({**base, **data}, procedures=[("1.000001", "x")], units=[(1, "Xã")])


def test_receive_form_takes_old_9_digit_ids_and_phones_with_separators(db):
    form = _form(applicant_id_number="123456789", applicant_phone="0912 345.678")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["applicant_phone"] == "0912345678"
    assert form.cleaned_data["applicant_id_number"] == "123456789"
    with translation.override("vi"):
        bad = _form(applicant_id_number="1234567890", applicant_phone="12345")
        assert not bad.is_valid()
        assert bad.errors["applicant_id_number"] == [
            "Số định danh phải gồm 12 chữ số (hoặc 9 chữ số với CMND cũ)."
        ]
        assert bad.errors["applicant_phone"] == [
            "Số điện thoại phải gồm 8 đến 15 chữ số (ví dụ 0912 345 678)."
        ]


# --- 20. On the spot goes through the normal per-stage recording -------------------------------


def test_on_the_spot_records_every_stage_like_separate_steps(world, desk_a):
    proc = procedure(days=3, on_the_spot=True)
    dossier = services.dossier_on_the_spot(
        actor=desk_a.clerk, procedure_code=proc.code, applicant_name="A", at=local(2025, 3, 3, 9)
    )
    audited = list(
        AuditEntry.objects.filter(object_id=str(dossier.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert audited == [f"dossier.{action}" for action in lc.ON_THE_SPOT_PATH]
    steps = list(dossier.transitions.order_by("pk"))
    assert [s.action for s in steps] == list(lc.ON_THE_SPOT_PATH)
    assert all(s.data.get("on_the_spot") for s in steps)
    # The receipt's due day is counted and the return takes it off again, the same day.
    due_events = Event.objects.filter(kind="dossier.due").values_list("day", "measures")
    assert sorted(due_events, key=lambda e: e[1]["due_open"]) == [
        (D(2025, 3, 6), {"due_open": -1}),
        (D(2025, 3, 6), {"due_open": 1}),
    ]
    assert rollup(world.commune_a, "due_open") == 0
    # The clerk's own role still may not approve a normal dossier.
    other = received_dossier(actor=desk_a.clerk)
    other = desk_a.advance(other, until=lc.IN_APPRAISAL)
    with pytest.raises(PermissionDenied):
        services.dossier_approve(actor=desk_a.clerk, dossier_id=other.pk)
