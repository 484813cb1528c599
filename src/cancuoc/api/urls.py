"""REST API v1, assembled from each app's api.py."""

from ninja import NinjaAPI

from cancuoc.api.auth import AUTH
from cancuoc.api.errors import install_error_handlers
from cancuoc.campaigns.api import router as campaigns_router
from cancuoc.dossiers.api import router as dossiers_router
from cancuoc.enrolment.api import router as enrolment_router
from cancuoc.portal.api import router as portal_router
from cancuoc.registry.api import router as registry_router
from cancuoc.units.api import router as units_router

api = NinjaAPI(
    title="cancuoc API",
    version="1",
    description="Citizen ID-card campaigns and one-stop desk. Every result is limited to the "
    "caller's unit and the units below it.",
    auth=AUTH,
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("/units", units_router)
api.add_router("/registry", registry_router)
api.add_router("/dossiers", dossiers_router)
api.add_router("/portal", portal_router)
api.add_router("/enrolment", enrolment_router)
api.add_router("/campaigns", campaigns_router)


@api.get("/me", tags=["accounts"], summary="The caller's account, role and unit")
def me(request):  # type: ignore[no-untyped-def]
    user = request.user
    return {
        "username": user.username,
        "role": user.role,
        "unit_id": user.unit_id,
        "unit_name": user.unit.name,
    }
