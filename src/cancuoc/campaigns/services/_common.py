"""What every campaign service shares: errors, permission and scope checks, loading."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.campaigns.models import Campaign
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.core.scoping import path_in_scope, unit_in_scope
from cancuoc.units.models import Unit

#: The rollup stream every count of received dossiers lives in (core/events.py).
EVENT_SUBJECT = "enrolment"
#: Automatic counts: one per completed enrolment (the enrolment service appends them).
MEASURE_AUTO = "enrolled"
#: Counts typed in by hand for units not yet on the system.
MEASURE_MANUAL = "enrolled_manual"


# --- Errors ---------------------------------------------------------------------------


class CampaignError(DomainError):
    default_message = gettext_lazy("The campaign was not changed.")


class AllocationError(CampaignError):
    """The allocations do not sum to the target, or name a unit outside the campaign."""


class QuotaError(CampaignError):
    """A daily quota is invalid (negative, outside the campaign, on a closed day)."""


class ManualCountError(CampaignError):
    """A manual count clashes with automatic counts or lies outside the campaign."""


class SessionError(CampaignError):
    """A session is invalid: outside the campaign, overlapping, bad times or capacity."""


class InvitationError(CampaignError):
    """An invitation cannot be made or changed."""


class SlotFull(InvitationError):
    default_message = gettext_lazy("This time slot is full; nothing was changed.")


# --- Checks ---------------------------------------------------------------------------


def require(actor: Any, capability: Capability) -> None:
    if not user_can(actor, capability):
        raise PermissionDenied()


def require_unit(actor: Any, unit: Unit) -> None:
    if not unit_in_scope(actor, unit):
        raise OutOfScope()


def campaign_for_update(*, actor: Any, campaign_id: int, capability: Capability) -> Campaign:
    """The campaign, locked for the rest of the transaction, after capability and scope checks.

    Scope: the actor must see the campaign's own unit (a commune manager cannot edit the
    province's campaign, though they can read its report for their commune).
    """
    require(actor, capability)
    campaign = (
        Campaign.objects.select_for_update().select_related("unit").filter(pk=campaign_id).first()
    )
    if campaign is None or not path_in_scope(actor, campaign.unit_path):
        raise OutOfScope()
    return campaign


def unit_in_campaign(campaign: Campaign, unit: Unit) -> bool:
    return unit.path.startswith(campaign.unit_path)


def child_unit_of_campaign(campaign: Campaign, unit_id: int) -> Unit:
    """A direct child of the campaign unit (quotas and allocations are per child unit)."""
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None or unit.parent_id != campaign.unit_id:
        raise CampaignError(
            _("The unit is not one of the campaign's units: %(unit)s.")
            % {"unit": unit.name if unit else unit_id}
        )
    return unit
