"""The printable sign-in sheet of a session: one row per confirmed place and a signature box."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from bookings.files.pdf import html_to_pdf
from bookings.models import Booking, BookingStatus
from training.models import Session

# Empty rows at the end for people the trainer adds on the day (a colleague sent instead).
BLANK_ROWS = 3


def register_bookings(session: Session) -> list[Booking]:
    """The confirmed places of a session in register order (by name)."""
    return list(
        session.bookings.filter(status=BookingStatus.CONFIRMED)
        .select_related("agency", "sector")
        .order_by("attendee_name", "pk")
    )


def reserved_unnamed_places(session: Session) -> list[Booking]:
    """An agency's reserved places not yet named, shown as "Unnamed place (Agency)"."""
    return list(
        session.bookings.filter(status=BookingStatus.RESERVED)
        .select_related("agency", "order")
        .order_by("agency__name", "pk")
    )


def sign_in_sheet_context(session: Session) -> dict[str, Any]:
    bookings = register_bookings(session)
    unnamed = reserved_unnamed_places(session)
    parts = session.ordered_parts
    venue = session.venue
    return {
        "session": session,
        "course": session.course,
        "parts": [
            {
                "day": f"{timezone.localtime(part.starts_at):%A %-d %B %Y}",
                "times": f"{timezone.localtime(part.starts_at):%H:%M}–"
                f"{timezone.localtime(part.ends_at):%H:%M}",
            }
            for part in parts
        ],
        "venue": venue,
        "venue_address": ", ".join(
            piece
            for piece in [*(line.strip() for line in venue.address.splitlines()), venue.postcode]
            if piece
        ),
        "trainers": [trainer.name for trainer in session.trainers.all()],
        "bookings": bookings,
        "unnamed": unnamed,
        "listed": len(bookings) + len(unnamed),
        "blank_rows": range(BLANK_ROWS),
        "printed_at": timezone.localtime(),
        "UNIT_NAME": settings.UNIT_NAME,
    }


def sign_in_sheet_html(session: Session) -> str:
    return render_to_string(
        "bookings/attendance/sign_in_sheet_pdf.html", sign_in_sheet_context(session)
    )


def sign_in_sheet_pdf(session: Session) -> bytes:
    """The sign-in sheet as an A4 landscape PDF; the table header repeats on every page."""
    return html_to_pdf(sign_in_sheet_html(session))
