"""Registers, non-attendance charges, certificates and training records (namespace "attendance").

Included from ``config/urls.py`` with ``path("", include("bookings.urls_attendance"))``.
"""

from django.urls import path

from bookings import views_attendance as views

app_name = "attendance"

urlpatterns = [
    path("registers/", views.register_list, name="registers"),
    path("registers/export/", views.attendance_export, name="export"),
    path("registers/<int:pk>/", views.register_detail, name="register"),
    path("registers/<int:pk>/places/<int:booking_pk>/mark/", views.register_mark, name="mark"),
    path("registers/<int:pk>/close/", views.register_close, name="close"),
    path("registers/<int:pk>/reopen/", views.register_reopen, name="reopen"),
    path("registers/<int:pk>/sign-in-sheet.pdf", views.sign_in_sheet, name="sign_in_sheet"),
    path(
        "registers/<int:pk>/register.<str:file_format>",
        views.register_export,
        name="register_export",
    ),
    path("charges/<int:pk>/waive/", views.charge_waive, name="charge_waive"),
    path("bookings/<int:pk>/certificate.pdf", views.certificate_download, name="certificate_pdf"),
    path("certificates/", views.certificate_lookup, name="certificate_lookup"),
    path("certificates/<str:code>/", views.certificate_verify, name="certificate_verify"),
    path("training-record/", views.my_training_record, name="training_record"),
    path(
        "people/<int:user_id>/training-record/",
        views.person_training_record,
        name="person_training_record",
    ),
]
