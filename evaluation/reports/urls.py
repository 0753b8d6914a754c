"""The report pages' URLs, included from config.urls at ``reports/``."""

from __future__ import annotations

from django.urls import path

from evaluation.ledger import views as ledger_views
from evaluation.reports import views
from evaluation.reports.annual import messages_views
from evaluation.reports.annual import views as annual_views
from evaluation.reports.reviews import views as review_views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path(
        "attendance-by-sector/",
        views.attendance_by_sector_page,
        name="attendance_by_sector",
    ),
    path("year-summary/", views.year_summary_page, name="year_summary"),
    path("income/", views.income_page, name="income"),
    path("evaluation-and-impact/", views.impact_page, name="impact"),
    path("in-kind/", ledger_views.ledger_page, name="in_kind"),
    path("annual-pack/", annual_views.annual_pack_page, name="annual_pack"),
    path(
        "sessions/<int:pk>/messages/",
        messages_views.session_messages,
        name="session_messages",
    ),
    path("messages/<int:pk>/", messages_views.session_message_edit, name="session_message"),
    path(
        "messages/<int:pk>/delete/",
        messages_views.session_message_remove,
        name="session_message_delete",
    ),
    path("learning-reviews/", review_views.reviews_page, name="reviews"),
    path("learning-reviews/<int:pk>/", review_views.review_page, name="review"),
]
