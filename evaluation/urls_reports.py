"""Report pages, included from config.urls at ``reports/``."""

from django.urls import path

from evaluation import views_reports

app_name = "reports"

urlpatterns = [
    path("", views_reports.index, name="index"),
    path(
        "attendance-by-sector/",
        views_reports.attendance_by_sector_page,
        name="attendance_by_sector",
    ),
    path("year-summary/", views_reports.year_summary_page, name="year_summary"),
    path("income/", views_reports.income_page, name="income"),
    path("evaluation-and-impact/", views_reports.impact_page, name="impact"),
]
