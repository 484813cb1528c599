"""Unit scoping, persona by persona: commune A's officers never see or touch commune B.

One table of endpoints × every role. For each, an officer of commune A asks
for an object of commune B through the pages, the API and the admin; the
answer is never the object, and a denied write changes nothing.
"""

import base64
import datetime as dt
import json
import uuid

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

from cancuoc.accounts.models import ApiToken, User
from cancuoc.accounts.roles import Role
from cancuoc.accounts.services import api_token_create
from cancuoc.core.audit import audit_record
from cancuoc.core.models import AuditEntry
from cancuoc.dossiers.models import Dossier
from cancuoc.registry.models import Citizen, Correction, Household, ImportJob
from cancuoc.registry.services import correction_propose
from tests import factories
from tests.campaigns import factories as cf
from tests.campaigns import session_factories as sf
from tests.dossiers import factories as desk_factories
from tests.enrolment import factories as ef

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


# --- Enrolment (issue 5) and campaigns (issue 6) ------------------------------------------
#
# Commune B gets a station with a token and a session, an intake in progress (with its
# images), a completed application, an approved one with its card, a campaign of its own
# with a team, an equipment set, a shift pattern, a session, invitations and printed
# notices, and a session and an invitation in the province's campaign. Every role of
# commune A then reads and writes them through every page and API endpoint of both
# modules. `test_every_enrolment_and_campaign_endpoint_is_in_the_matrix` keeps the table
# complete as endpoints are added.

#: Text that only commune B's objects carry (names, codes, MRZ and SMS spellings).
B_MARKERS = ("Cẩm Xuyên", "Bí Mật", "Bi Mat", "BI<MAT", "ST-B-SECRET", "SET-B-SECRET")
SIMULATED = {"adapter": "simulator", "seed": 7, "finger_quality_mean": 80, "face_quality_mean": 97}


@pytest.fixture
def eb(world, b_objects, hana, settings, tmp_path):
    """Commune B's enrolment and campaign objects, made through the real services."""
    from cancuoc.campaigns import notices
    from cancuoc.campaigns.services import invitations as inv
    from cancuoc.campaigns.services import resources
    from cancuoc.enrolment import services as enrol
    from cancuoc.enrolment.devices.simulator import simulator_reset
    from cancuoc.enrolment.models import Capture, Card

    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    settings.MEDIA_ROOT = tmp_path / "media"
    simulator_reset()
    ef.load_card_procedures()
    b = world.commune_b
    b_manager = User.objects.get(username="b.manager")
    op_b = ef.operator(b, "op.b")
    sup_b = ef.supervisor(b, "sup.b")
    station = ef.station(
        unit=b, operators=[op_b], code="ST-B-SECRET", name="Trạm Bí Mật B", device_profile=SIMULATED
    )
    _station, station_token = enrol.station_token_issue(actor=sup_b, station_id=station.pk)
    station_session = ef.session(station=station, opened_by=op_b)
    # At step "sign": fingerprints, face and iris are captured.
    intake = ef.in_progress_application(
        station=station, citizen=b_objects["citizen"], actor=op_b, until="sign"
    )
    face = Capture.objects.get(application=intake, kind="face", accepted=True)
    second = factories.citizen(unit=b, full_name="Bùi Văn Bí Mật Hai")
    completed = ef.completed_application(station=station, citizen=second, actor=op_b)
    third = factories.citizen(unit=b, full_name="Bùi Văn Bí Mật Ba")
    approved = ef.completed_application(station=station, citizen=third, actor=op_b)
    enrol.application_approve(actor=sup_b, application_ids=[approved.pk])
    card = Card.objects.get(application=approved)
    newcomer = factories.citizen(unit=b, full_name="Bùi Thị Bí Mật Bốn")  # no application yet

    own = sf.campaign(b, b_manager, slug="chien-dich-bi-mat-b", name="Chiến dịch Bí Mật B")
    province = sf.campaign(world.hatinh, hana, slug="chien-dich-ha-tinh", name="Chiến dịch tỉnh")
    cf.allocations(province, {world.commune_a: 6000, b: 4000})
    team = sf.team(b, "Tổ Bí Mật B")
    kit = resources.equipment_set_create(actor=b_manager, serial="SET-B-SECRET", unit_id=b.pk)
    resources.equipment_assign(actor=b_manager, equipment_id=kit.pk, team_id=team.pk)
    pattern = resources.shift_pattern_create(
        actor=b_manager,
        name="Ca Bí Mật B",
        unit_id=b.pk,
        shifts=[{"start": "07:00", "end": "11:00", "staff": 6}],
    )
    session = sf.session(b_manager, own, b, team, site="Nhà văn hoá Bí Mật B")
    province_session = sf.session(
        b_manager, province, b, team, on=sf.day(8), site="Điểm Bí Mật B của tỉnh"
    )
    slots = list(session.slots.order_by("start"))
    invitation = inv.invitation_book(
        actor=b_manager, slot_id=slots[0].pk, citizen_id=b_objects["citizen"].pk
    )
    province_invitation = inv.invitation_book(
        actor=b_manager,
        slot_id=province_session.slots.order_by("start").first().pk,
        citizen_id=second.pk,
    )
    job = notices.notices_start(actor=b_manager, campaign_id=own.pk, session_id=session.pk)
    job = notices.notices_render(job_id=job.pk)
    assert job.status == "done"
    return {
        **b_objects,
        "b_manager": b_manager,
        "op_b": op_b,
        "sup_b": sup_b,
        "station": station,
        "station_token": station_token,
        "station_a": ef.station(unit=world.commune_a, code="ST-A", device_profile=SIMULATED),
        "station_session": station_session,
        "intake": intake,
        "face": face,
        "completed": completed,
        "approved": approved,
        "card": card,
        "newcomer": newcomer,
        "campaign": own,
        "province": province,
        "team": team,
        "team_a": sf.team(world.commune_a, "Tổ A"),
        "kit": kit,
        "pattern": pattern,
        "session": session,
        "slots": slots,
        "province_session": province_session,
        "invitation": invitation,
        "province_invitation": province_invitation,
        "job": job,
        "id_numbers": [
            b_objects["citizen"].id_number,
            second.id_number,
            third.id_number,
            newcomer.id_number,
        ],
    }


def _b_leaks(body: str, o) -> list[str]:
    return [m for m in (*B_MARKERS, *o["id_numbers"]) if m in body]


EA = "/api/v1/enrolment"
CA = "/api/v1/campaigns"

#: (endpoint key, URL, status for commune B's own manager). The key is the URL name of a
#: page or "METHOD path" of an API operation, as the guard test below lists them.
EC_READS = [
    ("enrolment:station_detail", lambda o: f"/enrolment/stations/{o['station'].pk}/", 200),
    ("enrolment:station_edit", lambda o: f"/enrolment/stations/{o['station'].pk}/edit/", 200),
    (
        "enrolment:find",
        lambda o: f"/enrolment/stations/{o['station'].pk}/find/?q=bui+thi+bi+mat",
        200,
    ),
    ("enrolment:wizard", lambda o: f"/enrolment/applications/{o['intake'].pk}/", 200),
    ("enrolment:cc01", lambda o: f"/enrolment/applications/{o['completed'].pk}/cc01.pdf", 200),
    ("enrolment:cc02", lambda o: f"/enrolment/applications/{o['completed'].pk}/cc02.pdf", 200),
    (
        "enrolment:capture_image",
        lambda o: f"/enrolment/applications/{o['intake'].pk}/images/{o['face'].pk}/",
        200,
    ),
    (f"GET {EA}/stations/{{station_id}}", lambda o: f"{EA}/stations/{o['station'].pk}", 200),
    (
        f"GET {EA}/stations/{{station_id}}/current",
        lambda o: f"{EA}/stations/{o['station'].pk}/current",
        200,
    ),
    (
        f"GET {EA}/applications/{{application_id}}",
        lambda o: f"{EA}/applications/{o['intake'].pk}",
        200,
    ),
    (f"GET {EA}/stations/me", lambda o: f"{EA}/stations/me", 404),  # a person is no station
    (f"GET {EA}/stations/{{code}}/pull", lambda o: f"{EA}/stations/ST-B-SECRET/pull", 403),
    ("campaigns:detail", lambda o: f"/campaigns/c/{o['campaign'].slug}/", 200),
    ("campaigns:sessions", lambda o: f"/campaigns/c/{o['campaign'].slug}/sessions/", 200),
    (
        "campaigns:session_create",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/sessions/new/",
        200,
    ),
    ("campaigns:home_visits", lambda o: f"/campaigns/c/{o['campaign'].slug}/home-visits/", 200),
    ("campaigns:manual", lambda o: f"/campaigns/c/{o['campaign'].slug}/manual/", 200),
    ("campaigns:report", lambda o: f"/campaigns/c/{o['campaign'].slug}/report/", 200),
    (
        "campaigns:report",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/report/?format=xlsx",
        200,
    ),
    ("campaigns:report", lambda o: f"/campaigns/c/{o['campaign'].slug}/report/?format=pdf", 200),
    ("campaigns:dashboard", lambda o: f"/campaigns/c/{o['campaign'].slug}/dashboard/", 200),
    ("campaigns:forecast", lambda o: f"/campaigns/c/{o['campaign'].slug}/forecast/", 200),
    ("campaigns:ranking", lambda o: f"/campaigns/c/{o['campaign'].slug}/ranking/", 200),
    ("campaigns:inspection", lambda o: f"/campaigns/c/{o['campaign'].slug}/inspection/", 200),
    ("campaigns:team_calendar", lambda o: f"/campaigns/teams/{o['team'].pk}/", 200),
    ("campaigns:session", lambda o: f"/campaigns/sessions/{o['session'].pk}/", 200),
    ("campaigns:session", lambda o: f"/campaigns/sessions/{o['province_session'].pk}/", 200),
    (
        "campaigns:session_messages",
        lambda o: f"/campaigns/sessions/{o['session'].pk}/messages.csv",
        200,
    ),
    ("campaigns:notice_job", lambda o: f"/campaigns/notices/{o['job'].pk}/", 200),
    ("campaigns:notice_pdf", lambda o: f"/campaigns/notices/{o['job'].pk}/pdf/", 200),
    (f"GET {CA}/{{campaign_id}}", lambda o: f"{CA}/{o['campaign'].pk}", 200),
    (
        f"GET {CA}/{{campaign_id}}/reports/daily",
        lambda o: f"{CA}/{o['campaign'].pk}/reports/daily",
        200,
    ),
    (
        f"GET {CA}/{{campaign_id}}/reports/daily.xlsx",
        lambda o: f"{CA}/{o['campaign'].pk}/reports/daily.xlsx",
        200,
    ),
    (
        f"GET {CA}/{{campaign_id}}/reports/daily.pdf",
        lambda o: f"{CA}/{o['campaign'].pk}/reports/daily.pdf",
        200,
    ),
    (f"GET {CA}/{{campaign_id}}/forecast", lambda o: f"{CA}/{o['campaign'].pk}/forecast", 200),
    (f"GET {CA}/{{campaign_id}}/ranking", lambda o: f"{CA}/{o['campaign'].pk}/ranking", 200),
    (
        f"GET {CA}/{{campaign_id}}/charts/{{name}}.svg",
        lambda o: f"{CA}/{o['campaign'].pk}/charts/cumulative.svg",
        200,
    ),
    (f"GET {CA}/sessions/{{session_id}}", lambda o: f"{CA}/sessions/{o['session'].pk}", 200),
    (
        f"GET {CA}/sessions/{{session_id}}",
        lambda o: f"{CA}/sessions/{o['province_session'].pk}",
        200,
    ),
    (
        f"GET {CA}/sessions/{{session_id}}/messages.csv",
        lambda o: f"{CA}/sessions/{o['session'].pk}/messages.csv",
        200,
    ),
    (f"GET {CA}/notice-jobs/{{job_id}}", lambda o: f"{CA}/notice-jobs/{o['job'].pk}", 200),
    (f"GET {CA}/notice-jobs/{{job_id}}/pdf", lambda o: f"{CA}/notice-jobs/{o['job'].pk}/pdf", 200),
    (
        f"GET {CA}/invitations/{{invitation_id}}",
        lambda o: f"{CA}/invitations/{o['invitation'].pk}",
        200,
    ),
    (
        f"GET {CA}/invitations/{{invitation_id}}",
        lambda o: f"{CA}/invitations/{o['province_invitation'].pk}",
        200,
    ),
]

_NEXT_WEEK = lambda: sf.day(7).isoformat()  # noqa: E731
_STATION_FORM = {
    "code": "ST-HACK",
    "name": "Hacked",
    "kind": "fixed",
    "finger_threshold": 40,
    "finger_retries": 3,
    "face_threshold": 90,
    "max_days_unsynced": 3,
    "max_unsent": 500,
    "device_profile": "{}",
    "is_active": "on",
}
_PNG = base64.b64encode(ef.png(32, 16, seed=4242)).decode()


def _session_body(o, w, *, campaign, unit, team):
    return {
        "campaign_id": campaign.pk,
        "unit_id": unit.pk,
        "team_id": team.pk,
        "site_kind": "commune_office",
        "site_name": "Hacked",
        "day": sf.day(9).isoformat(),
        "start_time": "13:00",
        "end_time": "15:00",
    }


#: (endpoint key, method, URL, body). "post" is a form post (pages); "json", "put" and
#: "patch" send JSON (the API). Every one aims at commune B: its objects, or its unit.
EC_WRITES = [
    (
        "enrolment:station_create",
        "post",
        lambda o: "/enrolment/stations/new/",
        lambda o, w: {**_STATION_FORM, "unit_id": w.commune_b.pk},
    ),
    (
        "enrolment:station_edit",
        "post",
        lambda o: f"/enrolment/stations/{o['station'].pk}/edit/",
        lambda o, w: {**_STATION_FORM, "unit_id": w.commune_b.pk},
    ),
    (
        "enrolment:station_token",
        "post",
        lambda o: f"/enrolment/stations/{o['station'].pk}/token/",
        lambda o, w: {},
    ),
    (
        "enrolment:session_open",
        "post",
        lambda o: f"/enrolment/stations/{o['station'].pk}/sessions/open/",
        lambda o, w: {"place": "x"},
    ),
    (
        "enrolment:session_close",
        "post",
        lambda o: f"/enrolment/sessions/{o['station_session'].pk}/close/",
        lambda o, w: {},
    ),
    (
        "enrolment:find",
        "post",
        lambda o: f"/enrolment/stations/{o['station'].pk}/find/",
        lambda o, w: {"citizen_id": o["newcomer"].pk, "application_id": str(uuid.uuid4())},
    ),
    (
        "enrolment:find",  # commune A's own station, commune B's citizen
        "post",
        lambda o: f"/enrolment/stations/{o['station_a'].pk}/find/",
        lambda o, w: {"citizen_id": o["newcomer"].pk, "application_id": str(uuid.uuid4())},
    ),
    (
        "enrolment:capture",
        "post",
        lambda o: f"/enrolment/applications/{o['intake'].pk}/capture/",
        lambda o, w: {"kind": "signature"},
    ),
    (
        "enrolment:exception",
        "post",
        lambda o: f"/enrolment/applications/{o['intake'].pk}/exception/",
        lambda o, w: {
            "position": "R1",
            "reason": "missing",
            "supervisor_username": "sup.b",
            "supervisor_password": factories.PASSWORD,
        },
    ),
    (
        "enrolment:step",
        "post",
        lambda o: f"/enrolment/applications/{o['intake'].pk}/step/",
        lambda o, w: {"step": "sign"},
    ),
    (
        "enrolment:cancel",
        "post",
        lambda o: f"/enrolment/applications/{o['intake'].pk}/cancel/",
        lambda o, w: {"reason": "Hacked"},
    ),
    (
        "enrolment:approve",
        "post",
        lambda o: "/enrolment/approve/",
        lambda o, w: {"application_ids": [str(o["completed"].pk)]},
    ),
    (
        "enrolment:card_action",
        "post",
        lambda o: "/enrolment/cards/action/",
        lambda o, w: {"action": "mark_ready", "card_ids": [o["card"].pk]},
    ),
    (
        "enrolment:card_action",
        "post",
        lambda o: "/enrolment/cards/action/",
        lambda o, w: {"hand_over": o["card"].pk},
    ),
    (
        "enrolment:export",
        "post",
        lambda o: "/enrolment/cards/export/",
        lambda o, w: {"unit_id": w.commune_b.pk, "file_format": "csv"},
    ),
    (
        "enrolment:conflict_resolve",
        "post",
        lambda o: f"/enrolment/conflicts/{o['intake'].pk}/resolve/",
        lambda o, w: {"keep": "0", "note": "x"},
    ),
    (
        f"POST {EA}/applications",
        "json",
        lambda o: f"{EA}/applications",
        lambda o, w: {"station_id": o["station"].pk, "citizen_id": o["newcomer"].pk},
    ),
    (
        f"POST {EA}/applications",  # commune A's own station, commune B's citizen
        "json",
        lambda o: f"{EA}/applications",
        lambda o, w: {"station_id": o["station_a"].pk, "citizen_id": o["newcomer"].pk},
    ),
    (
        f"POST {EA}/applications/{{application_id}}/confirm",
        "json",
        lambda o: f"{EA}/applications/{o['completed'].pk}/confirm",
        lambda o, w: {"corrections": {"full_name": "Hacked"}, "evidence": "x"},
    ),
    (
        f"POST {EA}/applications/{{application_id}}/captures",
        "json",
        lambda o: f"{EA}/applications/{o['intake'].pk}/captures",
        lambda o, w: {"captures": [{"kind": "signature", "image": _PNG}]},
    ),
    (
        f"POST {EA}/applications/{{application_id}}/captures/device",
        "json",
        lambda o: f"{EA}/applications/{o['intake'].pk}/captures/device",
        lambda o, w: {"kind": "signature"},
    ),
    (
        f"POST {EA}/applications/{{application_id}}/exceptions",
        "json",
        lambda o: f"{EA}/applications/{o['intake'].pk}/exceptions",
        lambda o, w: {
            "position": "R1",
            "reason": "missing",
            "supervisor_username": "sup.b",
            "supervisor_password": factories.PASSWORD,
        },
    ),
    (
        f"POST {EA}/applications/{{application_id}}/steps/{{step}}/complete",
        "json",
        lambda o: f"{EA}/applications/{o['intake'].pk}/steps/sign/complete",
        lambda o, w: {},
    ),
    (
        f"POST {EA}/applications/{{application_id}}/cancel",
        "json",
        lambda o: f"{EA}/applications/{o['completed'].pk}/cancel",
        lambda o, w: {"reason": "Hacked"},
    ),
    (
        f"POST {EA}/applications/complete",
        "json",
        lambda o: f"{EA}/applications/complete",
        lambda o, w: {
            "station_id": o["station"].pk,
            "citizen_id": o["newcomer"].pk,
            "application_id": str(uuid.uuid4()),
            "captures": [],
        },
    ),
    (
        f"POST {EA}/stations/{{code}}/push",
        "json",
        lambda o: f"{EA}/stations/ST-B-SECRET/push",
        lambda o, w: {"batch_id": str(uuid.uuid4()), "station": "ST-B-SECRET", "records": []},
    ),
    (
        "campaigns:create",
        "post",
        lambda o: "/campaigns/new/",
        lambda o, w: {
            "name": "Hacked",
            "slug": "hacked",
            "unit_id": w.commune_b.pk,
            "start_date": "2025-09-01",
            "deadline": "2025-12-31",
            "target_kind": "number",
            "target": 100,
            "law": "2023",
            "service_minutes": 6,
            "show_up_rate": 85,
        },
    ),
    (
        "campaigns:allocations",
        "post",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/allocations/",
        lambda o, w: {"op": "propose"},
    ),
    (
        "campaigns:quotas",
        "post",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/quotas/",
        lambda o, w: {"unit_id": w.commune_b.pk, "day": _NEXT_WEEK(), "quota": 1},
    ),
    (
        "campaigns:quotas",  # the province's campaign: a commune cannot set quotas
        "post",
        lambda o: f"/campaigns/c/{o['province'].slug}/quotas/",
        lambda o, w: {"unit_id": w.commune_b.pk, "day": _NEXT_WEEK(), "quota": 1},
    ),
    (
        "campaigns:days",
        "post",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/days/",
        lambda o, w: {"day": _NEXT_WEEK(), "is_open": "0"},
    ),
    (
        "campaigns:status",
        "post",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/status/",
        lambda o, w: {"status": "closed"},
    ),
    (
        "campaigns:manual",
        "post",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/manual/",
        lambda o, w: {"unit_id": w.commune_b.pk, "day": o["campaign"].start_date, "received": 5},
    ),
    (
        "campaigns:manual",
        "post",
        lambda o: f"/campaigns/c/{o['province'].slug}/manual/",
        lambda o, w: {"unit_id": w.commune_b.pk, "day": o["province"].start_date, "received": 5},
    ),
    (
        "campaigns:resources",
        "post",
        lambda o: "/campaigns/resources/",
        lambda o, w: {"kind": "team", "name": "Hacked", "unit_id": w.commune_b.pk},
    ),
    (
        "campaigns:resources",
        "post",
        lambda o: "/campaigns/resources/",
        lambda o, w: {"kind": "equipment", "serial": "HACK-1", "unit_id": w.commune_b.pk},
    ),
    (
        "campaigns:resources",
        "post",
        lambda o: "/campaigns/resources/",
        lambda o, w: {"kind": "assign", "equipment_id": o["kit"].pk, "state": "repair"},
    ),
    (
        "campaigns:resources",
        "post",
        lambda o: "/campaigns/resources/",
        lambda o, w: {
            "kind": "shifts",
            "name": "Hacked",
            "unit_id": w.commune_b.pk,
            "shifts": "07:00-11:00 x 6",
            "weekdays": [1],
        },
    ),
    (
        "campaigns:session_create",
        "post",
        lambda o: f"/campaigns/c/{o['campaign'].slug}/sessions/new/",
        lambda o, w: {
            **_session_body(o, w, campaign=o["campaign"], unit=w.commune_b, team=o["team"]),
            "sets": 1,
            "slot_minutes": 30,
        },
    ),
    (
        "campaigns:session_create",  # the province's campaign, in commune B
        "post",
        lambda o: f"/campaigns/c/{o['province'].slug}/sessions/new/",
        lambda o, w: {
            **_session_body(o, w, campaign=o["province"], unit=w.commune_b, team=o["team_a"]),
            "sets": 1,
            "slot_minutes": 30,
        },
    ),
    (
        "campaigns:session_create",  # in commune A, with commune B's team
        "post",
        lambda o: f"/campaigns/c/{o['province'].slug}/sessions/new/",
        lambda o, w: {
            **_session_body(o, w, campaign=o["province"], unit=w.commune_a, team=o["team"]),
            "sets": 1,
            "slot_minutes": 30,
        },
    ),
    (
        "campaigns:home_visits",
        "post",
        lambda o: f"/campaigns/c/{o['province'].slug}/home-visits/",
        lambda o, w: {"unit_id": w.commune_b.pk, "team_id": o["team"].pk, "day": _NEXT_WEEK()},
    ),
    (
        "campaigns:session_invite",
        "post",
        lambda o: f"/campaigns/sessions/{o['session'].pk}/invite/",
        lambda o, w: {"limit": 5},
    ),
    (
        "campaigns:session_change",
        "post",
        lambda o: f"/campaigns/sessions/{o['session'].pk}/change/",
        lambda o, w: {"start_time": "07:30", "end_time": "07:45", "sets": 1},
    ),
    (
        "campaigns:invitation_mark",
        "post",
        lambda o: f"/campaigns/sessions/{o['session'].pk}/mark/",
        lambda o, w: {"invitation_id": o["invitation"].pk, "status": "cancelled"},
    ),
    (
        "campaigns:notices_start",
        "post",
        lambda o: f"/campaigns/sessions/{o['session'].pk}/notices/",
        lambda o, w: {"per_page": 1},
    ),
    (
        f"POST {CA}/",
        "json",
        lambda o: f"{CA}/",
        lambda o, w: {
            "slug": "hacked",
            "name": "Hacked",
            "unit_id": w.commune_b.pk,
            "start_date": "2025-09-01",
            "deadline": "2025-12-31",
            "target": 100,
        },
    ),
    (
        f"POST {CA}/{{campaign_id}}/allocations/propose",
        "json",
        lambda o: f"{CA}/{o['campaign'].pk}/allocations/propose",
        lambda o, w: {},
    ),
    (
        f"PUT {CA}/{{campaign_id}}/allocations",
        "put",
        lambda o: f"{CA}/{o['province'].pk}/allocations",
        lambda o, w: {"targets": {str(w.commune_a.pk): 10000, str(w.commune_b.pk): 0}},
    ),
    (
        f"PUT {CA}/{{campaign_id}}/quotas",
        "put",
        lambda o: f"{CA}/{o['province'].pk}/quotas",
        lambda o, w: {"day": _NEXT_WEEK(), "quotas": {str(w.commune_b.pk): 1}},
    ),
    (
        f"PUT {CA}/{{campaign_id}}/days/{{day}}",
        "put",
        lambda o: f"{CA}/{o['campaign'].pk}/days/{_NEXT_WEEK()}",
        lambda o, w: {"is_open": False, "note": "Hacked"},
    ),
    (
        f"POST {CA}/{{campaign_id}}/manual-counts",
        "json",
        lambda o: f"{CA}/{o['province'].pk}/manual-counts",
        lambda o, w: {
            "unit_id": w.commune_b.pk,
            "day": o["province"].start_date.isoformat(),
            "received": 5,
        },
    ),
    (
        f"POST {CA}/sessions",
        "json",
        lambda o: f"{CA}/sessions",
        lambda o, w: _session_body(o, w, campaign=o["campaign"], unit=w.commune_b, team=o["team"]),
    ),
    (
        f"POST {CA}/sessions",  # in commune A, with commune B's team
        "json",
        lambda o: f"{CA}/sessions",
        lambda o, w: _session_body(o, w, campaign=o["province"], unit=w.commune_a, team=o["team"]),
    ),
    (
        f"PATCH {CA}/sessions/{{session_id}}",
        "patch",
        lambda o: f"{CA}/sessions/{o['session'].pk}",
        lambda o, w: {"end_time": "07:45"},
    ),
    (
        f"POST {CA}/sessions/{{session_id}}/status",
        "json",
        lambda o: f"{CA}/sessions/{o['province_session'].pk}/status",
        lambda o, w: {"status": "cancelled"},
    ),
    (
        f"POST {CA}/home-visits",
        "json",
        lambda o: f"{CA}/home-visits",
        lambda o, w: {
            "campaign_id": o["province"].pk,
            "unit_id": w.commune_b.pk,
            "team_id": o["team"].pk,
            "day": _NEXT_WEEK(),
        },
    ),
    (
        f"POST {CA}/school-sessions",
        "json",
        lambda o: f"{CA}/school-sessions",
        lambda o, w: {
            "campaign_id": o["province"].pk,
            "unit_id": w.commune_b.pk,
            "team_id": o["team"].pk,
            "school": "THPT Cẩm Xuyên",
            "day": _NEXT_WEEK(),
        },
    ),
    (
        f"POST {CA}/sessions/{{session_id}}/notices",
        "json",
        lambda o: f"{CA}/sessions/{o['session'].pk}/notices",
        lambda o, w: {"per_page": 1},
    ),
    (
        f"POST {CA}/invitations",
        "json",
        lambda o: f"{CA}/invitations",
        lambda o, w: {"slot_id": o["slots"][1].pk, "citizen_id": o["newcomer"].pk},
    ),
    (
        f"POST {CA}/sessions/{{session_id}}/invitations",
        "json",
        lambda o: f"{CA}/sessions/{o['session'].pk}/invitations",
        lambda o, w: {"citizen_ids": [o["newcomer"].pk]},
    ),
    (
        f"POST {CA}/invitations/{{invitation_id}}/reschedule",
        "json",
        lambda o: f"{CA}/invitations/{o['invitation'].pk}/reschedule",
        lambda o, w: {"slot_id": o["slots"][1].pk},
    ),
    (
        f"POST {CA}/invitations/{{invitation_id}}/status",
        "json",
        lambda o: f"{CA}/invitations/{o['province_invitation'].pk}/status",
        lambda o, w: {"status": "cancelled"},
    ),
]

#: Pages and API lists that show what is in the caller's scope (no object in the URL).
EC_LISTS = [
    ("enrolment:home", "/enrolment/"),
    ("enrolment:station_list", "/enrolment/stations/"),
    ("enrolment:stats", "/enrolment/stats/"),
    ("enrolment:cards", "/enrolment/cards/"),
    ("enrolment:cards", "/enrolment/cards/?status=in_production"),
    ("enrolment:conflicts", "/enrolment/conflicts/"),
    (f"GET {EA}/stations", f"{EA}/stations"),
    ("campaigns:home", "/campaigns/"),
    ("campaigns:resources", "/campaigns/resources/"),
    (f"GET {CA}/", f"{CA}/"),
    (f"GET {CA}/sessions", f"{CA}/sessions"),
    (f"GET {CA}/invitations", f"{CA}/invitations"),
]

#: Endpoints outside the matrix, and why.
EC_NOT_OBJECT_SCOPED = {
    "portal:invitation_lookup": "public citizen page: code + last 6 ID digits, throttled "
    "(test_the_invitation_lookup_is_throttled_and_tells_nothing)",
    "portal:invitation": "public citizen page: only invitations this browser proved",
    f"POST {EA}/blobs/missing": "content-addressed images: which digests exist, no personal "
    "data and no unit (offline/server.py)",
    f"PUT {EA}/blobs/{{digest}}": "uploads one image by its digest; it becomes part of an "
    "enrolment only through a signed push of the station's own token",
}


def _ec_snapshot() -> dict[str, list]:
    """Every row of the enrolment and campaign tables, and of what their writes touch."""
    from cancuoc.core.models import DailyRollup, Event
    from cancuoc.registry.models import IdentityDocument

    models = [
        *apps.get_app_config("enrolment").get_models(include_auto_created=True),
        *apps.get_app_config("campaigns").get_models(include_auto_created=True),
        ApiToken,
        Citizen,
        Correction,
        Dossier,
        IdentityDocument,
        Event,
        DailyRollup,
    ]
    rows = {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}
    rows["users"] = list(User.objects.order_by("pk").values_list("pk", "username", "unit_id"))
    rows["audit"] = [AuditEntry.objects.count()]
    return rows


def _send(client: Client, method: str, url: str, data):
    if method == "post":
        return client.post(url, data)
    body = json.dumps(data, default=str)
    call = {"json": client.post, "put": client.put, "patch": client.patch}[method]
    return call(url, body, content_type="application/json")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_commune_a_cannot_read_commune_b_enrolments_or_campaigns(world, eb, role):
    officer = factories.user(unit=world.commune_a, role=role)
    client = _client_for(officer)
    audit_rows = AuditEntry.objects.count()
    failures = []
    for key, url, _owner in EC_READS:
        response = client.get(url(eb))
        leaks = _b_leaks(_text(response), eb)
        if response.status_code not in (403, 404) or leaks:
            failures.append((key, url(eb), response.status_code, leaks))
    assert failures == []
    # A refused read reads nothing, so it audits nothing either.
    assert AuditEntry.objects.count() == audit_rows


def test_commune_b_manager_reads_every_object_of_the_matrix(world, eb):
    """The other side: the same URLs answer commune B's own manager, so the refusals above
    come from the scope and not from a wrong address."""
    client = _client_for(eb["b_manager"])
    got = [(key, url(eb), client.get(url(eb)).status_code) for key, url, _owner in EC_READS]
    assert got == [(key, url(eb), owner) for key, url, owner in EC_READS]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_commune_a_writes_on_commune_b_enrolments_or_campaigns_change_nothing(world, eb, role):
    officer = factories.user(unit=world.commune_a, role=role)
    eb["station_a"].operators.add(officer)  # may enrol at its own commune's station
    client = _client_for(officer)
    failures = []
    for key, method, url, data in EC_WRITES:
        before = _ec_snapshot()
        response = _send(client, method, url(eb), data(eb, world))
        after = _ec_snapshot()
        changed = sorted(k for k in before if before[k] != after[k])
        leaks = _b_leaks(_text(response), eb)
        # 403/404: refused; 400: a form whose choices leave commune B out; 302: a page
        # that says so in a message and redirects.
        if response.status_code not in (302, 400, 403, 404) or changed or leaks:
            failures.append((key, url(eb), response.status_code, changed, leaks))
    assert failures == []


@pytest.mark.parametrize("role", ALL_ROLES)
def test_enrolment_and_campaign_lists_never_show_commune_b(world, eb, role):
    officer = factories.user(unit=world.commune_a, role=role)
    client = _client_for(officer)
    province = eb["province"]
    week = f"week={sf.day(8).isoformat()}"
    urls = [url for _key, url in EC_LISTS] + [
        f"/enrolment/stats/?station={eb['station'].pk}",
        f"/campaigns/c/{province.slug}/",
        f"/campaigns/c/{province.slug}/sessions/?{week}",
        f"/campaigns/c/{province.slug}/sessions/?{week}&by=unit",
        f"/campaigns/c/{province.slug}/report/",
        f"/campaigns/c/{province.slug}/dashboard/",
        f"/campaigns/c/{province.slug}/forecast/",
        f"/campaigns/c/{province.slug}/ranking/",
        f"/campaigns/c/{province.slug}/inspection/?date={sf.day(8).isoformat()}",
        f"/campaigns/c/{province.slug}/home-visits/",
        f"/campaigns/c/{province.slug}/manual/",
        f"/campaigns/teams/{eb['team_a'].pk}/?{week}",
        f"{CA}/{province.pk}",
        f"{CA}/{province.pk}/reports/daily",
        f"{CA}/{province.pk}/forecast",
        f"{CA}/{province.pk}/ranking",
        f"{CA}/sessions?campaign_id={province.pk}",
        f"{CA}/invitations?campaign_id={province.pk}",
        f"{CA}/invitations?session_id={eb['province_session'].pk}",
    ]
    failures = []
    for url in urls:
        response = client.get(url)
        leaks = _b_leaks(_text(response), eb)
        if response.status_code not in (200, 403) or leaks:
            failures.append((url, response.status_code, leaks))
    assert failures == []
    # The API lists, exactly: the province's campaign only, and nothing of commune B.
    assert [c["slug"] for c in client.get(f"{CA}/").json()] == [province.slug]
    assert [s["code"] for s in client.get(f"{EA}/stations").json()["items"]] == ["ST-A"]
    assert client.get(f"{CA}/sessions").json() == []
    assert client.get(f"{CA}/invitations").json() == []
    allocations = client.get(f"{CA}/{province.pk}").json()["allocations"]
    assert [(a["unit_id"], a["target"]) for a in allocations] == [(world.commune_a.pk, 6000)]


def test_the_province_manager_sees_both_communes_allocations(world, hana, eb):
    client = _client_for(hana)
    allocations = client.get(f"{CA}/{eb['province'].pk}").json()["allocations"]
    assert sorted((a["unit_id"], a["target"]) for a in allocations) == sorted(
        [(world.commune_a.pk, 6000), (world.commune_b.pk, 4000)]
    )
    page = client.get(f"/campaigns/c/{eb['province'].slug}/").content.decode()
    assert "Xã Cẩm Xuyên" in page
    assert "Xã Thạch Hà" in page


def test_a_province_manager_of_ca_mau_sees_nothing_of_ha_tinh(world, carl, eb):
    client = _client_for(carl)
    ha_tinh = ("Hà Tĩnh", "Thạch Hà", "Chiến dịch tỉnh")
    failures = []
    for key, url, _owner in EC_READS:
        response = client.get(url(eb))
        body = _text(response)
        leaks = _b_leaks(body, eb) + [m for m in ha_tinh if m in body]
        if response.status_code not in (403, 404) or leaks:
            failures.append((key, url(eb), response.status_code, leaks))
    province = eb["province"]
    for url in [
        f"/campaigns/c/{province.slug}/",
        f"/campaigns/c/{province.slug}/report/",
        f"/campaigns/sessions/{eb['province_session'].pk}/",
        f"{CA}/{province.pk}",
        f"{CA}/{province.pk}/reports/daily",
    ]:
        status = client.get(url).status_code
        if status != 404:
            failures.append((url, status))
    for url in [u for _k, u in EC_LISTS]:
        body = _text(client.get(url))
        leaks = _b_leaks(body, eb) + [m for m in ha_tinh if m in body]
        if leaks:
            failures.append((url, leaks))
    assert failures == []
    assert client.get(f"{CA}/").json() == []
    assert client.get(f"{CA}/sessions").json() == []
    assert client.get(f"{CA}/invitations").json() == []
    assert client.get(f"{EA}/stations").json() == {"items": [], "count": 0}


def _url_names(patterns, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            names |= _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}")
    return names


def _ec_endpoints() -> set[str]:
    """Every page of both modules (and the portal's invitation pages, which campaigns
    serves) and every operation of both API routers."""
    from cancuoc.api.urls import api

    pages = {
        name
        for name in _url_names(get_resolver().url_patterns)
        if name.split(":")[0] in ("enrolment", "campaigns")
        or name in ("portal:invitation_lookup", "portal:invitation")
    }
    operations = {
        f"{method.upper()} {path}"
        for path, methods in api.get_openapi_schema()["paths"].items()
        if path.startswith((EA + "/", CA + "/"))
        for method in methods
    }
    return pages | operations


def test_every_enrolment_and_campaign_endpoint_is_in_the_matrix():
    endpoints = _ec_endpoints()
    covered = (
        {key for key, _url, _owner in EC_READS}
        | {key for key, _method, _url, _data in EC_WRITES}
        | {key for key, _url in EC_LISTS}
    )
    assert sorted(endpoints - covered - set(EC_NOT_OBJECT_SCOPED)) == []
    # And the table names nothing that does not exist (a renamed endpoint).
    assert sorted((covered | set(EC_NOT_OBJECT_SCOPED)) - endpoints) == []
    assert len(endpoints) == 100


# --- Holes closed with this matrix ---------------------------------------------------------


def test_a_commune_plans_sessions_with_its_own_or_the_provinces_team_never_a_neighbours(
    world, alice, hana, eb
):
    from cancuoc.campaigns.models import Session
    from cancuoc.campaigns.services import sessions as svc
    from cancuoc.core.errors import OutOfScope

    # Someone of 80 or more in commune A: the cohort's home-visit group.
    factories.citizen(unit=world.commune_a, full_name="Lê Thị Cụ", birth_date=dt.date(1935, 2, 3))
    province_team = sf.team(world.hatinh, "Tổ lưu động của tỉnh")
    made = sf.session(alice, eb["province"], world.commune_a, province_team, on=sf.day(10))
    assert (made.unit_id, made.team_id) == (world.commune_a.pk, province_team.pk)
    own = sf.session(alice, eb["province"], world.commune_a, eb["team_a"], on=sf.day(10))
    assert own.team_id == eb["team_a"].pk
    before = Session.objects.count()
    with pytest.raises(OutOfScope):
        sf.session(alice, eb["province"], world.commune_a, eb["team"], on=sf.day(11))
    with pytest.raises(OutOfScope):
        svc.home_visits_plan(
            actor=alice,
            campaign_id=eb["province"].pk,
            unit_id=world.commune_a.pk,
            day=sf.day(11),
            team_id=eb["team"].pk,
        )
    assert Session.objects.count() == before


def test_an_offline_push_enrols_only_citizens_of_the_stations_area(world, eb):
    from cancuoc.enrolment import services as enrol
    from cancuoc.enrolment.models import Application
    from cancuoc.enrolment.services import EnrolmentError
    from tests.enrolment.test_services_ingest import record

    ef.operator(world.commune_a, "op_a")
    ef.supervisor(world.commune_a, "sup_a")
    station = ef.station(
        unit=world.commune_a, operators=[User.objects.get(username="op_a")], code="ST-M"
    )
    neighbour = eb["newcomer"]  # commune B: never pulled by a station of commune A
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(EnrolmentError) as refused, translation.override("en"):
        enrol.application_ingest(station=station, record=record(neighbour))
    # The same answer as for a number that does not exist: nothing about commune B.
    unknown = f"Citizen {neighbour.id_number} is not in the registry."
    with translation.override("en"):
        assert str(refused.value.message) == unknown
    assert not Application.objects.filter(citizen=neighbour).exists()
    assert AuditEntry.objects.count() == audit_rows
    local = factories.citizen(unit=world.commune_a, full_name="Lê Văn Tám")
    # A finger exception signed by someone who may not sign at this station is refused:
    # an operator, or commune B's supervisor.
    for signer in ("op_a", "sup.b"):
        with pytest.raises(EnrolmentError) as refused, translation.override("en"):
            enrol.application_ingest(station=station, record=record(local, signer=signer))
        not_allowed = f"{signer} may not sign exceptions at this station."
        with translation.override("en"):
            assert str(refused.value.message) == not_allowed
        assert not Application.objects.filter(citizen=local).exists()
    # The other side: the station's own supervisor signs, the enrolment lands.
    outcome = enrol.application_ingest(station=station, record=record(local))
    assert outcome.status == "created"
    assert Application.objects.get(citizen=local).status == "completed"


def test_reads_of_invitations_notices_and_cards_are_audited(world, eb):
    client = _client_for(eb["b_manager"])
    manager = eb["b_manager"]

    def rows(action):
        return list(
            AuditEntry.objects.filter(action=action, actor=manager)
            .order_by("pk")
            .values_list("object_id", "unit_id", "detail")
        )

    invitation = eb["invitation"]
    assert client.get(f"{CA}/invitations/{invitation.pk}").status_code == 200
    assert rows("campaigns.invitation.view") == [
        (str(invitation.pk), world.commune_b.pk, {"citizen": eb["citizen"].pk})
    ]
    assert len(client.get(f"{CA}/invitations?session_id={eb['session'].pk}").json()) == 1
    assert client.get(f"{CA}/invitations?session_id=999999").json() == []  # nothing shown
    assert rows("campaigns.invitation.list") == [
        ("", world.commune_b.pk, {"session_id": str(eb["session"].pk), "shown": 1})
    ]
    assert client.get(f"/campaigns/sessions/{eb['session'].pk}/").status_code == 200
    assert rows("campaigns.invitation.list")[-1] == (
        "",
        world.commune_b.pk,
        {"session": str(eb["session"].pk), "shown": 1},
    )
    job = eb["job"]
    assert client.get(f"/campaigns/notices/{job.pk}/pdf/").status_code == 200
    assert client.get(f"{CA}/notice-jobs/{job.pk}/pdf").status_code == 200
    assert (
        rows("campaigns.notices.download")
        == [(str(job.pk), world.commune_b.pk, {"notices": 1, "session": eb["session"].pk})] * 2
    )
    assert client.get("/enrolment/cards/").status_code == 200
    assert rows("enrolment.card.list") == [("", world.commune_b.pk, {"page": "1", "shown": 1})]
    assert client.get("/enrolment/conflicts/").status_code == 200
    assert rows("enrolment.conflict.list") == []  # an empty page shows no one


def test_no_biometric_bytes_or_tokens_reach_the_audit_log_or_the_logs(world, eb, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = _client_for(eb["sup_b"])
    face = f"/enrolment/applications/{eb['intake'].pk}/images/{eb['face'].pk}/"
    image = client.get(face)
    assert image.status_code == 200
    assert image["Cache-Control"] == "no-store, private"
    assert image.content.startswith(b"\x89PNG")
    token_client = Client(HTTP_AUTHORIZATION=f"Bearer {eb['station_token']}")
    assert token_client.get(f"{EA}/stations/ST-B-SECRET/pull").status_code == 200
    png_b64 = base64.b64encode(image.content).decode()
    raw = eb["station_token"]
    for entry in AuditEntry.objects.all():
        detail = json.dumps(entry.detail, ensure_ascii=False)
        assert raw not in detail, entry.action
        assert raw[10:] not in detail, entry.action  # past the prefix shown in listings
        assert "iVBORw0KGgo" not in detail, entry.action  # a PNG in base64
        assert png_b64[:40] not in detail, entry.action
    assert raw not in caplog.text
    assert "iVBORw0KGgo" not in caplog.text
    read = AuditEntry.objects.filter(action="biometric.read").latest("pk")
    assert (read.actor, read.unit_id, read.object_id) == (
        eb["sup_b"],
        world.commune_b.pk,
        eb["face"].blob_id,
    )


def test_the_invitation_lookup_is_throttled_and_tells_nothing(client, eb, settings):
    import re

    from cancuoc.campaigns.services import invitations as inv

    settings.PORTAL_LOOKUP_MAX_FAILURES = 5
    invitation = eb["invitation"]
    id_number = eb["citizen"].id_number
    lookup = "/portal/invitation/"

    def page(code, digits):
        response = client.post(lookup, {"code": code, "id_last6": digits})
        # The CSRF token differs per response; the rest must not.
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return response.status_code, body.replace(code, "CODE")

    wrong_digits = page(inv.code_display(invitation.code), "000000")
    unknown_code = page("ZZZZZ-ZZZZZ", "000000")
    assert wrong_digits == unknown_code  # whether a code exists is not told
    assert wrong_digits[0] == 200
    # The whole ID number is not a password: only its last 6 digits are accepted.
    assert page(inv.code_display(invitation.code), id_number)[0] == 200
    assert not AuditEntry.objects.filter(action="portal.invitation.lookup").exists()
    # Guessing codes from one address: five failures, then even a right answer waits.
    for n in range(3):
        assert page(f"YYYYY-YYYY{n}", "000000")[0] == 200
    right = client.post(
        lookup, {"code": inv.code_display(invitation.code), "id_last6": id_number[-6:]}
    )
    assert right.status_code == 429
    assert not AuditEntry.objects.filter(action="portal.invitation.lookup").exists()


def test_an_uploaded_biometric_image_is_audited_once_without_its_bytes(world, settings, tmp_path):
    import hashlib

    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    operator = ef.operator(world.commune_a, "op.upload")
    client = _client_for(operator)
    image = ef.png(seed=31337)
    digest = hashlib.sha256(image).hexdigest()
    url = f"{EA}/blobs/{digest}"
    assert client.put(url, image, content_type="image/png").status_code == 201
    assert client.put(url, image, content_type="image/png").status_code == 200  # a replay
    rows = list(
        AuditEntry.objects.filter(action="biometric.upload").values_list(
            "actor", "unit", "object_id", "detail"
        )
    )
    assert rows == [
        (
            operator.pk,
            world.commune_a.pk,
            digest,
            {"content_type": "image/png", "size": len(image)},
        )
    ]


def test_a_malformed_notice_job_id_is_refused_not_a_server_error(world, alice):
    client = _client_for(alice)
    assert client.get(f"{CA}/notice-jobs/not-a-uuid").status_code == 422
    assert client.get(f"{CA}/notice-jobs/not-a-uuid/pdf").status_code == 422
    assert client.get(f"{CA}/notice-jobs/{uuid.uuid4()}").status_code == 404
