"""Registry API, one router per feature; mounted at /api/v1/registry."""

from ninja import Router

from cancuoc.registry.api import cohort, corrections, imports, quality, search

router = Router(tags=["registry"])
for feature in (search, imports, quality, corrections, cohort):
    router.add_router("", feature.router)
