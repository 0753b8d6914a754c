"""The attendees' survey pages and the community members' call pages, under one namespace."""

from __future__ import annotations

from django.urls import URLPattern

from evaluation.calls import urls as calls_urls
from evaluation.surveys import urls as surveys_urls

app_name = "evaluation"

urlpatterns: list[URLPattern] = [*surveys_urls.urlpatterns, *calls_urls.urlpatterns]
