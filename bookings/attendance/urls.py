"""Registers, non-attendance charges, certificates and training records (namespace "attendance").

Included from ``config/urls.py`` with ``path("", include("bookings.attendance.urls"))``.
"""

from __future__ import annotations

from django.urls import path

from bookings.attendance.views import certificates, registers

app_name = "attendance"

urlpatterns = [
    path("registers/", registers.register_list, name="registers"),
    path("registers/export/", registers.attendance_export, name="export"),
    path("registers/<int:pk>/", registers.register_detail, name="register"),
    path("registers/<int:pk>/places/<int:booking_pk>/mark/", registers.register_mark, name="mark"),
    path("registers/<int:pk>/close/", registers.register_close, name="close"),
    path("registers/<int:pk>/reopen/", registers.register_reopen, name="reopen"),
    path("registers/<int:pk>/sign-in-sheet.pdf", registers.sign_in_sheet, name="sign_in_sheet"),
    path(
        "registers/<int:pk>/register.<str:file_format>",
        registers.register_export,
        name="register_export",
    ),
    path("charges/<int:pk>/waive/", registers.charge_waive, name="charge_waive"),
    path(
        "bookings/<int:pk>/certificate.pdf",
        certificates.certificate_download,
        name="certificate_pdf",
    ),
    path(
        "registers/<int:pk>/certificates.pdf",
        certificates.session_certificates_download,
        name="session_certificates",
    ),
    path(
        "certificates/download/<str:token>/", certificates.certificate_link, name="certificate_link"
    ),
    path("certificates/", certificates.certificate_lookup, name="certificate_lookup"),
    path("certificates/<str:code>/", certificates.certificate_verify, name="certificate_verify"),
    path("training-record/", certificates.my_training_record, name="training_record"),
    path(
        "people/<int:user_id>/training-record/",
        certificates.person_training_record,
        name="person_training_record",
    ),
]
