"""The community members' call pages' URLs (included by ``evaluation.urls``, names unchanged)."""

from __future__ import annotations

from django.urls import URLPattern, path

from evaluation.calls import views

urlpatterns: list[URLPattern] = [
    path("calls/", views.call_list, name="call_list"),
    path("calls/<int:pk>/", views.call_detail, name="call"),
    path("calls/<int:pk>/script/", views.call_script, name="call_script"),
]
