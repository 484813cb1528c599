from django.urls import path

from cancuoc.enrolment import views

app_name = "enrolment"

urlpatterns = [
    path("", views.home, name="home"),
]
