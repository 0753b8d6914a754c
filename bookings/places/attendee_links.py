"""The attendee's own link: see, cancel or hand on a place booked by a colleague, no account.

The link is signed (``django.core.signing``, its own salt) and names the booking, a
fingerprint of who holds the place now (the attendee's address and the booking's secret, which
a hand-on replaces) and when it stops working. So an altered link fails its signature, a link
of someone who handed the place on stops working, and every link ends some days after the
session. The link is the permission: whoever has the email may act on the place, as the
attendee could by replying to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import Booking, BookingStatus, OutgoingEmail
from bookings.places.changes import booking_cancel, booking_transfer

_SALT = "bookings.attendee-link"


class LinkExpired(BookingError):
    """The link was real but its time has passed."""


def _fingerprint(booking: Booking) -> str:
    # Changes when the place changes hands (a new address, and a new secret on every hand-on).
    raw = f"{booking.pk}:{booking.attendee_email.lower()}:{booking.claim_token}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def attendee_link_expiry(booking: Booking, *, now: dt.datetime) -> dt.datetime:
    """When a link made ``now`` stops working: some days after the session (or after now,
    when the session has no date yet or is long past)."""
    days = dt.timedelta(days=settings.ATTENDEE_LINK_DAYS_AFTER_SESSION)
    starts = booking.session.starts_at
    return max(now, starts or now) + days


def attendee_link_token(booking: Booking, *, now: dt.datetime) -> str:
    expires = int(attendee_link_expiry(booking, now=now).timestamp())
    # A plain signer (no signing time): the expiry is in the payload, and the same place gives
    # the same link in every email until it changes hands.
    payload = {"b": booking.pk, "f": _fingerprint(booking), "x": expires}
    return signing.Signer(salt=_SALT).sign_object(payload, compress=True)


def attendee_link_url(booking: Booking, *, now: dt.datetime) -> str:
    token = attendee_link_token(booking, now=now)
    return settings.SITE_URL + reverse("bookings:place_link", args=[token])


def attendee_link_booking(*, token: str, now: dt.datetime) -> Booking:
    """The booking a link is for; BookingError (LinkExpired) for a forged, altered, expired or
    superseded link, with a message the person can act on."""
    try:
        data = signing.Signer(salt=_SALT).unsign_object(token)
        booking_id, fingerprint, expires = int(data["b"]), str(data["f"]), int(data["x"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise BookingError(
            "This link is not complete or has been changed. Use the link in your email as it is."
        ) from error
    booking = (
        Booking.objects.select_related("session__course", "session__venue", "order", "agency")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None or _fingerprint(booking) != fingerprint:
        raise BookingError(
            "This link is no longer yours to use: the place has been handed to someone else."
        )
    if now.timestamp() > expires:
        raise LinkExpired("This link has expired. Reply to your email if you need help.")
    return booking


def attendee_email_context(email: OutgoingEmail) -> dict[str, Any]:
    """What an email to the attendee about their place adds: their own link when they have no
    account, and the joining link of an online or hybrid session once the place is confirmed.
    Nothing for an email to anyone else (a booker, a manager)."""
    booking = email.booking
    if booking is None or email.to.lower() != booking.attendee_email.lower():
        return {}
    context: dict[str, Any] = {}
    if booking.attendee_id is None:
        context["place_url"] = attendee_link_url(booking, now=timezone.now())
    venue = booking.session.venue
    if booking.status == BookingStatus.CONFIRMED and venue.is_online and venue.joining_link:
        context["joining_link"] = venue.joining_link
        context["joining_instructions"] = venue.joining_instructions
    return context


def _actor(booking: Booking) -> str:
    # Nobody is signed in: the audit trail says the holder of the emailed link acted.
    return f"attendee by email link ({booking.attendee_email})"


def place_cancel_by_link(*, booking: Booking, reason: str, now: dt.datetime) -> Booking:
    """Cancel from the attendee's link: the same rules (and refund) as any cancellation."""
    return booking_cancel(
        booking=booking,
        actor=_actor(booking),
        now=now,
        reason=reason or "Cancelled by the attendee",
    )


def place_hand_on_by_link(
    *, booking: Booking, to_name: str, to_email: str, to_job_title: str, now: dt.datetime
) -> Booking:
    """Hand the place to a colleague from the attendee's link; the old link stops working."""
    return booking_transfer(
        booking=booking,
        to_name=to_name,
        to_email=to_email,
        to_job_title=to_job_title,
        actor=_actor(booking),
        now=now,
    )


__all__ = [
    "LinkExpired",
    "attendee_email_context",
    "attendee_link_booking",
    "attendee_link_expiry",
    "attendee_link_token",
    "attendee_link_url",
    "place_cancel_by_link",
    "place_hand_on_by_link",
]
