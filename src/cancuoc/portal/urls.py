"""Citizen portal pages (no login); placeholder until built."""

from django.urls import URLPattern

app_name = "portal"
urlpatterns: list[URLPattern] = []
