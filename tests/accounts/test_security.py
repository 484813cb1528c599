"""Passwords, login throttling, sessions and API tokens."""

import os
import subprocess
import sys

import pytest
from django.test import Client

from cancuoc.accounts.models import ApiToken, LoginFailure
from cancuoc.accounts.services import api_token_authenticate, api_token_create, api_token_revoke
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db


def test_production_settings_hash_passwords_with_argon2_and_expire_idle_sessions():
    from cancuoc import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert production.SESSION_COOKIE_AGE == 1800
    assert production.SESSION_SAVE_EVERY_REQUEST is True


def _settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "-c", "import cancuoc.settings"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_refuse_to_start_without_a_secret_key_in_production():
    result = _settings_in_subprocess({"DEBUG": "0"})
    assert result.returncode == 1
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr
    assert _settings_in_subprocess({"DEBUG": "0", "SECRET_KEY": "x" * 50}).returncode == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("SESSION_IDLE_SECONDS", "soon", "SESSION_IDLE_SECONDS='soon' is not an integer"),
        ("DATABASE_URL", "mysql://u@h/db", "only SQLite and PostgreSQL are supported"),
    ],
)
def test_settings_fail_loudly_on_bad_values(name, value, message):
    result = _settings_in_subprocess({"DEBUG": "1", name: value})
    assert result.returncode == 1
    assert message in result.stderr


def test_login_is_throttled_after_five_failures_even_with_the_right_password(world, alice):
    client = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
        assert "_auth_user_id" not in client.session
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": factories.PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(username="alice").count() == 5
    assert AuditEntry.objects.filter(action="login.failure").count() == 5


def test_a_successful_login_clears_failures_and_is_audited(world, alice):
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    response = client.post(
        "/accounts/login/?next=/units/", {"username": "alice", "password": factories.PASSWORD}
    )
    assert response.status_code == 302 and response.url == "/units/"
    assert LoginFailure.objects.count() == 0
    assert AuditEntry.objects.filter(action="login", actor=alice).count() == 1


def test_login_does_not_redirect_to_another_site(world, alice):
    response = Client().post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "alice", "password": factories.PASSWORD},
    )
    assert response.url == "/"


def test_a_token_is_stored_hashed_works_as_its_user_and_stops_when_revoked(world, root, alice):
    token, raw = api_token_create(actor=root, user=alice, name="Cổng dịch vụ công")
    assert raw.startswith("cc_") and len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in (stored.digest, stored.prefix) and stored.prefix == raw[:10]
    assert api_token_authenticate(raw=raw) == alice
    client = Client()
    response = client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert [u["path"] for u in response.json()["items"]] == [world.commune_a.path]
    assert (
        client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["username"] == "alice"
    )
    api_token_revoke(actor=root, token=token)
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert client.get("/api/v1/units", HTTP_AUTHORIZATION="Bearer cc_forged").status_code == 401


def test_only_a_system_administrator_in_scope_manages_tokens(world, hana, bob, carl):
    with pytest.raises(PermissionDenied):
        api_token_create(actor=hana, user=bob, name="x")
    camau_admin = factories.user(unit=world.camau, role="system_admin")
    with pytest.raises(OutOfScope):
        api_token_create(actor=camau_admin, user=bob, name="x")
    assert ApiToken.objects.count() == 0


def test_the_tokens_page_shows_a_new_token_once(world, root, alice):
    client = Client()
    client.force_login(root)
    body = client.post("/accounts/tokens/", {"name": "Zalo OA", "user": alice.pk}).content.decode()
    token = ApiToken.objects.get(name="Zalo OA")
    raw = body.split('<code class="token">')[1].split("</code>")[0]
    assert api_token_authenticate(raw=raw) == alice
    assert raw not in client.get("/accounts/tokens/").content.decode()
    assert token.prefix in client.get("/accounts/tokens/").content.decode()
