"""The calendar entry (.ics) for a place, built from the database alone."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from bookings.models import Booking, BookingStatus
from bookings.models.records import OutgoingEmail


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _venue_location(booking: Booking) -> str:
    venue = booking.session.venue
    pieces = [venue.name, *(line.strip() for line in venue.address.splitlines()), venue.postcode]
    return ", ".join(piece for piece in pieces if piece)


def booking_ics_uid(booking: Booking, part_number: int) -> str:
    """The same for every download of the same place, so calendars update instead of adding."""
    return f"booking-{booking.pk}-part-{part_number}@{_site_host()}"


def booking_ics(booking: Booking) -> bytes:
    """An iCalendar file with one event per dated part of the booked session (times in UTC)."""
    session = booking.session
    course = session.course
    parts = session.ordered_parts
    booking_url = settings.SITE_URL + reverse("bookings:booking", args=[booking.pk])
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.UNIT_NAME}//Training bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", settings.UNIT_NAME)
    stamp = timezone.now().astimezone(dt.UTC)
    for number, part in enumerate(parts, start=1):
        event = Event()
        event.add("uid", booking_ics_uid(booking, number))
        event.add("dtstamp", stamp)
        event.add("dtstart", part.starts_at.astimezone(dt.UTC))
        event.add("dtend", part.ends_at.astimezone(dt.UTC))
        summary = course.title
        if len(parts) > 1:
            summary = f"{summary} (part {number} of {len(parts)})"
        event.add("summary", summary)
        event.add("location", _venue_location(booking))
        event.add(
            "description",
            "\n".join(
                [
                    f"Attendee: {booking.attendee_name}",
                    f"Booking reference: {booking.order.reference}",
                    f"Venue: {_venue_location(booking)}",
                    f"Your booking: {booking_url}",
                ]
            ),
        )
        event.add("url", booking_url)
        event.add(
            "status", "CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED"
        )
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


def booking_ics_attachments(email: OutgoingEmail) -> list[tuple[str, bytes, str]]:
    """The place's calendar entry, attached to the email that confirms it."""
    if email.booking is None:
        return []
    return [("training.ics", booking_ics(email.booking), "text/calendar")]
