from django.urls import include, path

from cancuoc.api.urls import api
from cancuoc.core.admin import admin_site

urlpatterns = [
    path("", include("cancuoc.core.urls")),
    path("accounts/", include("cancuoc.accounts.urls")),
    path("units/", include("cancuoc.units.urls")),
    path("registry/", include("cancuoc.registry.urls")),
    path("desk/", include("cancuoc.dossiers.urls")),
    path("portal/", include("cancuoc.portal.urls")),
    path("enrolment/", include("cancuoc.enrolment.urls")),
    path("campaigns/", include("cancuoc.campaigns.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin_site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
