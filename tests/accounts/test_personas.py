"""Unit scoping, persona by persona: commune A's officers never see or touch commune B.

One table of endpoints × every role. For each, an officer of commune A asks
for an object of commune B through the pages, the API and the admin; the
answer is never the object, and a denied write changes nothing.
"""

import json

import pytest
from django.test import Client

from cancuoc.accounts.models import ApiToken, User
from cancuoc.accounts.roles import Role
from cancuoc.accounts.services import api_token_create
from cancuoc.core.audit import audit_record
from cancuoc.core.models import AuditEntry
from cancuoc.dossiers.models import Dossier
from cancuoc.registry.models import Citizen, Correction, Household, ImportJob
from cancuoc.registry.services import correction_propose
from tests import factories
from tests.dossiers import factories as desk_factories

ALL_ROLES = list(Role.values)
B_CITIZEN = "Bùi Thị Bí Mật"


@pytest.fixture
def b_objects(world, bob, root):
    """Things that belong to commune B."""
    token, _raw = api_token_create(actor=root, user=bob, name="B integration")
    entry = audit_record(
        actor=bob, action="test.b_secret", obj=world.commune_b, object_repr="B-only secret"
    )
    household = Household.objects.create(
        province_code="42", number="HK-B-0001", unit=world.commune_b, unit_path=world.commune_b.path
    )
    citizen = factories.citizen(
        unit=world.commune_b, full_name=B_CITIZEN, household=household, relationship="head"
    )
    household.head = citizen
    household.save()
    b_manager = factories.user(unit=world.commune_b, role=Role.UNIT_MANAGER, username="b.manager")
    correction = correction_propose(
        actor=bob,
        citizen_id=citizen.pk,
        kind=Correction.Kind.CORRECT,
        changes={"phone": "0912345678"},
        reason="Sai số điện thoại",
    )
    job = ImportJob.objects.create(
        unit=world.commune_b,
        unit_path=world.commune_b.path,
        created_by=b_manager,
        original_name="xa-b.csv",
        stored_path="/nonexistent/xa-b.csv",
    )
    dossier = desk_factories.received_dossier(actor=bob, applicant_name=B_CITIZEN)
    return {
        "unit": world.commune_b,
        "user": bob,
        "token": token,
        "audit": entry,
        "citizen": citizen,
        "household": household,
        "correction": correction,
        "import": job,
        "dossier": dossier,
    }


def _client_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def _text(response) -> str:
    """The response as readable text: JSON is decoded, since it escapes Vietnamese letters."""
    body = response.content.decode(errors="replace")
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(json.loads(body), ensure_ascii=False)
    return body


def _snapshot(b_objects):
    bob = User.objects.get(pk=b_objects["user"].pk)
    token = ApiToken.objects.get(pk=b_objects["token"].pk)
    citizen = Citizen.objects.get(pk=b_objects["citizen"].pk)
    correction = Correction.objects.get(pk=b_objects["correction"].pk)
    dossier = Dossier.objects.get(pk=b_objects["dossier"].pk)
    return (
        (bob.role, bob.unit_id, bob.full_name, bob.is_active, token.revoked_at),
        (citizen.full_name, citizen.phone, citizen.life_status, citizen.unit_path),
        (correction.status, correction.decided_by_id, Correction.objects.count()),
        (dossier.status, dossier.transitions.count()),
    )


READS = [
    ("page unit", lambda o: f"/units/{o['unit'].pk}/"),
    ("page user", lambda o: f"/accounts/users/{o['user'].pk}/"),
    ("api unit", lambda o: f"/api/v1/units/{o['unit'].pk}"),
    ("api children", lambda o: f"/api/v1/units/{o['unit'].pk}/children"),
    ("api subtree", lambda o: f"/api/v1/units/{o['unit'].pk}/subtree"),
    ("admin unit", lambda o: f"/admin/units/unit/{o['unit'].pk}/change/"),
    ("admin user", lambda o: f"/admin/accounts/user/{o['user'].pk}/change/"),
    ("admin token", lambda o: f"/admin/accounts/apitoken/{o['token'].pk}/change/"),
    ("admin audit", lambda o: f"/admin/core/auditentry/{o['audit'].pk}/change/"),
    ("page citizen", lambda o: f"/registry/citizens/{o['citizen'].pk}/"),
    ("page household", lambda o: f"/registry/households/{o['household'].pk}/"),
    ("api citizen", lambda o: f"/api/v1/registry/citizens/{o['citizen'].pk}"),
    ("page correction", lambda o: f"/registry/corrections/{o['correction'].pk}/"),
    ("api correction", lambda o: f"/api/v1/registry/corrections/{o['correction'].pk}"),
    ("page correction new", lambda o: f"/registry/citizens/{o['citizen'].pk}/corrections/new/"),
    ("page import", lambda o: f"/registry/imports/{o['import'].pk}/"),
    ("page import progress", lambda o: f"/registry/imports/{o['import'].pk}/progress/"),
    ("page import errors", lambda o: f"/registry/imports/{o['import'].pk}/errors/"),
    ("api import", lambda o: f"/api/v1/registry/imports/{o['import'].pk}"),
    ("page dossier", lambda o: f"/desk/dossiers/{o['dossier'].pk}/"),
    ("page dossier slip", lambda o: f"/desk/dossiers/{o['dossier'].pk}/forms/01.pdf"),
    ("api dossier", lambda o: f"/api/v1/dossiers/{o['dossier'].pk}"),
    ("api dossier history", lambda o: f"/api/v1/dossiers/{o['dossier'].pk}/history"),
]

WRITES = [
    (
        "page user edit",
        lambda o: f"/accounts/users/{o['user'].pk}/",
        lambda w: {"full_name": "Hacked", "role": Role.ONE_STOP_CLERK, "unit": w.commune_a.pk},
    ),
    ("page token revoke", lambda o: f"/accounts/tokens/{o['token'].pk}/revoke/", lambda w: {}),
    (
        "admin user change",
        lambda o: f"/admin/accounts/user/{o['user'].pk}/change/",
        lambda w: {
            "username": "bob",
            "full_name": "Hacked",
            "role": Role.SYSTEM_ADMIN,
            "unit": w.commune_a.pk,
        },
    ),
    (
        "admin user delete",
        lambda o: f"/admin/accounts/user/{o['user'].pk}/delete/",
        lambda w: {"post": "yes"},
    ),
    (
        "page correction propose",
        lambda o: f"/registry/citizens/{o['citizen'].pk}/corrections/new/",
        lambda w: {"kind": "correct", "field": "full_name", "value": "Hacked", "reason": "x"},
    ),
    (
        "page correction approve",
        lambda o: f"/registry/corrections/{o['correction'].pk}/decide/",
        lambda w: {"decision": "approve", "note": "ok"},
    ),
    (
        "page dossier act",
        lambda o: f"/desk/dossiers/{o['dossier'].pk}/act/",
        lambda w: {"action": "transfer", "note": "x"},
    ),
]


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(("name", "url"), READS, ids=[r[0] for r in READS])
def test_an_officer_of_commune_a_cannot_read_commune_b(world, b_objects, role, name, url):
    officer = factories.user(unit=world.commune_a, role=role)
    response = _client_for(officer).get(url(b_objects))
    # 404 (not in scope), 403 (role lacks the capability) or 302 (admin sends non-staff
    # to its login page, or staff to the index with "does not exist").
    assert response.status_code in (302, 403, 404), (name, role, response.status_code)
    if response.status_code == 302:
        assert str(b_objects["unit"].pk) not in response.url.split("?")[0].split("/")[-2:]
    body = _text(response)
    assert "Cẩm Xuyên" not in body
    assert "B-only secret" not in body
    assert B_CITIZEN not in body


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(("name", "url", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_a_denied_write_on_commune_b_changes_nothing(world, b_objects, role, name, url, data):
    officer = factories.user(unit=world.commune_a, role=role)
    before = _snapshot(b_objects)
    audit_rows = AuditEntry.objects.count()
    response = _client_for(officer).post(url(b_objects), data(world))
    assert response.status_code in (302, 403, 404), (name, role, response.status_code)
    assert _snapshot(b_objects) == before
    assert User.objects.filter(pk=b_objects["user"].pk).exists()
    assert AuditEntry.objects.count() == audit_rows


@pytest.mark.parametrize("role", ALL_ROLES)
def test_lists_never_show_commune_b(world, b_objects, role):
    officer = factories.user(unit=world.commune_a, role=role)
    client = _client_for(officer)
    api = client.get("/api/v1/units", {"q": "cam xuyen"}).json()
    assert api == {"items": [], "count": 0}
    everything = client.get("/api/v1/units").json()
    assert {item["path"] for item in everything["items"]} == {world.commune_a.path}
    for url in (
        "/",
        "/units/?q=cam",
        "/accounts/users/",
        "/audit/",
        "/admin/units/unit/",
        "/admin/accounts/user/",
        "/admin/core/auditentry/",
        "/registry/?q=bui+thi+bi+mat",
        "/registry/?q=bi+mat&partial=1",
        "/api/v1/registry/citizens?q=bi+mat",
        "/registry/corrections/",
        "/api/v1/registry/corrections",
        "/registry/imports/",
        "/desk/?q=bi+mat",
        "/api/v1/dossiers/",
    ):
        body = _text(client.get(url))
        assert "Cẩm Xuyên" not in body, url
        assert "B-only secret" not in body, url
        assert ">bob<" not in body, url
        assert B_CITIZEN not in body, url
        assert "Bui Thi Bi Mat" not in body, url


def test_a_province_manager_sees_every_commune_of_the_province_and_nothing_else(
    world, hana, b_objects
):
    client = _client_for(hana)
    paths = {item["path"] for item in client.get("/api/v1/units").json()["items"]}
    assert paths == {world.hatinh.path, world.commune_a.path, world.commune_b.path}
    subtree = client.get(f"/api/v1/units/{world.hatinh.pk}/subtree").json()
    assert subtree["count"] == 3
    assert client.get(f"/api/v1/units/{world.commune_c.pk}").status_code == 404
    assert client.get(f"/units/{world.commune_b.pk}/").status_code == 200
    assert client.get(f"/units/{world.commune_c.pk}/").status_code == 404
    audit = client.get("/audit/").content.decode()
    assert "B-only secret" in audit
    home = client.get("/").content.decode()
    assert "Xã Thạch Hà" in home
    assert "Xã Cẩm Xuyên" in home
    assert "Tân Thuận" not in home


def test_another_province_sees_nothing_of_ha_tinh(world, carl, b_objects):
    client = _client_for(carl)
    paths = {item["path"] for item in client.get("/api/v1/units").json()["items"]}
    assert paths == {world.camau.path, world.commune_c.path}
    assert client.get(f"/api/v1/units/{world.hatinh.pk}").status_code == 404
    assert "B-only secret" not in client.get("/audit/").content.decode()
    assert client.get(f"/admin/units/unit/{world.commune_b.pk}/change/").status_code == 302


def test_a_unit_manager_can_create_and_edit_accounts_in_their_own_commune(world, alice):
    client = _client_for(alice)
    response = client.post(
        "/accounts/users/",
        {
            "username": "clerk.a",
            "full_name": "Trần Thị Bình",
            "password": "a-long-pass-phrase-77",
            "role": Role.ONE_STOP_CLERK,
            "unit": world.commune_a.pk,
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="clerk.a")
    assert (created.role, created.unit_id, created.full_name) == (
        Role.ONE_STOP_CLERK,
        world.commune_a.pk,
        "Trần Thị Bình",
    )
    assert created.password.startswith("md5$")  # the test hasher; production uses Argon2
    assert (
        AuditEntry.objects.filter(
            action="user.create", object_id=str(created.pk), actor=alice, unit=world.commune_a
        ).count()
        == 1
    )
    response = client.post(
        f"/accounts/users/{created.pk}/",
        {
            "full_name": "Trần Thị Bình",
            "role": Role.APPRAISER,
            "unit": world.commune_a.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.role == Role.APPRAISER


def test_a_unit_manager_cannot_place_an_account_in_commune_b(world, alice):
    response = _client_for(alice).post(
        "/accounts/users/",
        {
            "username": "intruder",
            "password": "a-long-pass-phrase-77",
            "role": Role.ONE_STOP_CLERK,
            "unit": world.commune_b.pk,
        },
    )
    assert response.status_code == 200  # the form refuses: B is not a choice
    assert not User.objects.filter(username="intruder").exists()


def test_a_unit_manager_cannot_grant_a_role_at_or_above_their_own(world, alice):
    response = _client_for(alice).post(
        "/accounts/users/",
        {
            "username": "boss",
            "password": "a-long-pass-phrase-77",
            "role": Role.PROVINCE_MANAGER,
            "unit": world.commune_a.pk,
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="boss").exists()


@pytest.mark.parametrize(
    "role",
    [Role.INSPECTOR, Role.ONE_STOP_CLERK, Role.STATION_OPERATOR, Role.APPRAISER, Role.APPROVER],
)
def test_roles_without_account_rights_cannot_create_accounts_even_in_their_unit(world, role):
    officer = factories.user(unit=world.commune_a, role=role)
    response = _client_for(officer).post(
        "/accounts/users/",
        {
            "username": "x",
            "password": "a-long-pass-phrase-77",
            "role": Role.ONE_STOP_CLERK,
            "unit": world.commune_a.pk,
        },
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_anonymous_requests_see_nothing(world, b_objects):
    client = Client()
    assert client.get("/").status_code == 302
    assert client.get(f"/units/{world.commune_b.pk}/").status_code == 302
    assert client.get("/api/v1/units").status_code == 401
    assert client.get("/admin/units/unit/").status_code == 302
