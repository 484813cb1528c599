"""Campaign API, one router per feature; mounted at /api/v1/campaigns."""

from ninja import Router

router = Router(tags=["campaigns"])
