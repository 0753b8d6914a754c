"""Confirming places once they are paid for or need no payment: the emails that say so."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.events import booking_confirmed
from bookings.models import (
    Booking,
    Order,
    OutgoingEmail,
)
from bookings.outbox import outgoing_email
from training.dates import working_days_before
from training.models import Session


def confirmation_emails(
    order: Order, bookings: list[Booking], *, now: dt.datetime
) -> list[OutgoingEmail | None]:
    """The emails that confirm an order's places: each attendee's (one email, which carries the
    attendee's own link and the way to claim the place when they have no account), with a
    reminder before the session, and the booker's when the booker is not one of the
    attendees; the line manager's copy, if one was named. Each confirmed place is announced
    after commit (``booking_confirmed``), so that, for example, evaluation can send a
    pre-course questionnaire with it."""
    emails = []
    for booking in bookings:
        transaction.on_commit(
            lambda booking=booking: booking_confirmed.send(  # type: ignore[misc]
                sender=Booking, booking=booking, now=now
            )
        )
        emails.append(
            outgoing_email(kind="booking_confirmed", to=booking.attendee_email, booking=booking)
        )
        if booking.line_manager_email:
            # The line manager releases the person from work: they get a copy.
            emails.append(
                outgoing_email(
                    kind="manager_booking_confirmed", to=booking.line_manager_email, booking=booking
                )
            )
        reminder_at = reminder_time(booking.session)
        if reminder_at is not None and reminder_at > now:
            emails.append(
                outgoing_email(
                    kind="booking_reminder",
                    to=booking.attendee_email,
                    booking=booking,
                    send_after=reminder_at,
                )
            )
    booker_email = getattr(order.booked_by, "email", "")
    if booker_email and booker_email.lower() not in {b.attendee_email for b in bookings}:
        emails.append(outgoing_email(kind="order_confirmed", to=booker_email, order=order))
    return emails


def reminder_time(session: Session) -> dt.datetime | None:
    if session.starts_at is None:
        return None
    day = working_days_before(
        timezone.localdate(session.starts_at), settings.BOOKING_REMINDER_WORKING_DAYS
    )
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 9, 0))
