"""The bookings domain's errors: each carries a message the person can act on."""

from __future__ import annotations


class BookingError(Exception):
    """A booking could not be made or changed; the message tells the person what to do."""


class SessionFull(BookingError):
    """Not enough places left; the page offers the waiting list instead."""
