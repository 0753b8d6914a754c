"""Places booked for an email address, linked to the account that confirms that address."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bookings.audit import audit_record
from bookings.models import Booking


def bookings_claim_for_user(*, user: Any, now: dt.datetime) -> int:
    """Link places booked for this email address (by an agency booker) to the new account."""
    bookings = Booking.objects.filter(attendee__isnull=True, attendee_email__iexact=user.email)
    count = 0
    for booking in bookings:
        booking.attendee = user
        booking.save(update_fields=["attendee"])
        audit_record(obj=booking, action="claimed by attendee's account", actor=user, now=now)
        count += 1
    return count
