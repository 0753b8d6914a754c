"""Signals other apps listen to. ``evaluation`` may read ``bookings`` but not the reverse, so
bookings announces what happened and evaluation reacts (e.g. schedules the evaluation email).
"""

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

# Sent after commit when a booking is marked attended; kwargs: booking, now.
booking_attended = Signal()

# Sent after commit for each place an order's confirmation emails confirm; kwargs: booking, now.
booking_confirmed = Signal()

# What a listener of ``booking_confirmed`` wants to know of the booking's session, read with
# the session by the booking form, in its one statement, instead of by the listener after
# commit: annotation name -> a function making the expression for a Session queryset. The
# listener finds the annotation on ``booking.session`` when the form read it, and asks the
# database itself when not (every other way of confirming a place).
booking_session_facts: dict[str, Callable[[], Any]] = {}
