"""Roles and what each may do.

A role grants capabilities; the unit a user belongs to limits *where* they
apply (see core.scoping). Later modules add their capabilities here, so one
table answers "who may do what".
"""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    PROVINCE_MANAGER = "province_manager", _("Province manager")
    UNIT_MANAGER = "unit_manager", _("Unit manager")
    STATION_OPERATOR = "station_operator", _("Station operator")
    ONE_STOP_CLERK = "one_stop_clerk", _("One-stop clerk")
    APPRAISER = "appraiser", _("Appraiser")
    APPROVER = "approver", _("Approver")
    INSPECTOR = "inspector", _("Inspector (read-only)")


class Capability(StrEnum):
    VIEW_UNITS = "units.view"
    VIEW_AUDIT = "audit.view"
    MANAGE_ACCOUNTS = "accounts.manage"
    MANAGE_TOKENS = "tokens.manage"
    ADMIN_SITE = "admin.access"


_EVERYONE = {Capability.VIEW_UNITS}
_MANAGERS = _EVERYONE | {Capability.VIEW_AUDIT, Capability.MANAGE_ACCOUNTS, Capability.ADMIN_SITE}

CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.SYSTEM_ADMIN: frozenset(_MANAGERS | {Capability.MANAGE_TOKENS}),
    Role.PROVINCE_MANAGER: frozenset(_MANAGERS),
    Role.UNIT_MANAGER: frozenset(_MANAGERS),
    Role.STATION_OPERATOR: frozenset(_EVERYONE),
    Role.ONE_STOP_CLERK: frozenset(_EVERYONE),
    Role.APPRAISER: frozenset(_EVERYONE),
    Role.APPROVER: frozenset(_EVERYONE),
    # The inspector reads everything in scope, including the audit log, and writes nothing.
    Role.INSPECTOR: frozenset(_EVERYONE | {Capability.VIEW_AUDIT}),
}

# A manager may grant only roles ranked below their own.
RANK: dict[str, int] = {
    Role.SYSTEM_ADMIN: 100,
    Role.PROVINCE_MANAGER: 80,
    Role.UNIT_MANAGER: 60,
}
_DEFAULT_RANK = 10


def role_rank(role: str) -> int:
    return RANK.get(role, _DEFAULT_RANK)


def user_can(user: object, capability: Capability) -> bool:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return capability in CAPABILITIES.get(getattr(user, "role", ""), frozenset())


def grantable_roles(user: object) -> list[str]:
    own = role_rank(getattr(user, "role", ""))
    return [role for role in Role.values if role_rank(role) < own]
