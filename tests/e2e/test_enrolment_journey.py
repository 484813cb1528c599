"""Two enrolments in a real browser with simulated devices, driven from the keyboard.

The first is the happy path: the test counts the operator's actions (clicks, key
presses and fills that are not device captures) and holds them to the issue's budget of
10. The second citizen has a worn finger that the capture sequence retries until it
passes, and a missing finger that a supervisor signs off at the station with their own
username and password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect

from cancuoc.enrolment.devices.simulator import simulator_reset
from cancuoc.enrolment.models import Application, Capture
from tests import factories
from tests.enrolment import factories as ef

ACTION_BUDGET = 10
SEQUENCE_TIMEOUT = 60_000  # ms: a capture sequence asks the simulator 13+ times


@dataclass
class Operator:
    """Drives the page and counts what the operator does. Device captures (the key that
    runs a capture sequence) are counted apart: the budget is for everything else."""

    page: object
    actions: list[str] = field(default_factory=list)
    captures: list[str] = field(default_factory=list)

    def fill(self, selector: str, text: str) -> None:
        self.actions.append(f"fill {selector}")
        self.page.fill(selector, text)

    def key(self, key: str, *, navigates: bool = True) -> None:
        """A key press on whatever has the focus (the page's autofocus puts it right)."""
        self.actions.append(f"key {key}")
        if navigates:
            with self.page.expect_navigation():
                self.page.keyboard.press(key)
        else:
            self.page.keyboard.press(key)

    def capture(self, key: str = "c") -> None:
        """The capture shortcut: the devices run the whole sequence, then the page reloads."""
        self.captures.append(f"capture {key}")
        with self.page.expect_navigation(timeout=SEQUENCE_TIMEOUT):
            self.page.keyboard.press(key)

    def print_form(self, key: str) -> bytes:
        """Print a form: the key opens the PDF in a new tab; its bytes are returned."""
        self.actions.append(f"print {key}")
        link = self.page.locator(f'[data-key="{key}"]')
        href = link.get_attribute("href")
        with self.page.context.expect_page() as popup:
            self.page.keyboard.press(key)
        popup.value.close()
        response = self.page.request.get(urljoin(self.page.url, href))
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        return response.body()


def log_in(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}{next_url}")


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def _invitation(world, alice, hana, citizen):
    """A real campaign invitation for ``citizen`` (campaign, session, slot, code)."""
    from cancuoc.campaigns.models import Invitation
    from cancuoc.campaigns.services import invitations as inv
    from tests.campaigns import session_factories as sf

    scene = sf.scene(world, alice, hana, show_up_rate=100)
    session = sf.session(alice, scene.camp, world.commune_a, scene.crew)
    made = inv.invitations_create(actor=alice, session_id=session.pk, citizen_ids=[citizen.pk])
    return Invitation.objects.select_related("citizen", "session__unit", "slot").get(
        pk=made.invited[0].pk
    )


def notice_qr(invitation) -> str:
    """What the printed notice's QR code holds (campaigns/notices.py), with the portal link."""
    from django.test import override_settings

    from cancuoc.campaigns.notices import notice_context

    with override_settings(CAMPAIGN_PORTAL_URL="https://dichvucong.example.vn/portal/invitation/"):
        return notice_context(invitation)["qr"]


@pytest.fixture
def biometrics(settings, tmp_path):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    simulator_reset()
    yield
    simulator_reset()


@pytest.mark.django_db(transaction=True)
def test_an_enrolment_at_a_station_with_a_worn_finger_and_a_supervisor_sign_off(
    live_server, page, screenshot, world, biometrics, alice, hana
):
    base = live_server.url
    ef.load_card_procedures()
    operator = ef.operator(world.commune_a, "op_thach_ha")
    ef.supervisor(world.commune_a, "truong_cong_an")
    station = ef.station(
        unit=world.commune_a,
        operators=[operator],
        code="TH-01",
        name="Trạm Công an xã Thạch Hà",
        device_profile={
            "adapter": "simulator",
            "seed": 2025,
            "finger_quality_mean": 80,
            "face_quality_mean": 97,
        },
    )
    an = factories.citizen(unit=world.commune_a, full_name="Nguyễn Văn An")
    hoa = factories.citizen(
        unit=world.commune_a, full_name="Đặng Thị Hoa", sex="F", permanent_address="Thôn 3"
    )
    find_url = f"/enrolment/stations/{station.pk}/find/"
    # Hoa was invited by the commune's campaign: her printed notice carries a QR code.
    invitation = _invitation(world, alice, hana, hoa)

    # The operator logs in to the station's page; the start of the day is not counted.
    log_in(page, base, operator.username, "/enrolment/")
    screenshot("enrolment-home")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # "Enrol a citizen" has the focus
    assert page.url == f"{base}{find_url}"

    # --- Citizen 1: the happy path, counted ----------------------------------------------
    op = Operator(page)
    assert focused_id(page) == "id_q"
    op.fill("#id_q", an.id_number)  # a QR scanner would type this and press Enter
    op.key("Enter")
    expect(page.locator(".result")).to_have_count(1)
    screenshot("enrolment-find")
    assert "start" in page.evaluate("document.activeElement.className")
    op.key("Enter")  # Start enrolment
    application = Application.objects.get(citizen=an)
    wizard_url = f"{base}/enrolment/applications/{application.pk}/"
    assert page.url == wizard_url
    expect(page.locator("#stepper li.current")).to_contain_text("Xác nhận")
    expect(page.locator("#registry-data")).to_contain_text("Nguyễn Văn An")
    screenshot("enrolment-step1-confirm")
    op.key("Enter")  # the data is correct

    expect(page.locator("#step-fingerprints")).to_be_visible()
    assert focused_id(page) == "capture-all"
    op.capture()
    expect(page.locator("#fingers [data-state=accepted]")).to_have_count(13)
    assert focused_id(page) == "next"
    screenshot("enrolment-step2-fingerprints")
    op.key("Enter")

    expect(page.locator("#step-face")).to_be_visible()
    op.capture()
    expect(page.locator("#face [data-state=accepted]")).to_have_count(3)  # face + 2 irises
    expect(page.locator("#face-image")).to_be_visible()
    screenshot("enrolment-step3-face")
    op.key("Enter")

    expect(page.locator("#step-review")).to_be_visible()
    screenshot("enrolment-step4-review")
    op.key("Enter")

    expect(page.locator("#step-sign")).to_be_visible()
    op.capture()
    expect(page.locator("#signature [data-state=accepted]")).to_have_count(1)
    op.key("Enter")  # the citizen confirms: finish

    application.refresh_from_db()
    assert application.status == "completed"
    expect(page.locator("#dossier-code")).to_have_text(application.dossier.code)
    screenshot("enrolment-done")
    assert op.print_form("p")[:5] == b"%PDF-"  # CC01
    assert op.print_form("a")[:5] == b"%PDF-"  # CC02, with the return date
    assert len(op.captures) == 3
    assert len(op.actions) <= ACTION_BUDGET, op.actions
    happy_path = len(op.actions)

    # --- Citizen 2: a worn finger retried, a missing finger signed off --------------------
    station.device_profile = {
        **station.device_profile,
        "worn_fingers": ["L3"],
        "worn_retries": 2,
        "missing_fingers": ["R5"],
    }
    station.save()
    op = Operator(page)
    op.key("n")  # next citizen
    assert page.url == f"{base}{find_url}"
    op.fill("#id_q", notice_qr(invitation))  # the scanner types the notice's QR code
    op.key("Enter")
    op.key("Enter")
    application = Application.objects.get(citizen=hoa)
    op.key("Enter")

    op.capture()
    # The sequence stopped on the missing finger and opened the exception form for it.
    assert page.url.endswith("?exception=R5")
    worn = page.locator("#tile-rolled-L3")
    expect(worn).to_have_attribute("data-state", "accepted")
    expect(worn.locator(".att")).to_have_text("3")
    expect(page.locator("#tile-rolled-R5")).to_have_attribute("data-state", "pending")
    expect(page.locator("#exception-panel")).to_have_attribute("open", "")
    expect(page.locator("#ex-position")).to_have_value("R5")
    expect(page.locator("#ex-reason")).to_have_value("missing")
    attempts = list(
        Capture.objects.filter(application=application, kind="rolled", position="L3")
        .order_by("attempt")
        .values_list("attempt", "accepted")
    )
    assert attempts == [(1, False), (2, False), (3, True)]

    # The supervisor types a wrong password first: refused, nothing recorded.
    page.fill("#ex-user", "truong_cong_an")
    page.fill("#ex-pass", "sai-mat-khau")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#exception-form .msg-error")).to_contain_text("không đúng")
    assert not Capture.objects.filter(application=application, exception__gt="").exists()
    screenshot("enrolment-step2-exception")

    op.fill("#ex-user", "truong_cong_an")
    op.fill("#ex-pass", factories.PASSWORD)
    op.key("Enter")
    expect(page.locator("#tile-rolled-R5")).to_have_attribute("data-state", "excepted")
    expect(page.locator("#tile-rolled-R5")).to_contain_text("truong_cong_an")
    screenshot("enrolment-step2-signed-off")
    assert focused_id(page) == "next"
    op.key("Enter")
    op.capture()
    op.key("Enter")
    expect(page.locator("#review-biometrics")).to_contain_text("R5")
    op.key("Enter")
    op.capture()
    op.key("Enter")
    application.refresh_from_db()
    assert application.status == "completed"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.application_id) == ("attended", application.pk)
    exception = Capture.objects.get(application=application, position="R5", exception="missing")
    assert exception.exception_signed_by.username == "truong_cong_an"
    # The same path plus the supervisor's three (username, password, Enter) and the key
    # that opened the next citizen.
    assert len(op.actions) == happy_path - 2 + 1 + 3, op.actions

    # --- Resume after a cut --------------------------------------------------------------
    binh = factories.citizen(unit=world.commune_a, full_name="Lê Văn Bình")
    page.goto(f"{base}{find_url}?q={binh.id_number}")
    # On a loaded machine the key must not outrun the autofocus of the page just drawn.
    expect(page.locator("button.start").first).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#stepper li.current")).to_contain_text("Xác nhận")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # confirm: now at fingerprints
    page.goto("about:blank")  # the connection is cut; the operator comes back later
    page.goto(f"{base}/enrolment/")
    resume = page.locator(".resume-link")
    expect(resume).to_have_count(1)
    expect(resume).to_contain_text("Lê Văn Bình")
    assert "resume-link" in page.evaluate("document.activeElement.className")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#step-fingerprints")).to_be_visible()
    assert re.search(r"/enrolment/applications/[0-9a-f-]+/$", page.url)

    # --- The supervisor: station, approval, statistics, cards -----------------------------
    page.goto(f"{base}/enrolment/stations/{station.pk}/")
    expect(page.locator("#station-title")).to_contain_text("TH-01")
    screenshot("enrolment-station")
    page.click("form[action='/accounts/logout/'] button")
    page.wait_for_load_state()
    log_in(page, base, "truong_cong_an", "/enrolment/")
    expect(page.locator("#awaiting tbody tr")).to_have_count(2)
    page.locator("#awaiting input[type=checkbox]").first.check()
    page.locator("#awaiting input[type=checkbox]").last.check()
    screenshot("enrolment-overview")
    with page.expect_navigation():
        page.click("#approve")
    expect(page.locator(".msg-success")).to_contain_text("2")
    page.goto(f"{base}/enrolment/stats/")
    expect(page.locator("#kpi-count")).to_have_text("2")
    expect(page.locator("#per-step tbody tr")).to_have_count(5)
    screenshot("enrolment-stats")
    page.goto(f"{base}/enrolment/cards/")
    expect(page.locator("#cards tbody tr")).to_have_count(2)
    expect(page.locator("#cards")).to_contain_text(an.id_number)
    screenshot("enrolment-cards")
