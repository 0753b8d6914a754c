"""URLs of the privacy pages (namespace ``privacy``)."""

from __future__ import annotations

from django.urls import path

from evaluation.privacy import views

app_name = "privacy"

urlpatterns = [
    path("notice/", views.notice, name="notice"),
    path("my-data/", views.my_data, name="my_data"),
    path("people/<int:user_id>/data/", views.person_data, name="person_data"),
    path("people/<int:user_id>/erase/", views.person_erase_page, name="person_erase"),
]
