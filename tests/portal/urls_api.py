"""The project's URLs plus the portal router on a test API, until the lead mounts it at
/api/v1/portal (the same router; ninja allows mounting a router on two APIs)."""

from django.urls import path
from ninja import NinjaAPI

from cancuoc.api.auth import AUTH
from cancuoc.api.errors import install_error_handlers
from cancuoc.portal.api import router
from cancuoc.urls import urlpatterns as project_urlpatterns

api = NinjaAPI(auth=AUTH, urls_namespace="portal-test-api", docs_url=None)
install_error_handlers(api)
api.add_router("/portal", router)

urlpatterns = [*project_urlpatterns, path("api/test/", api.urls)]
