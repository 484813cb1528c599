"""Enrolment pages (namespace "enrolment"); the API lives in enrolment/api/."""

from django.urls import path

from cancuoc.enrolment.views import stations, supervision, wizard

app_name = "enrolment"

urlpatterns = [
    path("", stations.home, name="home"),
    # Stations and their sessions
    path("stations/", stations.station_list, name="station_list"),
    path("stations/new/", stations.station_create, name="station_create"),
    path("stations/<int:pk>/", stations.station_detail, name="station_detail"),
    path("stations/<int:pk>/edit/", stations.station_edit, name="station_edit"),
    path("stations/<int:pk>/token/", stations.station_token, name="station_token"),
    path("stations/<int:pk>/sessions/open/", stations.session_open, name="session_open"),
    path("sessions/<int:pk>/close/", stations.session_close, name="session_close"),
    # The intake wizard
    path("stations/<int:pk>/find/", wizard.find, name="find"),
    path("applications/<uuid:pk>/", wizard.wizard, name="wizard"),
    path("applications/<uuid:pk>/capture/", wizard.capture, name="capture"),
    path("applications/<uuid:pk>/exception/", wizard.exception, name="exception"),
    path("applications/<uuid:pk>/step/", wizard.step, name="step"),
    path("applications/<uuid:pk>/cancel/", wizard.cancel, name="cancel"),
    path("applications/<uuid:pk>/cc01.pdf", wizard.cc01, name="cc01"),
    path("applications/<uuid:pk>/cc02.pdf", wizard.cc02, name="cc02"),
    path(
        "applications/<uuid:pk>/images/<int:capture_id>/",
        wizard.capture_image,
        name="capture_image",
    ),
    # Supervision
    path("approve/", supervision.approve, name="approve"),
    path("stats/", supervision.stats, name="stats"),
    path("cards/", supervision.cards, name="cards"),
    path("cards/action/", supervision.card_action, name="card_action"),
    path("cards/export/", supervision.export, name="export"),
    path("conflicts/", supervision.conflicts, name="conflicts"),
    path("conflicts/<uuid:pk>/resolve/", supervision.conflict_resolve, name="conflict_resolve"),
]
