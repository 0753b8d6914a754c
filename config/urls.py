from django.contrib import admin
from django.urls import include, path

from config.health import health

admin.site.site_header = "Training unit administration"
admin.site.site_title = "Training unit administration"

urlpatterns = [
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("reports/", include("evaluation.reports.urls")),
    path("", include("bookings.urls")),
    path("", include("bookings.attendance.urls")),
    path("", include("evaluation.urls")),
    path("", include("training.urls")),
]

handler500 = "config.errors.server_error"
