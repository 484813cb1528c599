"""Registry pages, one module per feature under registry/views/."""

from cancuoc.registry.views import cohort, corrections, imports, quality, search

app_name = "registry"
urlpatterns = [
    *search.urlpatterns,
    *imports.urlpatterns,
    *quality.urlpatterns,
    *corrections.urlpatterns,
    *cohort.urlpatterns,
]
