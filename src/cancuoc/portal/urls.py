"""Citizen portal pages (no login) and the officers' complaint pages."""

from django.urls import path

from cancuoc.campaigns.views import portal as invitation_portal
from cancuoc.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("invitation/", invitation_portal.invitation_lookup, name="invitation_lookup"),
    path("invitation/<str:code>/", invitation_portal.invitation, name="invitation"),
    path("dossiers/<str:code>/", views.dossier, name="dossier"),
    path("complaint/", views.complaint, name="complaint"),
    path("complaint/sent/", views.complaint_sent, name="complaint_sent"),
    path("complaints/", views.complaints, name="complaints"),
    path("complaints/<int:pk>/", views.complaint_detail, name="complaint_detail"),
]
