from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from config.health import health
from training.mfa import admin_site_permission

admin.site.site_header = "Training unit administration"
admin.site.site_title = "Training unit administration"
# Staff accounts (issue 16): the admin is for administrators only, and they sign in through
# allauth (password, then the second factor), never through the admin's own password form.
admin.site.has_permission = admin_site_permission  # type: ignore[method-assign]
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("reports/", include("evaluation.reports.urls")),
    path("privacy/", include("evaluation.privacy.urls")),
    path("audit/", include("bookings.records.urls")),
    path("", include("bookings.urls")),
    path("", include("bookings.attendance.urls")),
    path("", include("evaluation.urls")),
    path("", include("training.urls")),
]

handler500 = "config.errors.server_error"
