"""The register as a spreadsheet: its columns, in one place, and its rows.

A register export starts with the eight columns the historical register import reads
(:data:`REGISTER_COLUMNS`), so an export can be imported elsewhere, then adds what only this
system knows (:data:`EXPORT_COLUMNS`). The import (``importing``), its admin resource and
management command, and both exports (one session's register, and every place between two
dates) all take their column names from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from bookings.models import Booking, BookingStatus

REGISTER_COLUMNS = (
    "course_title",
    "session_start",
    "venue",
    "attendee_name",
    "attendee_email",
    "agency",
    "sector",
    "status",
)
EXPORT_COLUMNS = (
    *REGISTER_COLUMNS,
    "booking_id",
    "order_reference",
    "payment_method",
    "non_attendance_charge",
    "charge_waived",
    "access_needs",
)


def _status_cell(booking: Booking) -> str:
    if booking.status == BookingStatus.CANCELLED:
        return "cancelled"
    return booking.attendance or "not recorded"


def export_cells(booking: Booking) -> dict[str, Any]:
    """One place's cells, by column name."""
    charge = getattr(booking, "non_attendance_charge", None)
    return {
        "course_title": booking.session.course.title,
        "session_start": booking.session.starts_at,
        "venue": booking.session.venue.name,
        "attendee_name": booking.attendee_name,
        "attendee_email": booking.attendee_email,
        "agency": booking.agency.name,
        "sector": booking.sector.name,
        "status": _status_cell(booking),
        "booking_id": booking.pk,
        "order_reference": booking.order.reference,
        "payment_method": booking.get_payment_method_display(),
        "non_attendance_charge": charge.amount if charge else Decimal("0.00"),
        "charge_waived": "yes" if charge and charge.waived_at else "",
        "access_needs": booking.access_needs,
    }


def export_rows(bookings: Iterable[Booking]) -> list[list[Any]]:
    """The rows of a register export, in :data:`EXPORT_COLUMNS` order."""
    rows = []
    for booking in bookings:
        cells = export_cells(booking)
        rows.append([cells[column] for column in EXPORT_COLUMNS])
    return rows


def export_queryset() -> QuerySet[Booking]:
    """Confirmed and cancelled places (not unpaid holds), with what their cells need."""
    return Booking.objects.filter(
        status__in=[BookingStatus.CONFIRMED, BookingStatus.CANCELLED]
    ).select_related(
        "session__course", "session__venue", "agency", "sector", "order", "non_attendance_charge"
    )
