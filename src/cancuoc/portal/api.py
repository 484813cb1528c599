"""Public portal API (placeholder until built); mounted at /api/v1/portal."""

from ninja import Router

router = Router(tags=["portal"])
