"""One-stop desk pages, one module per feature under dossiers/views/."""

from cancuoc.dossiers.views import calendar, catalogue, desk, forms, reports

app_name = "dossiers"
urlpatterns = [
    *desk.urlpatterns,
    *catalogue.urlpatterns,
    *calendar.urlpatterns,
    *forms.urlpatterns,
    *reports.urlpatterns,
]
