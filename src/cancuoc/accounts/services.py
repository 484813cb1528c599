"""Every write to accounts: users, API tokens, login throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.models import ApiToken, LoginFailure, User
from cancuoc.accounts.roles import Capability, Role, grantable_roles, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import unit_in_scope
from cancuoc.units.models import Unit

TOKEN_PREFIX = "cc_"  # noqa: S105 - a marker, not a secret


def _require_manager_of(actor: User, *, unit: Unit, role: str) -> None:
    if not user_can(actor, Capability.MANAGE_ACCOUNTS):
        raise PermissionDenied
    if not unit_in_scope(actor, unit):
        raise OutOfScope
    if role not in grantable_roles(actor):
        raise PermissionDenied(
            _("You cannot grant the role “%(role)s”.") % {"role": Role(role).label}
        )


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    role: str,
    unit: Unit,
    password: str,
    full_name: str = "",
    email: str = "",
) -> User:
    """Create an officer. `actor=None` only for bootstrapping commands (demo, createsuperuser)."""
    if actor is not None:
        _require_manager_of(actor, unit=unit, role=role)
    if role not in Role.values:
        raise DomainError(_("Unknown role."))
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("The username “%(username)s” is taken.") % {"username": username})
    user = User(username=username, role=role, unit=unit, full_name=full_name, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_record(actor=actor, action="user.create", obj=user, detail={"role": role})
    return user


@transaction.atomic
def user_update(
    *, actor: User, user: User, role: str, unit: Unit, full_name: str, is_active: bool
) -> User:
    """Change an officer's role, unit, name or active flag, within the actor's scope."""
    if user.pk == actor.pk:
        raise PermissionDenied(_("You cannot change your own role or unit."))
    # The actor must be able to manage the user where they are now and where they go.
    _require_manager_of(actor, unit=user.unit, role=user.role)
    _require_manager_of(actor, unit=unit, role=role)
    before = {
        "role": user.role,
        "unit": user.unit_id,
        "full_name": user.full_name,
        "is_active": user.is_active,
    }
    user.role, user.unit, user.full_name, user.is_active = role, unit, full_name, is_active
    user.full_clean()
    user.save()
    after = {"role": role, "unit": unit.pk, "full_name": full_name, "is_active": is_active}
    audit_record(
        actor=actor, action="user.update", obj=user, detail={"before": before, "after": after}
    )
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token acting as `user`. The raw token is returned once and never stored."""
    if not user_can(actor, Capability.MANAGE_TOKENS):
        raise PermissionDenied
    if not unit_in_scope(actor, user.unit):
        raise OutOfScope
    if not name.strip():
        raise DomainError(_("Give the token a name."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip(), prefix=raw[:10], digest=_digest(raw), created_by=actor
    )
    audit_record(
        actor=actor, action="token.create", obj=token, unit=user.unit, detail={"for": user.username}
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if not user_can(actor, Capability.MANAGE_TOKENS):
        raise PermissionDenied
    if not unit_in_scope(actor, token.user.unit):
        raise OutOfScope
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", obj=token, unit=token.user.unit)
    return token


# How often a token's last-use time is written; every request would be a write storm.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def api_token_authenticate(*, raw: str) -> User | None:
    """The active user behind an active token, or None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user__unit")
        .filter(digest=_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def login_is_throttled(*, username: str, client_address: str | None) -> bool:
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    by_name = recent.filter(username__iexact=username).count()
    by_address = recent.filter(client_address=client_address).count() if client_address else 0
    # An address gets more room than a name: an office NAT hides many officers.
    limit = settings.LOGIN_MAX_FAILURES
    return by_name >= limit or by_address >= limit * 4


@transaction.atomic
def login_failure_record(*, username: str, client_address: str | None) -> None:
    stale = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    LoginFailure.objects.filter(at__lt=stale).delete()
    LoginFailure.objects.create(username=username[:150], client_address=client_address)
    audit_record(actor=None, action="login.failure", detail={"username": username[:150]})


@transaction.atomic
def login_success_record(*, user: User, client_address: str | None) -> None:
    LoginFailure.objects.filter(Q(username__iexact=user.username)).delete()
    audit_record(actor=user, action="login", obj=user)
