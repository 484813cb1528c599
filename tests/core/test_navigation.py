"""Navigation: every link resolves, and each user sees only the pages their role opens."""

from django.test import Client

from cancuoc.accounts.roles import Role
from tests import factories


def _nav(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return response.context["nav_sections"], response.context["nav_subsections"]


def test_a_clerk_sees_the_registry_and_desk_and_the_desk_pages_of_their_work(world):
    factories.user(unit=world.commune_a, role=Role.ONE_STOP_CLERK, username="clerk")
    client = Client()
    client.login(username="clerk", password=factories.PASSWORD)
    sections, sub = _nav(client, "/desk/")
    urls = {s["key"]: s["url"] for s in sections}
    assert urls == {
        "registry": "/registry/",
        "campaigns": "/campaigns/",
        "enrolment": "/enrolment/",
        "dossiers": "/desk/",
        "reports": "/desk/reports/timeliness/",
        "units": "/units/",
    }
    assert [(link["url"], link["current"]) for link in sub] == [
        ("/desk/", True),
        ("/desk/receive/", False),
        ("/desk/reports/timeliness/", False),
        ("/desk/reports/late/", False),
        ("/desk/tracking-log/", False),
        ("/desk/procedures/", False),
        ("/desk/calendar/", False),
    ]
    # Every link opens for this user.
    for link in sub:
        assert client.get(link["url"]).status_code == 200, link["url"]


def test_an_appraiser_gets_no_receipt_or_report_links(world):
    factories.user(unit=world.commune_a, role=Role.APPRAISER, username="appraiser")
    client = Client()
    client.login(username="appraiser", password=factories.PASSWORD)
    sections, sub = _nav(client, "/desk/")
    assert {s["key"]: s["url"] for s in sections}["reports"] is None
    assert "/desk/receive/" not in [link["url"] for link in sub]
    assert "/desk/reports/timeliness/" not in [link["url"] for link in sub]


def test_every_registry_link_of_a_manager_opens(world, alice):
    client = Client()
    client.login(username="alice", password=factories.PASSWORD)
    _sections, sub = _nav(client, "/registry/")
    assert [link["url"] for link in sub] == [
        "/registry/",
        "/registry/cohort/",
        "/registry/quality/",
        "/registry/corrections/",
        "/registry/imports/",
    ]
    for link in sub:
        assert client.get(link["url"]).status_code == 200, link["url"]
