"""One-stop desk API, one router per feature; mounted at /api/v1/dossiers."""

from ninja import Router

from cancuoc.dossiers.api import desk, forms, reports

router = Router(tags=["dossiers"])
for feature in (desk, forms, reports):
    router.add_router("", feature.router)
