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
    # Population registry
    VIEW_REGISTRY = "registry.view"
    IMPORT_CITIZENS = "registry.import"
    PROPOSE_CORRECTION = "registry.correction.propose"
    APPROVE_CORRECTION = "registry.correction.approve"
    # One-stop desk
    VIEW_DOSSIERS = "dossiers.view"
    RECEIVE_DOSSIER = "dossiers.receive"  # receive, transfer, request supplements, return
    APPRAISE_DOSSIER = "dossiers.appraise"
    APPROVE_DOSSIER = "dossiers.approve"  # approve or refuse, sign and stamp
    VIEW_REPORTS = "reports.view"
    HANDLE_COMPLAINTS = "complaints.handle"
    MANAGE_CATALOGUE = "catalogue.manage"  # procedures, fees, working-day calendar
    # ID-card enrolment
    VIEW_ENROLMENT = "enrolment.view"  # stations, applications, cards, timing statistics
    ENROL = "enrolment.enrol"  # run the intake wizard at a station
    # Sign finger exceptions, resolve offline conflicts, manage stations and their tokens,
    # approve completed applications and export production files. (Cards are marked ready
    # and handed over at the desk, by whoever receives dossiers.)
    SUPERVISE_ENROLMENT = "enrolment.supervise"
    # Issuance campaigns
    VIEW_CAMPAIGNS = "campaigns.view"  # reports, dashboards, calendars, forecasts
    # Campaigns, allocations, quotas, resources and manual counts.
    MANAGE_CAMPAIGNS = "campaigns.manage"
    SCHEDULE_SESSIONS = "campaigns.schedule"  # sessions, invitations, notices, attendance


C = Capability
_EVERYONE = {
    C.VIEW_UNITS,
    C.VIEW_REGISTRY,
    C.VIEW_DOSSIERS,
    C.VIEW_ENROLMENT,
    C.VIEW_CAMPAIGNS,
}
# Managers run their unit: accounts, imports, approving corrections (maker-checker:
# never their own), signing results, reports and complaints.
_MANAGERS = _EVERYONE | {
    C.VIEW_AUDIT,
    C.MANAGE_ACCOUNTS,
    C.ADMIN_SITE,
    C.IMPORT_CITIZENS,
    C.PROPOSE_CORRECTION,
    C.APPROVE_CORRECTION,
    C.APPROVE_DOSSIER,
    C.VIEW_REPORTS,
    C.HANDLE_COMPLAINTS,
    C.SUPERVISE_ENROLMENT,
    C.MANAGE_CAMPAIGNS,
    C.SCHEDULE_SESSIONS,
}

CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.SYSTEM_ADMIN: frozenset(_MANAGERS | {C.MANAGE_TOKENS, C.MANAGE_CATALOGUE}),
    Role.PROVINCE_MANAGER: frozenset(_MANAGERS | {C.MANAGE_CATALOGUE}),
    Role.UNIT_MANAGER: frozenset(_MANAGERS),
    # Commune police officers at a station receive the card dossier and check the
    # citizen's data against the registry (the appraisal); their leader approves it.
    Role.STATION_OPERATOR: frozenset(
        _EVERYONE
        | {
            C.PROPOSE_CORRECTION,
            C.ENROL,
            C.RECEIVE_DOSSIER,
            C.APPRAISE_DOSSIER,
            C.SCHEDULE_SESSIONS,
        }
    ),
    Role.ONE_STOP_CLERK: frozenset(
        _EVERYONE | {C.PROPOSE_CORRECTION, C.RECEIVE_DOSSIER, C.VIEW_REPORTS}
    ),
    Role.APPRAISER: frozenset(_EVERYONE | {C.PROPOSE_CORRECTION, C.APPRAISE_DOSSIER}),
    Role.APPROVER: frozenset(
        _EVERYONE | {C.APPROVE_CORRECTION, C.APPROVE_DOSSIER, C.SUPERVISE_ENROLMENT}
    ),
    # The inspector reads everything in scope, including the audit log, and writes nothing.
    Role.INSPECTOR: frozenset(_EVERYONE | {C.VIEW_AUDIT, C.VIEW_REPORTS}),
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
