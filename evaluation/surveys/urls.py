"""The survey pages' URLs (included by ``evaluation.urls``, names unchanged)."""

from __future__ import annotations

from django.urls import URLPattern, path

from evaluation.surveys import views

urlpatterns: list[URLPattern] = [
    path("survey/<str:token>/", views.survey, name="survey"),
    path("survey/<str:token>/thanks/", views.survey_thanks, name="survey_thanks"),
    path("survey/<str:token>/opt-out/", views.opt_out, name="opt_out"),
]
