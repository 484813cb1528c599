"""Campaign API, one router per feature; mounted at /api/v1/campaigns."""

from ninja import Router

from cancuoc.campaigns.api import campaigns, invitations, reports, sessions

router = Router(tags=["campaigns"])
for feature in (campaigns, reports, sessions, invitations):
    router.add_router("", feature.router)
