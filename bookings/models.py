"""Places on sessions. A booking is one named attendee at one session."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from training.models import Agency, PriceBand, Sector, Session


class BookingStatus(models.TextChoices):
    HELD = "held", "Held while paying"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Hold expired"


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    INVOICE = "invoice", "Invoice"
    FREE = "free", "Free"
    SUBSIDISED = "subsidised", "Subsidised (in kind)"


# Statuses whose bookings may occupy a place; a HELD booking only until its hold expires.
ACTIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)


class BookingQuerySet(models.QuerySet["Booking"]):
    def holding_capacity(self, now: dt.datetime) -> BookingQuerySet:
        return self.filter(places_taken_q(now))


def places_taken_q(now: dt.datetime, prefix: str = "") -> models.Q:
    """Bookings that occupy a place at ``now``: confirmed, or held with an unexpired hold."""
    return models.Q(**{f"{prefix}status": BookingStatus.CONFIRMED}) | models.Q(
        **{f"{prefix}status": BookingStatus.HELD, f"{prefix}hold_expires_at__gt": now}
    )


class Booking(models.Model):
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="bookings")
    attendee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
        help_text="Empty until a colleague booked by their agency claims the place.",
    )
    attendee_name = models.CharField(max_length=200)
    attendee_email = models.EmailField()
    attendee_job_title = models.CharField(max_length=150, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="bookings_made",
    )
    # As they were at booking time: reports must not change when someone moves job.
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="bookings")
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="bookings")
    price_band = models.ForeignKey(PriceBand, on_delete=models.PROTECT, related_name="bookings")
    price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    status = models.CharField(max_length=20, choices=BookingStatus.choices)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "attendee_email"],
                condition=models.Q(status__in=["held", "confirmed"]),
                name="one_active_booking_per_attendee_per_session",
            )
        ]
        indexes = [models.Index(fields=["session", "status"])]

    def __str__(self) -> str:
        return f"{self.attendee_name} – {self.session}"
