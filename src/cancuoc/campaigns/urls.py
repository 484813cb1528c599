"""Campaign pages under /campaigns/: the list ("home"), a campaign's plan, reports and
sessions (/campaigns/c/<slug>/...), resources, sessions and notice batches."""

from cancuoc.campaigns.views import campaigns, reports, resources, sessions

app_name = "campaigns"

urlpatterns = [
    *campaigns.urlpatterns,
    *resources.urlpatterns,
    *sessions.urlpatterns,
    *reports.urlpatterns,
]
