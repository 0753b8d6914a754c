"""The calendar entries (.ics) for a place and for a trainer's session, built from the database.

Every entry of a session carries the session's ``calendar_sequence``: it rises each time the
session moves or is cancelled, so a calendar replaces the entry it already has (same UID)
instead of adding a second. A cancelled place or session is sent as ``METHOD:CANCEL``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from bookings.models import Booking, BookingStatus
from bookings.models.records import OutgoingEmail
from training.models import Session, SessionStatus


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _venue_location(session: Session) -> str:
    venue = session.venue
    pieces = [venue.name, *(line.strip() for line in venue.address.splitlines()), venue.postcode]
    return ", ".join(piece for piece in pieces if piece)


def booking_ics_uid(booking: Booking, part_number: int) -> str:
    """The same for every download of the same place, so calendars update instead of adding."""
    return f"booking-{booking.pk}-part-{part_number}@{_site_host()}"


def session_ics_uid(session: Session, part_number: int) -> str:
    """A trainer's entry for one part of a session: the same in every email about it."""
    return f"session-{session.pk}-part-{part_number}@{_site_host()}"


def _calendar(
    session: Session,
    *,
    cancelled: bool,
    uid: Callable[[int], str],
    description: list[str],
    url: str,
) -> bytes:
    """One event per dated part of the session (times in UTC); ``uid`` names each part."""
    parts = session.ordered_parts
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.UNIT_NAME}//Training bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    calendar.add("x-wr-calname", settings.UNIT_NAME)
    stamp = timezone.now().astimezone(dt.UTC)
    location = _venue_location(session)
    for number, part in enumerate(parts, start=1):
        event = Event()
        event.add("uid", uid(number))
        event.add("sequence", session.calendar_sequence)
        event.add("dtstamp", stamp)
        event.add("dtstart", part.starts_at.astimezone(dt.UTC))
        event.add("dtend", part.ends_at.astimezone(dt.UTC))
        summary = session.course.title
        if len(parts) > 1:
            summary = f"{summary} (part {number} of {len(parts)})"
        event.add("summary", summary)
        event.add("location", location)
        event.add("description", "\n".join([*description, f"Venue: {location}"]))
        event.add("url", url)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


def booking_ics(booking: Booking) -> bytes:
    """An iCalendar file with one event per dated part of the booked session."""
    booking_url = settings.SITE_URL + reverse("bookings:booking", args=[booking.pk])
    return _calendar(
        booking.session,
        cancelled=booking.status == BookingStatus.CANCELLED,
        uid=lambda number: booking_ics_uid(booking, number),
        description=[
            f"Attendee: {booking.attendee_name}",
            f"Booking reference: {booking.order.reference}",
            f"Your booking: {booking_url}",
        ],
        url=booking_url,
    )


def session_ics(session: Session) -> bytes:
    """A trainer's calendar file for the session they deliver."""
    register_url = settings.SITE_URL + reverse("attendance:register", args=[session.pk])
    return _calendar(
        session,
        cancelled=session.status == SessionStatus.CANCELLED,
        uid=lambda number: session_ics_uid(session, number),
        description=["You are training on this session.", f"The register: {register_url}"],
        url=register_url,
    )


def booking_ics_attachments(email: OutgoingEmail) -> list[tuple[str, bytes, str]]:
    """The place's calendar entry, attached to the email that confirms or changes it."""
    if email.booking is None:
        return []
    return [("training.ics", booking_ics(email.booking), "text/calendar")]


def cancelled_session_ics_attachments(email: OutgoingEmail) -> list[tuple[str, bytes, str]]:
    """On a cancellation email, the calendar update that removes the entry, when the whole
    session was cancelled (a person cancelling their own place is told in words only)."""
    booking = email.booking
    if (
        booking is None
        or booking.status != BookingStatus.CANCELLED
        or booking.session.status != SessionStatus.CANCELLED
    ):
        return []
    return [("training.ics", booking_ics(booking), "text/calendar")]


def session_ics_attachments(email: OutgoingEmail) -> list[tuple[str, bytes, str]]:
    """The trainer's entry for the session named in the email's context."""
    session = Session.objects.filter(pk=email.context.get("session_id")).first()
    if session is None:
        return []
    return [("training.ics", session_ics(session), "text/calendar")]
