"""Campaign services: campaigns, allocations, quotas, calendar days, manual counts.

Sessions, resources and invitations live in their own modules of this package
(services/sessions.py, resources.py, invitations.py) and are imported from there.
"""

from cancuoc.campaigns.services._common import (
    AllocationError,
    CampaignError,
    InvitationError,
    ManualCountError,
    QuotaError,
    SessionError,
    SlotFull,
)
from cancuoc.campaigns.services.campaigns import (
    allocation_propose,
    allocations_set,
    campaign_create,
    campaign_day_set,
    campaign_status_set,
    manual_count_enter,
    quota_set,
    quotas_set,
    reporting_units,
)

__all__ = [
    "AllocationError",
    "CampaignError",
    "InvitationError",
    "ManualCountError",
    "QuotaError",
    "SessionError",
    "SlotFull",
    "allocation_propose",
    "allocations_set",
    "campaign_create",
    "campaign_day_set",
    "campaign_status_set",
    "manual_count_enter",
    "quota_set",
    "quotas_set",
    "reporting_units",
]
