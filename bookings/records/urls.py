"""URL of the audit trail page (namespace ``records``)."""

from __future__ import annotations

from django.urls import path

from bookings.records import views

app_name = "records"

urlpatterns = [path("", views.audit_trail, name="audit")]
