"""Reserved places: an agency's unnamed places on a session, to be named by a deadline."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from bookings.models.places import Order
from training.dates import working_days_before
from training.models import Agency, Session


class ReservationSettled(models.TextChoices):
    RELEASED = "released", "Unnamed places released, credited"
    CHARGED = "charged", "Unnamed places given up, still charged"


class PlaceReservation(models.Model):
    """An agency's block of unnamed places on one session, invoiced when reserved.

    Each place is a Booking of its order with status RESERVED (it holds capacity like a
    confirmed place); naming someone makes it an ordinary confirmed place. At the naming
    deadline (``RESERVED_PLACES_NAMING_WORKING_DAYS`` working days before the session) the
    places still unnamed are settled by ``RESERVED_PLACES_UNNAMED`` (released and credited,
    or given up and still charged).
    """

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="reservation")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="reservations")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="reservations")
    places = models.PositiveSmallIntegerField(help_text="How many places were reserved.")
    reserved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the booker was reminded to name the places."
    )
    settled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the places still unnamed at the deadline went."
    )
    settled_how = models.CharField(max_length=20, choices=ReservationSettled.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.places} places for {self.agency} on {self.session}"

    def naming_deadline(self) -> dt.date | None:
        """The last day to name the places (N working days before the session's first day)."""
        if self.session.starts_at is None:
            return None
        first_day = timezone.localdate(self.session.starts_at)
        return working_days_before(first_day, settings.RESERVED_PLACES_NAMING_WORKING_DAYS)

    def reminder_day(self) -> dt.date | None:
        deadline = self.naming_deadline()
        if deadline is None:
            return None
        return working_days_before(deadline, settings.RESERVED_PLACES_REMINDER_WORKING_DAYS)

    def is_open_for_naming(self, now: dt.datetime) -> bool:
        deadline = self.naming_deadline()
        return (
            self.settled_at is None and deadline is not None and timezone.localdate(now) <= deadline
        )
