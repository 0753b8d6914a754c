"""Signals other apps listen to. ``evaluation`` may read ``bookings`` but not the reverse, so
bookings announces what happened and evaluation reacts (e.g. schedules the evaluation email).
"""

from django.dispatch import Signal

# Sent after commit when a booking is marked attended; kwargs: booking, now.
booking_attended = Signal()

# Sent after commit for each place an order's confirmation emails confirm; kwargs: booking, now.
booking_confirmed = Signal()
