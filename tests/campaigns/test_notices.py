"""Printed notices (PDF with a QR code, 1/2/4 a page, as a background job), the SMS/Zalo
file and the message gateway."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pypdf
import pytest
from django.test import override_settings
from django.utils import translation

from cancuoc.campaigns import gateways, notices
from cancuoc.campaigns.models import Invitation, NoticeJob, OutboundMessage
from cancuoc.campaigns.services import invitations as inv
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from tests import factories
from tests.campaigns import session_factories as sf


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _setup(world, alice, hana, count=5, **citizen_fields):
    scene = sf.scene(world, alice, hana, show_up_rate=100)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew, start="07:30",
                         end="08:30", site="Nhà văn hóa thôn 3")  # fmt: skip
    people = [
        factories.citizen(
            unit=world.commune_a,
            full_name=f"Nguyễn Thị Hằng {i}",
            id_number=f"04219000{i:04d}",
            **citizen_fields,
        )
        for i in range(count)
    ]
    made = inv.invitations_create(
        actor=alice, session_id=session.pk, citizen_ids=[p.pk for p in people]
    ).invited
    return scene, session, people, made


def _text(path_or_bytes) -> tuple[int, list[str]]:
    data = Path(path_or_bytes).read_bytes() if isinstance(path_or_bytes, str) else path_or_bytes
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), [page.extract_text() for page in reader.pages]


@pytest.mark.parametrize(("per_page", "pages"), [(1, 5), (2, 3), (4, 2)])
def test_a_notice_job_prints_every_invitation_with_its_code(
    world, alice, hana, django_capture_on_commit_callbacks, per_page, pages
):
    scene, session, people, made = _setup(world, alice, hana)
    with django_capture_on_commit_callbacks(execute=True):
        job = notices.notices_start(
            actor=alice, campaign_id=scene.camp.pk, session_id=session.pk, per_page=per_page
        )
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.per_page) == ("done", 5, 5, per_page)
    assert job.finished_at is not None
    count, texts = _text(job.stored_path)
    assert count == pages
    text = "\n".join(texts)
    for invitation, person in zip(made, people, strict=True):
        assert person.full_name.upper() in text
        assert inv.code_display(invitation.code) in text
        assert "••••••" + person.id_number[-6:] in text
        assert person.id_number not in text  # only the last 6 digits are printed
    assert "GIẤY MỜI" in text
    assert "CÔNG AN XÃ THẠCH HÀ" in text
    assert (
        f"07:30 – 08:00, {notices._WEEKDAYS[session.day.weekday()]} ngày {session.day:%d/%m/%Y}"
        in text
    )
    assert "Nhà văn hóa thôn 3" in text
    entry = AuditEntry.objects.get(action="campaigns.notices.start")
    assert entry.detail["notices"] == 5


def test_the_qr_code_is_drawn_from_the_code_or_the_portal_address(world, alice, hana):
    _scene, _session, _people, made = _setup(world, alice, hana, count=1)
    invitation = Invitation.objects.select_related("citizen", "session__unit", "slot").get(
        pk=made[0].pk
    )
    assert notices.notice_context(invitation)["qr"] == invitation.code
    with override_settings(CAMPAIGN_PORTAL_URL="https://dvc.example.vn/portal/invitation/"):
        context = notices.notice_context(invitation)
    assert context["qr"] == f"https://dvc.example.vn/portal/invitation/?code={invitation.code}"
    # The drawing: one rectangle per run of dark modules of the QR matrix.
    import segno

    matrix = segno.make(invitation.code, error="m", micro=False, mask=0, boost_error=False).matrix
    runs = sum(len(re.findall(rb"\x01+", bytes(row))) for row in matrix)
    drawn = notices._qr_path(invitation.code, 0, 0, 100)
    assert drawn.count(b" re") == runs
    assert drawn.startswith(b"q 0 g ") and drawn.endswith(b" f Q")


def test_only_expected_invitations_in_scope_are_printed(world, alice, bob, hana):
    scene, session, _people, made = _setup(world, alice, hana, count=3)
    inv.invitation_mark(actor=alice, invitation_id=made[0].pk, status="cancelled")
    job = notices.notices_start(actor=alice, campaign_id=scene.camp.pk, session_id=session.pk)
    assert sorted(job.invitation_ids) == sorted(i.pk for i in made[1:])
    assert job.status == NoticeJob.Status.QUEUED
    with pytest.raises(PermissionDenied):
        notices.notices_start(actor=bob, campaign_id=scene.camp.pk, session_id=session.pk)
    carl = factories.user(unit=world.camau, role="province_manager")
    with pytest.raises(OutOfScope):
        notices.notices_start(actor=carl, campaign_id=scene.camp.pk, session_id=session.pk)
    with pytest.raises(notices.NoticeError, match="1, 2 or 4"):
        notices.notices_start(actor=alice, campaign_id=scene.camp.pk, per_page=3)
    with pytest.raises(OutOfScope):
        notices.notice_job_get(user=bob, job_id=job.pk)
    assert notices.notice_job_get(user=hana, job_id=job.pk) == job


def test_a_failed_job_says_so(world, alice, hana, monkeypatch):
    scene, session, _people, _made = _setup(world, alice, hana, count=1)
    job = notices.notices_start(actor=alice, campaign_id=scene.camp.pk, session_id=session.pk)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(notices, "notices_pdf", broken)
    with pytest.raises(RuntimeError):
        notices.notices_render(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_message) == ("failed", "disk full")


def test_the_sms_file_has_phone_and_text(world, alice, hana):
    _scene, session, people, made = _setup(world, alice, hana, count=3, phone="0912345678")
    people[2].phone = ""
    people[2].save()
    data = notices.messages_export(user=alice, session_id=session.pk)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["phone", "text"]
    assert len(rows) == 3  # the citizen without a phone is left out
    first = made[0]
    assert rows[1] == [
        "0912345678",
        f"CONG AN XA THACH HA moi Nguyen Thi Hang 0 den lam can cuoc luc 07:30 ngay "
        f"{session.day:%d/%m/%Y} tai Nha van hoa thon 3. "
        f"Ma giay moi: {inv.code_display(first.code)}.",
    ]
    zalo = notices.messages_export(user=alice, session_id=session.pk, channel="zalo")
    assert "Nguyễn Thị Hằng 0 đến làm căn cước" in zalo.decode("utf-8-sig")
    assert AuditEntry.objects.filter(action="campaigns.messages.export").count() == 2
    # The export offered by the invitations module is the same file.
    assert inv.messages_export(user=alice, session_id=session.pk) == data


def test_the_default_gateway_only_records_and_a_reminder_marks_reminded(world, alice, hana):
    _scene, session, _people, _made = _setup(world, alice, hana, count=2, phone="0987654321")
    assert isinstance(gateways.gateway_get(), gateways.LoggingGateway)
    sent = notices.messages_send(actor=alice, session_id=session.pk, kind="reminder")
    assert sent == 2
    rows = list(OutboundMessage.objects.order_by("pk"))
    assert [(m.channel, m.phone, m.gateway) for m in rows] == [("sms", "0987654321", "log")] * 2
    assert rows[0].text.startswith("CONG AN XA THACH HA nhac: Nguyen Thi Hang")
    assert set(Invitation.objects.values_list("status", flat=True)) == {"reminded"}


class _Recorder(gateways.LoggingGateway):
    name = "recorder"


@override_settings(CAMPAIGN_MESSAGE_GATEWAY="tests.campaigns.test_notices._Recorder")
def test_a_gateway_is_chosen_by_setting(world, alice, hana):
    _scene, session, _people, _made = _setup(world, alice, hana, count=1, phone="0900000001")
    notices.messages_send(actor=alice, session_id=session.pk)
    assert list(OutboundMessage.objects.values_list("gateway", flat=True)) == ["recorder"]


@pytest.mark.parametrize("per_page", [1, 2, 4])
def test_long_names_and_places_stay_clear_of_the_qr_code(per_page):
    import datetime as dt
    from types import SimpleNamespace as NS

    unit = NS(name="Phường Nguyễn Trãi Bắc Kạn Hưng Yên Mở Rộng")
    invitation = NS(
        code="ABCDEFGHJK",
        session=NS(unit=unit, day=dt.date(2026, 3, 16),
                   site_name="Nhà văn hóa tổ dân phố Đông Thượng Hưng, gần chợ trung tâm cũ"),
        citizen=NS(full_name="Tôn Nữ Hoàng Thị Phương Thảo Nguyễn Ngọc Bích", phone="",
                   birth_date=dt.date(1944, 12, 31), birth_precision="day",
                   id_number="042144012345"),
        slot=NS(start=dt.time(13, 30), end=dt.time(14, 0)),
    )  # fmt: skip
    writer = notices._Writer(per_page)
    for _ in range(per_page):
        writer.add(notices.notice_context(invitation))
    assert writer.overflows == 0
    assert len(writer.pages) == 1
