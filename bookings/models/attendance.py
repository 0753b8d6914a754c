"""Attendance: registers, the non-attendance charging policy and its charges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from bookings.models.money import InvoiceLine
from bookings.models.places import ZERO, Booking
from training.models import PriceBand, Session


class Register(models.Model):
    """The attendance register of one session; closing it raises non-attendance charges."""

    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="register")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Register of {self.session}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class SessionLength(models.TextChoices):
    HALF_DAY = "half_day", "Half day"
    FULL_DAY = "full_day", "Full day or longer"


class NonAttendancePolicy(models.Model):
    """The charge for an absence without cancellation, by session length and price band."""

    session_length = models.CharField(max_length=20, choices=SessionLength.choices)
    band = models.ForeignKey(PriceBand, on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=ZERO,
        help_text="Charged for each absence, also for free and subsidised places.",
    )
    charge_full_price = models.BooleanField(
        default=False, help_text="Charge the course's full price for this band instead."
    )

    class Meta:
        verbose_name = "non-attendance charge"
        verbose_name_plural = "non-attendance charging policy"
        constraints = [
            models.UniqueConstraint(
                fields=["session_length", "band"], name="one_charge_per_length_and_band"
            )
        ]

    def __str__(self) -> str:
        what = "full course price" if self.charge_full_price else f"£{self.amount}"
        return f"{self.get_session_length_display()}, {self.band}: {what}"


class NonAttendanceCharge(models.Model):
    """At most one charge per booking, however often its register is reopened and closed."""

    booking = models.OneToOneField(
        Booking, on_delete=models.PROTECT, related_name="non_attendance_charge"
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    invoice_line = models.OneToOneField(
        InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waive_reason = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"Non-attendance £{self.amount}: {self.booking}"
