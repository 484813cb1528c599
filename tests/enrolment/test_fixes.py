"""Gap-review fixes: the invitation QR at the station, kind and fee of a renewal, iris
exceptions and threshold, slap quality, the law's ages from the regime table, partial
birth dates, and the session's invitations in an offline pull."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import override_settings
from django.utils import translation

from cancuoc.core.errors import PermissionDenied
from cancuoc.core.models import AuditEntry
from cancuoc.dossiers.models import Dossier
from cancuoc.enrolment import quality, selectors, services
from cancuoc.enrolment.models import Application, Capture, StepTiming
from cancuoc.enrolment.services import intake
from cancuoc.enrolment.services._common import policy_for
from cancuoc.registry import cohort_rules
from cancuoc.registry.models import IdentityDocument
from tests import factories
from tests.enrolment import factories as ef

AT = ef.AT  # 15/9/2025, the 2023 law


@pytest.fixture(autouse=True)
def _biostore(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _capture(application, actor, kind, position, quality_score, seed):
    return services.capture_record(
        actor=actor,
        application_id=application.pk,
        kind=kind,
        position=position,
        image=ef.png(seed=seed),
        content_type="image/png",
        quality=quality_score,
        device="test",
        at=AT,
    )


# --- 3. The invitation's QR code at the station -----------------------------------------


def _invitation(world, alice, hana, person):
    from cancuoc.campaigns.models import Invitation
    from cancuoc.campaigns.services import invitations as inv
    from tests.campaigns import session_factories as sf

    scene = sf.scene(world, alice, hana, show_up_rate=100)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    made = inv.invitations_create(
        actor=alice, session_id=session.pk, citizen_ids=[person.pk]
    ).invited
    return Invitation.objects.select_related("citizen", "session__unit", "slot").get(pk=made[0].pk)


def test_scanning_a_real_notice_qr_finds_the_invited_citizen(world, alice, hana, op_a, carl):
    from cancuoc.campaigns import notices
    from cancuoc.campaigns.services.invitations import code_display

    person = factories.citizen(unit=world.commune_a, full_name="Đặng Thị Hoa", sex="F")
    factories.citizen(unit=world.commune_a, full_name="Đặng Thị Hoa", sex="F")  # a namesake
    invitation = _invitation(world, alice, hana, person)
    bare = notices.notice_context(invitation)["qr"]
    assert bare == invitation.code
    with override_settings(CAMPAIGN_PORTAL_URL="https://dvc.example.vn/portal/invitation/"):
        linked = notices.notice_context(invitation)["qr"]
    assert linked == f"https://dvc.example.vn/portal/invitation/?code={invitation.code}"
    typed = code_display(invitation.code).lower()  # "abcde-fghjk", as an officer types it
    before = AuditEntry.objects.filter(action="citizen.search").count()
    for text in (bare, linked, typed, f"  {bare}\n"):
        assert selectors.citizen_find(op_a, query=text) == [person], text
    entries = AuditEntry.objects.filter(action="citizen.search").order_by("pk")[before:]
    assert [(e.detail["matches"], e.detail["invitation"]) for e in entries] == [(1, True)] * 4
    # Out of scope: Cà Mau's manager scans the same notice and finds nobody.
    assert selectors.citizen_find(carl, query=linked) == []


def test_a_code_shaped_text_that_invites_nobody_falls_back_to_the_other_searches(world, op_a):
    person = factories.citizen(unit=world.commune_a, full_name="Lê Văn Tám")
    assert selectors.invitation_code_in("ABCDE-FGHJK") == "ABCDEFGHJK"
    assert selectors.invitation_code_in("https://x.vn/p/?code=abcde23456&x=1") == "ABCDE23456"
    assert selectors.invitation_code_in("https://x.vn/p/?so=042090000001") == ""
    assert selectors.invitation_code_in("ABCDE-FGHJ0") == ""  # 0 is not in the alphabet
    assert selectors.citizen_find(op_a, query="ABCDE-FGHJK") == []
    qr = f"https://dichvucong.gov.vn/moi?so={person.id_number}&phien=12"
    assert selectors.citizen_find(op_a, query=qr) == [person]


# --- 4. Kind and fee: expired, lost, converted, milestones -------------------------------


def _doc(person, kind, status, issued=None, expires=None, number=None):
    return IdentityDocument.objects.create(
        citizen=person,
        province_code="42",
        kind=kind,
        number=number or person.id_number,
        status=status,
        issue_date=issued,
        expiry_date=expires,
    )


D = dt.date

# (label, birth, documents [(kind, status, issued, expires)], chosen kind, day,
#  expected kind, expected exemption)
CHIP, CC = "cccd_chip", "cancuoc"
CASES = [
    ("no document: first card", D(1990, 5, 17), [],
     None, AT, "first", "Cấp thẻ lần đầu"),
    ("a CMND: conversion, 30,000", D(1990, 5, 17),
     [("cmnd9", "valid", D(2008, 1, 1), None)],
     None, AT, "first", ""),
    ("expired at 25, renewed at 25", D(2000, 5, 1),
     [(CHIP, "expired", D(2016, 6, 1), D(2025, 5, 1))],
     None, AT, "renew", "Đổi thẻ khi đủ 25 tuổi"),
    ("expired at 25, renewed at 26", D(1999, 5, 1),
     [(CHIP, "expired", D(2016, 2, 1), D(2024, 5, 1))],
     None, AT, "renew", "Đổi thẻ khi đủ 25 tuổi"),
    ("status still valid, term over at 25", D(2000, 5, 1),
     [(CHIP, "valid", D(2016, 6, 1), D(2025, 5, 1))],
     None, AT, "renew", "Đổi thẻ khi đủ 25 tuổi"),
    ("issued in the 2-year window: lasts to 40, pays", D(2000, 3, 1),
     [(CHIP, "valid", D(2023, 6, 1), D(2040, 3, 1))],
     None, AT, "renew", ""),
    ("printed expiry only", D(2000, 1, 10),
     [("cccd_barcode", "expired", None, D(2025, 1, 10))],
     None, AT, "renew", "Đổi thẻ khi đủ 25 tuổi"),
    ("a card for life, renewed: pays", D(1960, 1, 1),
     [(CHIP, "valid", D(2019, 6, 1), None)],
     None, AT, "renew", ""),
    ("a lost card: auto renew", D(1991, 2, 2),
     [(CHIP, "lost", D(2021, 3, 1), D(2031, 2, 2))],
     None, AT, "renew", ""),
    ("a lost card, re-issue chosen: 70,000", D(1991, 2, 2),
     [(CHIP, "lost", D(2021, 3, 1), D(2031, 2, 2))],
     "reissue", AT, "reissue", ""),
    ("an enrolment cancelled before issue: still a first card", D(1990, 5, 17),
     [(CC, "cancelled", None, None)],
     None, AT, "first", "Cấp thẻ lần đầu"),
    ("a child's card ends at 14 (2023 law)", D(2012, 9, 1),
     [(CC, "valid", D(2024, 8, 1), D(2026, 9, 1))],
     None, ef.local(2026, 10, 1), "renew", "Đổi thẻ khi đủ 14 tuổi"),
    ("2014 law: renewed at 25", D(1996, 4, 1),
     [(CHIP, "valid", D(2016, 5, 1), D(2021, 4, 1))],
     None, ef.local(2021, 4, 12), "renew", "Đổi thẻ khi đủ 25 tuổi"),
    ("a CMND and an expired card: renew, not convert", D(1996, 4, 1),
     [("cmnd9", "expired", D(2012, 1, 1), None), (CHIP, "expired", D(2016, 5, 1), D(2021, 4, 1))],
     None, AT, "renew", "Đổi thẻ khi đủ 25 tuổi"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("birth", "documents", "chosen", "at", "kind", "exemption"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_kind_and_fee_exemption_table(world, birth, documents, chosen, at, kind, exemption):
    person = factories.citizen(unit=world.commune_a, birth_date=birth)
    for n, (doc_kind, status, issued, expires) in enumerate(documents):
        number = f"18300{n:04d}" if doc_kind == "cmnd9" else None
        _doc(person, doc_kind, status, issued, expires, number)
    day = at.date()
    got = chosen or intake._auto_kind(person, day)
    assert got == kind
    law = "2023" if day >= dt.date(2024, 7, 1) else "2014"
    application = Application(citizen=person, kind=got, law=law, started_at=at)
    assert intake._fee_exemption(application) == exemption


def test_an_expired_card_is_renewed_for_50000_and_a_milestone_renewal_is_free(
    world, station_a, op_a, card_procedures
):
    damaged = factories.citizen(unit=world.commune_a, birth_date=D(2000, 3, 1))
    _doc(damaged, "cccd_chip", "valid", D(2023, 6, 1), D(2040, 3, 1))
    late = factories.citizen(unit=world.commune_a, birth_date=D(1999, 5, 1))
    _doc(late, "cccd_chip", "expired", D(2016, 2, 1), D(2024, 5, 1))
    paid = ef.completed_application(station=station_a, citizen=damaged, actor=op_a)
    free = ef.completed_application(station=station_a, citizen=late, actor=op_a)
    rows = {
        d.citizen_id: (d.procedure.code, d.fee_amount, d.fee_status, d.fee_exemption_reason)
        for d in Dossier.objects.filter(pk__in=[paid.dossier_id, free.dossier_id])
    }
    assert (paid.kind, free.kind) == ("renew", "renew")
    # 50,000 halved to 25,000 on 15/9/2025 (Circular 64/2025, procedures.json).
    assert rows[damaged.pk][:2] == ("1.012410", 25000)
    assert rows[damaged.pk][3] == ""
    assert rows[late.pk][0] == "1.012410"
    assert (rows[late.pk][2], rows[late.pk][3]) == ("exempt", "Đổi thẻ khi đủ 25 tuổi")


def test_milestone_reached_follows_the_card_not_the_day_of_the_visit(world):
    person = factories.citizen(unit=world.commune_a, birth_date=D(1999, 5, 1))
    card = _doc(person, "cccd_chip", "expired", D(2016, 2, 1), D(2024, 5, 1))
    assert intake.milestone_reached(person, card, D(2024, 4, 30), "2023") is None  # not yet
    assert intake.milestone_reached(person, card, D(2024, 5, 1), "2023") == 25
    assert intake.milestone_reached(person, card, D(2026, 1, 1), "2023") == 25  # late: still 25


# --- 7. Iris: threshold of its own and an eye exception ----------------------------------


def test_the_iris_has_its_own_threshold_from_the_policy(world, station_a, op_a):
    assert quality.QualityPolicy().iris_threshold == 60
    policy = policy_for(station_a)
    assert (policy.finger_threshold, policy.iris_threshold) == (40, 60)
    assert quality.finger_verdict(score=50, attempt=1, policy=policy, kind="rolled") == "accept"
    assert quality.finger_verdict(score=50, attempt=1, policy=policy, kind="iris") == "retry"
    assert quality.finger_verdict(score=50, attempt=4, policy=policy, kind="iris") == (
        "exception_allowed"
    )
    application = ef.in_progress_application(station=station_a, actor=op_a, until="face")
    low = _capture(application, op_a, "iris", "R", 50, 1)  # passes 40, not 60
    high = _capture(application, op_a, "iris", "L", 60, 2)
    assert (low.accepted, high.accepted) == (False, True)
    with pytest.raises(services.StepError, match="no quality score"):
        _capture(application, op_a, "iris", "R", None, 3)


def test_a_blind_eye_is_signed_off_by_a_supervisor_and_the_step_completes(
    world, station_a, op_a, sup_a
):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="face")
    services.capture_record(
        actor=op_a, application_id=application.pk, kind="face", position="",
        image=ef.face_png(seed=5), content_type="image/png", quality=95, at=AT,
    )  # fmt: skip
    _capture(application, op_a, "iris", "R", 85, 6)
    with pytest.raises(services.StepError, match="iris L"):
        services.step_complete(actor=op_a, application_id=application.pk, step="face")
    # A finger reason is not an eye reason; the operator cannot sign their own intake.
    with pytest.raises(services.StepError, match="why the eye"):
        intake.biometric_exception_sign(
            actor=op_a, application_id=application.pk, kind="iris", position="L",
            reason="amputated", supervisor_username="sup_a",
            supervisor_password=factories.PASSWORD,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        intake.biometric_exception_sign(
            actor=op_a, application_id=application.pk, kind="iris", position="L",
            reason="blind", supervisor_username="op_a", supervisor_password=factories.PASSWORD,
        )  # fmt: skip
    # An accepted eye needs no exception.
    with pytest.raises(services.StepError, match="already captured"):
        intake.biometric_exception_sign(
            actor=op_a, application_id=application.pk, kind="iris", position="R",
            reason="blind", supervisor_username="sup_a", supervisor_password=factories.PASSWORD,
        )  # fmt: skip
    assert not Capture.objects.filter(application=application, exception__gt="").exists()
    signed = intake.biometric_exception_sign(
        actor=op_a, application_id=application.pk, kind="iris", position="L",
        reason="blind", supervisor_username="sup_a", supervisor_password=factories.PASSWORD,
    )  # fmt: skip
    assert (signed.kind, signed.position, signed.exception, signed.exception_signed_by) == (
        "iris", "L", "blind", sup_a,
    )  # fmt: skip
    again = intake.biometric_exception_sign(
        actor=op_a, application_id=application.pk, kind="iris", position="L",
        reason="blind", supervisor_username="sup_a", supervisor_password=factories.PASSWORD,
    )  # fmt: skip
    assert again.pk == signed.pk  # a double submit
    with pytest.raises(services.StepError, match="Eye L has an exception"):
        _capture(application, op_a, "iris", "L", 90, 7)
    assert StepTiming.objects.get(application=application, step="face").exceptions == 1
    entry = AuditEntry.objects.get(action="enrolment.eye_exception")
    assert (entry.detail["position"], entry.detail["reason"], entry.detail["supervisor"]) == (
        "L", "blind", "sup_a",
    )  # fmt: skip
    services.step_complete(actor=op_a, application_id=application.pk, step="face")
    application.refresh_from_db()
    assert application.step == "review"


def test_an_unreadable_eye_needs_its_retries_first(world, station_a, op_a, sup_a):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="face")

    def sign():
        return intake.biometric_exception_sign(
            actor=op_a, application_id=application.pk, kind="iris", position="R",
            reason="unreadable", supervisor_username="sup_a",
            supervisor_password=factories.PASSWORD,
        )  # fmt: skip

    with pytest.raises(services.StepError, match="retries first"):
        sign()
    for attempt in range(1, 5):
        _capture(application, op_a, "iris", "R", 30, 10 + attempt)
    with pytest.raises(services.StepError, match="Eye R used up its retries"):
        _capture(application, op_a, "iris", "R", 90, 20)
    assert sign().exception == "unreadable"


def test_the_wizard_signs_off_an_eye(client, world, station_a, op_a, sup_a):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="face")
    client.force_login(op_a)
    url = f"/enrolment/applications/{application.pk}/"
    page = client.get(url)
    assert b'id="eye-exception-panel"' in page.content
    post = {
        "kind": "iris", "position": "L", "reason": "missing",
        "supervisor_username": "sup_a", "supervisor_password": "wrong",
    }  # fmt: skip
    refused = client.post(f"{url}exception/", post)
    assert refused.status_code == 400
    assert not Capture.objects.filter(application=application, exception__gt="").exists()
    assert b"wrong" not in refused.content.split(b'id="eye-pass"')[1][:200]
    done = client.post(f"{url}exception/", {**post, "supervisor_password": factories.PASSWORD})
    assert done.status_code == 302
    capture = Capture.objects.get(application=application, exception="missing")
    assert (capture.kind, capture.position, capture.exception_signed_by) == ("iris", "L", sup_a)
    page = client.get(url)
    tile = page.content.split(b'id="tile-iris-L"')[0].rsplit(b"<div", 1)[1]
    assert b'data-state="excepted"' in tile


# --- 12. Slaps must pass the threshold or use up their retries ---------------------------


def _fingers(application, actor, slap_scores):
    seed = 100
    for slap, score in slap_scores:
        seed += 1
        _capture(application, actor, "slap", slap, score, seed)
    for finger in quality.FINGERS:
        seed += 1
        _capture(application, actor, "rolled", finger, 80, seed)


def test_a_slap_below_the_threshold_must_be_retried(world, station_a, op_a):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="fingerprints")
    _fingers(application, op_a, [("LS", 80), ("RS", 80), ("TS", 25)])
    with pytest.raises(services.StepError, match="slap TS"):
        services.step_complete(actor=op_a, application_id=application.pk, step="fingerprints")
    _capture(application, op_a, "slap", "TS", 70, 300)
    services.step_complete(actor=op_a, application_id=application.pk, step="fingerprints")
    application.refresh_from_db()
    assert application.step == "face"


def test_a_slap_whose_retries_are_used_up_is_kept_and_takes_no_more(world, station_a, op_a):
    application = ef.in_progress_application(station=station_a, actor=op_a, until="fingerprints")
    _fingers(application, op_a, [("LS", 80), ("RS", 80), ("TS", 25)])
    for n in range(3):  # attempts 2, 3 and 4: the first plus 3 retries
        _capture(application, op_a, "slap", "TS", 20, 400 + n)
    with pytest.raises(services.StepError, match="Slap TS used up its retries"):
        _capture(application, op_a, "slap", "TS", 90, 500)
    assert Capture.objects.filter(application=application, kind="slap", position="TS").count() == 4
    services.step_complete(actor=op_a, application_id=application.pk, step="fingerprints")


# --- 13. The law's ages come from the regime table ---------------------------------------


def test_the_ages_follow_the_regime_table(monkeypatch):
    regime = quality.law_regime("2023")
    assert (regime.no_biometrics_below, regime.must_from_age) == (6, 14)
    changed = tuple(
        _replace(r, no_biometrics_below=8, must_from_age=16) if r.code == "identity_2023" else r
        for r in cohort_rules.REGIMES
    )
    monkeypatch.setattr(quality, "REGIMES", changed)
    assert quality.biometrics_required(age_years=7, law="2023").fingerprints is False
    assert quality.biometrics_required(age_years=8, law="2023").fingerprints is True
    assert quality.biometrics_required(age_years=15, law="2023").guardian is True
    assert quality.biometrics_required(age_years=16, law="2023").guardian is False


def _replace(regime, **changes):
    import dataclasses

    return dataclasses.replace(regime, **changes)


def test_the_renewal_milestones_come_from_the_regime(world, monkeypatch):
    person = factories.citizen(unit=world.commune_a, birth_date=D(2000, 5, 1))
    card = _doc(person, "cccd_chip", "expired", D(2016, 6, 1), D(2025, 5, 1))
    assert intake.milestone_reached(person, card, AT.date(), "2023") == 25
    changed = tuple(
        _replace(r, renewal_ages=(14, 40, 60)) if r.code == "identity_2023" else r
        for r in cohort_rules.REGIMES
    )
    monkeypatch.setattr(quality, "REGIMES", changed)
    assert intake.milestone_reached(person, card, AT.date(), "2023") is None


def test_the_2014_law_refuses_a_child_from_its_own_ages(world, station_a, op_a):
    child = factories.citizen(unit=world.commune_a, birth_date=D(2008, 1, 1))
    with pytest.raises(services.EnrolmentError, match=r"2014 law .* age of 14"):
        services.application_start(
            actor=op_a, station_id=station_a.pk, citizen_id=child.pk,
            application_id=uuid.uuid4(), guardian_name="Nguyễn Văn Bố",
            at=ef.local(2021, 4, 12),
        )  # fmt: skip
    assert not Application.objects.filter(citizen=child).exists()


# --- 14. Partial birth dates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("precision", "shown"), [("year", "year of the citizen's birth (1970)"),
                             ("month", "month of the citizen's birth (03/1970)")]
)  # fmt: skip
def test_an_intake_needs_a_birth_date_exact_to_the_day(world, station_a, op_a, precision, shown):
    person = factories.citizen(
        unit=world.commune_a, birth_date=D(1970, 3 if precision == "month" else 1, 1),
        birth_precision=precision,
    )  # fmt: skip
    with pytest.raises(services.EnrolmentError) as raised:
        services.application_start(
            actor=op_a, station_id=station_a.pk, citizen_id=person.pk,
            application_id=uuid.uuid4(), at=AT,
        )  # fmt: skip
    assert shown in raised.value.message
    assert "correct the birth date to the exact day in the registry first" in raised.value.message
    assert not Application.objects.filter(citizen=person).exists()
    person.birth_precision = "day"
    person.save()
    started = services.application_start(
        actor=op_a, station_id=station_a.pk, citizen_id=person.pk,
        application_id=uuid.uuid4(), at=AT,
    )  # fmt: skip
    assert started.status == "in_progress"


# --- 5. The offline pull carries the session's invitations -------------------------------


def test_the_pull_carries_the_sessions_invitations_and_their_citizens(world, alice, hana, settings):
    from cancuoc.campaigns.models import Invitation
    from cancuoc.campaigns.services import invitations as inv
    from tests.campaigns import session_factories as sf
    from tests.enrolment.test_offline import Field

    settings.BIOMETRIC_FSYNC = False
    field = Field(world)
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    morning = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    later = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="09:00", end="10:00")
    elsewhere = sf.session(alice, scene.camp, world.commune_a, scene.crew, on=sf.day(9))
    child = factories.citizen(unit=world.commune_a, birth_date=D(2015, 1, 1))  # not in cohort
    adult = factories.citizen(unit=world.commune_a)
    other_day = factories.citizen(unit=world.commune_a, birth_date=D(2016, 2, 2))
    for session, person in ((morning, child), (later, adult), (elsewhere, other_day)):
        inv.invitations_create(actor=alice, session_id=session.pk, citizen_ids=[person.pk])
    codes = dict(Invitation.objects.values_list("citizen_id", "code"))
    station_session = ef.session(station=field.station, day=morning.day)

    data = (
        field.transport()
        .request("GET", f"/stations/MOB-A/pull?session={station_session.pk}")
        .json()
    )
    rows = [(r["citizen_id"], r["code"], r["session_id"], r["start"]) for r in data["invitations"]]
    assert rows == [
        (child.pk, codes[child.pk], morning.pk, "07:30"),
        (adult.pk, codes[adult.pk], later.pk, "09:00"),
    ]
    pulled = {c["id"] for c in data["citizens"]}
    assert {child.pk, adult.pk} <= pulled
    assert other_day.pk not in pulled
    assert AuditEntry.objects.filter(action="enrolment.pull").last().detail["invitations"] == 2

    # A station session opened for one campaign session takes only that one's invitations.
    station_session.campaign_session_ref = str(later.pk)
    station_session.save()
    data = (
        field.transport()
        .request("GET", f"/stations/MOB-A/pull?session={station_session.pk}")
        .json()
    )
    assert [r["citizen_id"] for r in data["invitations"]] == [adult.pk]
