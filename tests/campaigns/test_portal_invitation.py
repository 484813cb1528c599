"""The citizen's invitation pages: look up (throttled), see, move to a free time."""

from __future__ import annotations

import pytest
from django.utils import translation

from cancuoc.campaigns.models import Invitation, Slot
from cancuoc.campaigns.services import invitations as inv
from cancuoc.core.models import AuditEntry
from tests import factories
from tests.campaigns import session_factories as sf

LOOKUP = "/portal/invitation/"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def invited(world, alice, hana):
    scene = sf.scene(world, alice, hana)
    s1 = sf.session(alice, scene.camp, world.commune_a, scene.crew, site="Hội trường xã")
    s2 = sf.session(alice, scene.camp, world.commune_a, scene.crew, on=sf.day(9),
                    site="Nhà văn hóa thôn 3", kind="village_hall")  # fmt: skip
    home = sf.session(alice, scene.camp, world.commune_a, scene.crew, on=sf.day(10),
                      site="Thăm tại nhà", kind="home")  # fmt: skip
    person = factories.citizen(unit=world.commune_a, full_name="Trần Thị Mai",
                               id_number="042190123456")  # fmt: skip
    invitation = inv.invitations_create(
        actor=alice, session_id=s1.pk, citizen_ids=[person.pk]
    ).invited[0]
    return invitation, s1, s2, home


def _login(client, invitation, digits="123456"):
    return client.post(LOOKUP, {"code": inv.code_display(invitation.code).lower(),
                                "id_last6": digits})  # fmt: skip


def test_a_citizen_finds_their_invitation_with_code_and_id_digits(client, invited):
    invitation, s1, _s2, _home = invited
    response = _login(client, invitation)
    assert response.status_code == 302
    assert response["Location"] == f"/portal/invitation/{invitation.code}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Trần Thị Mai" in html
    assert f"07:30–08:00, {s1.day:%d/%m/%Y}" in html
    assert "Hội trường xã, Xã Thạch Hà" in html
    assert AuditEntry.objects.filter(action="portal.invitation.lookup").count() == 1


def test_wrong_digits_unknown_codes_and_unproved_pages_reveal_nothing(client, invited):
    invitation, *_ = invited
    wrong = _login(client, invitation, digits="654321")
    assert wrong.status_code == 200
    with translation.override("vi"):
        failed = translation.gettext(
            "No invitation matches this code and these digits. Check both and try again."
        )
    assert failed in wrong.content.decode()
    unknown = client.post(LOOKUP, {"code": "ZZZZZ-ZZZZZ", "id_last6": "123456"})
    assert failed in unknown.content.decode()
    page = client.get(f"/portal/invitation/{invitation.code}/")
    assert page.status_code == 302
    assert page["Location"] == f"/portal/invitation/?code={invitation.code}"


def test_lookups_are_throttled_per_code(client, invited, settings):
    settings.PORTAL_LOOKUP_MAX_FAILURES = 3
    invitation, *_ = invited
    for _ in range(3):
        assert _login(client, invitation, digits="000000").status_code == 200
    # Even the right digits are refused now, from any address.
    blocked = _login(client, invitation)
    assert blocked.status_code == 429
    with translation.override("vi"):  # the page speaks the site's language
        expected = inv.InvitationLookupThrottled().message
    assert expected in blocked.content.decode()


def test_the_citizen_moves_to_a_free_public_time(client, invited):
    invitation, s1, s2, home = invited
    _login(client, invitation)
    url = f"/portal/invitation/{invitation.code}/"
    html = client.get(url).content.decode()
    choices = set(
        Slot.objects.filter(session__in=[s1, s2]).exclude(pk=invitation.slot_id)
        .values_list("pk", flat=True)
    )  # fmt: skip
    for pk in choices:
        assert f'value="{pk}"' in html
    home_slot = Slot.objects.filter(session=home).first()
    assert f'value="{home_slot.pk}"' not in html  # nobody books a stranger's home visit
    target = Slot.objects.filter(session=s2).order_by("start").last()
    response = client.post(url, {"slot_id": target.pk})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert (invitation.status, invitation.slot_id, invitation.session_id) == (
        "rescheduled", target.pk, s2.pk,
    )  # fmt: skip
    assert sf.slots(s1)[0] == ("07:30", "08:00", 5, 0)
    assert sf.slots(s2)[1] == ("08:00", "08:30", 6, 1)
    entry = AuditEntry.objects.get(action="campaigns.invitation.reschedule")
    assert entry.actor is None and entry.detail["by"] == "citizen"


def test_a_full_or_forbidden_time_changes_nothing(client, invited):
    invitation, s1, s2, home = invited
    _login(client, invitation)
    url = f"/portal/invitation/{invitation.code}/"
    target = Slot.objects.filter(session=s2).order_by("start").first()
    page = client.get(url)  # the form offers the slot while it is free
    assert f'value="{target.pk}"' in page.content.decode()
    Slot.objects.filter(pk=target.pk).update(booked=target.capacity)
    response = client.post(url, {"slot_id": target.pk})
    assert response.status_code in (400, 409)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.slot.session_id) == ("invited", s1.pk)
    # The service refuses a home visit slot to a citizen even if asked directly.
    home_slot = Slot.objects.filter(session=home).first()
    with translation.override("en"), pytest.raises(inv.InvitationError, match="cannot be chosen"):
        inv.invitation_reschedule(actor=None, invitation_id=invitation.pk, slot_id=home_slot.pk)
    assert Invitation.objects.get(pk=invitation.pk).slot_id == invitation.slot_id
