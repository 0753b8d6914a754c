"""Places on sessions: orders, bookings and the waiting list."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from training.dates import working_days_before
from training.models import Agency, PriceBand, Sector, Session
from training.page_version import PagesChangingQuerySet

ZERO = Decimal("0.00")


def new_reference() -> str:
    # Unambiguous characters only: people read references out over the phone.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "TT-" + "".join(secrets.choice(alphabet) for _ in range(8))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_certificate_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    INVOICE = "invoice", "Invoice"
    FREE = "free", "Free"
    SUBSIDISED = "subsidised", "Subsidised (in kind)"
    # Booked by the training unit without charge, with a reason (Order.no_charge_reason).
    NO_CHARGE = "no_charge", "No charge"


class Order(models.Model):
    """Everything one person booked in one go, paid one way."""

    reference = models.CharField(max_length=20, unique=True, default=new_reference)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="orders"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="orders")
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    purchase_order_number = models.CharField(max_length=60, blank=True)
    no_charge_reason = models.CharField(
        max_length=200, blank=True, help_text="Why the training unit booked these places free."
    )
    capacity_override_reason = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why the administrator booked beyond the session's capacity.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("bookings:order", args=[self.reference])

    @property
    def total(self) -> Decimal:
        return sum((b.price for b in self.bookings.all()), ZERO)


class BookingStatus(models.TextChoices):
    HELD = "held", "Held while paying"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Hold released"
    DECLINED = "declined", "Not approved"
    # One of an agency's reserved places, invoiced, holding capacity until the booker names
    # someone for it (then CONFIRMED) or its naming deadline passes (see PlaceReservation).
    RESERVED = "reserved", "Reserved, to be named"


# Statuses whose bookings may occupy a place; a HELD or AWAITING_APPROVAL booking only until
# its hold (``hold_expires_at``) expires.
ACTIVE_STATUSES = (BookingStatus.HELD, BookingStatus.AWAITING_APPROVAL, BookingStatus.CONFIRMED)
# Statuses that hold a place until ``hold_expires_at``: paying, or waiting for approval.
HOLDING_STATUSES = (BookingStatus.HELD, BookingStatus.AWAITING_APPROVAL)


class Attendance(models.TextChoices):
    UNKNOWN = "", "Not recorded"
    ATTENDED = "attended", "Attended"
    ABSENT = "absent", "Absent"


# Statuses that occupy a place for as long as they last: confirmed, and reserved unnamed.
PLACE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.RESERVED)


def places_taken_q(now: dt.datetime, prefix: str = "") -> Q:
    """Bookings that occupy a place at ``now``: confirmed, reserved to be named, or held (for
    payment or awaiting approval) with an unexpired hold."""
    return Q(**{f"{prefix}status__in": PLACE_STATUSES}) | Q(
        **{f"{prefix}status__in": HOLDING_STATUSES, f"{prefix}hold_expires_at__gt": now}
    )


class BookingQuerySet(PagesChangingQuerySet["Booking"]):
    def holding_capacity(self, now: dt.datetime) -> BookingQuerySet:
        return self.filter(places_taken_q(now))

    def visible_to_agency(self, agency_id: int) -> BookingQuerySet:
        return self.filter(agency_id=agency_id)


class Booking(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="bookings")
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
    attendee_email = models.EmailField(help_text="Stored in lower case.")
    attendee_job_title = models.CharField(max_length=150, blank=True)
    # As they were at booking time: reports must not change when someone moves job.
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="bookings")
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="bookings")
    price_band = models.ForeignKey(PriceBand, on_delete=models.PROTECT, related_name="bookings")
    price = models.DecimalField(max_digits=10, decimal_places=2, default=ZERO)
    in_kind_value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=ZERO,
        help_text="The price forgone on a subsidised place, recorded as in-kind income.",
    )
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    status = models.CharField(max_length=20, choices=BookingStatus.choices)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)
    late_cancellation = models.BooleanField(
        default=False, help_text="Cancelled after the cut-off: the fee stands."
    )
    attendance = models.CharField(
        max_length=10, choices=Attendance.choices, default=Attendance.UNKNOWN, blank=True
    )
    claim_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    # The line manager, as given at booking time (copied on the confirmation, a late
    # cancellation and a non-attendance charge); ``manager_agreed`` is a booker's record that
    # the manager already agreed, so no approval was asked for.
    line_manager_name = models.CharField(max_length=200, blank=True)
    line_manager_email = models.EmailField(blank=True)
    manager_agreed = models.BooleanField(
        "booker recorded the line manager's agreement", default=False
    )
    # Personal data seen only by the administrator and the trainers; removed by retention.
    access_needs = models.TextField(
        "access and dietary needs",
        blank=True,
        help_text="Seen only by the training team and the trainers.",
    )
    certificate_code = models.CharField(
        max_length=12,
        unique=True,
        default=new_certificate_code,
        editable=False,
        help_text="Printed on the certificate; its public page confirms the certificate is real.",
    )

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "attendee_email"],
                condition=Q(status__in=["held", "awaiting_approval", "confirmed"]),
                name="one_active_booking_per_attendee_per_session",
            )
        ]
        indexes = [models.Index(fields=["session", "status"])]

    def __str__(self) -> str:
        return f"{self.attendee_name} – {self.session}"

    def get_absolute_url(self) -> str:
        return reverse("bookings:booking", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def cancellation_cutoff(self) -> dt.date | None:
        if self.session.starts_at is None:
            return None
        first_day = timezone.localdate(self.session.starts_at)
        return working_days_before(first_day, settings.BOOKING_CANCELLATION_CUTOFF_WORKING_DAYS)

    def is_free_cancellation(self, now: dt.datetime) -> bool:
        """Cancelling now is refunded in full (on or before the cut-off day)."""
        cutoff = self.cancellation_cutoff()
        return cutoff is not None and timezone.localdate(now) <= cutoff

    def is_cancellable(self, now: dt.datetime) -> bool:
        return self.status == BookingStatus.CONFIRMED and (
            self.session.starts_at is None or now < self.session.starts_at
        )

    def is_transferable(self, now: dt.datetime) -> bool:
        return self.is_cancellable(now)


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a place"
    CLAIMED = "claimed", "Claimed the place"
    LAPSED = "lapsed", "Offer lapsed"
    LEFT = "left", "Left the list"


class WaitingListQuerySet(PagesChangingQuerySet["WaitingListEntry"]):
    """Offers hold places: bulk changes to the list tell the pages too."""


class WaitingListEntry(models.Model):
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="waiting_list")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waiting_list_entries"
    )
    email = models.EmailField()
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    joined_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)

    objects = WaitingListQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at", "pk"]
        verbose_name_plural = "waiting list entries"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "person"],
                condition=Q(status__in=["waiting", "offered"]),
                name="join_a_waiting_list_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} waiting for {self.session}"

    def is_open_offer(self, now: dt.datetime) -> bool:
        return (
            self.status == WaitlistStatus.OFFERED
            and self.offer_expires_at is not None
            and self.offer_expires_at > now
        )


def open_offers_q(now: dt.datetime, prefix: str = "") -> Q:
    """Waiting-list offers that are holding a place at ``now``."""
    return Q(**{f"{prefix}status": WaitlistStatus.OFFERED, f"{prefix}offer_expires_at__gt": now})
