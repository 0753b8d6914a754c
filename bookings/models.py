"""Places on sessions and the money and messages around them.

An Order is what one person books in one go (one Checkout Session, one invoice); each Booking
in it is one named attendee at one session. Payments, refunds and invoices are rows of their
own with a status; what is owed is computed from them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from training.models import Agency, PriceBand, Sector, Session

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


class Order(models.Model):
    """Everything one person booked in one go, paid one way."""

    reference = models.CharField(max_length=20, unique=True, default=new_reference)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="orders"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="orders")
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    purchase_order_number = models.CharField(max_length=60, blank=True)
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
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Hold released"


# Statuses whose bookings may occupy a place; a HELD booking only until its hold expires.
ACTIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)


class Attendance(models.TextChoices):
    UNKNOWN = "", "Not recorded"
    ATTENDED = "attended", "Attended"
    ABSENT = "absent", "Absent"


def places_taken_q(now: dt.datetime, prefix: str = "") -> Q:
    """Bookings that occupy a place at ``now``: confirmed, or held with an unexpired hold."""
    return Q(**{f"{prefix}status": BookingStatus.CONFIRMED}) | Q(
        **{f"{prefix}status": BookingStatus.HELD, f"{prefix}hold_expires_at__gt": now}
    )


class BookingQuerySet(models.QuerySet["Booking"]):
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
                condition=Q(status__in=["held", "confirmed"]),
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
        from training.dates import working_days_before

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


class PaymentStatus(models.TextChoices):
    CREATED = "created", "Waiting for the booker to pay"
    PENDING = "pending", "Payment processing"
    SUCCEEDED = "succeeded", "Paid"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired unpaid"


class Payment(models.Model):
    """One attempt to take a card payment for an order through the gateway."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.order} £{self.amount} ({self.get_status_display()})"

    @property
    def refunded_amount(self) -> Decimal:
        return sum((r.amount for r in self.refunds.all() if r.status != RefundStatus.FAILED), ZERO)


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    gateway_refund_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Refund £{self.amount} on {self.payment.order}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    CREDITED = "credited", "Credited in full"


class InvoiceNumberSequence(models.Model):
    """The last number issued for a prefix; locked while the next number is taken (gapless)."""

    prefix = models.CharField(max_length=10, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last_number}"


class Invoice(models.Model):
    kind = models.CharField(max_length=20, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    number = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="invoices")
    credits = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        help_text="For a credit note: the invoice it credits.",
    )
    purchase_order_number = models.CharField(max_length=60, blank=True)
    # The agency's details as they were when the invoice was raised.
    billing_name = models.CharField(max_length=200)
    billing_address = models.TextField(blank=True)
    billing_email = models.EmailField(blank=True)
    issued_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    paid_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("bookings:invoice_pdf", args=[self.number])

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines.all()), ZERO)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    description = models.CharField(max_length=300)
    amount = models.DecimalField(
        max_digits=10, decimal_places=2, help_text="Negative on a credit note."
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.description}: £{self.amount}"


class WebhookEvent(models.Model):
    """Every gateway event we accepted, once: the unique id makes processing exactly-once."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a place"
    CLAIMED = "claimed", "Claimed the place"
    LAPSED = "lapsed", "Offer lapsed"
    LEFT = "left", "Left the list"


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


class OutgoingEmail(models.Model):
    """An email to send, written in the same transaction as the change it reports.

    A background task renders and sends it; ``claimed_at`` is set by a conditional update so
    that two workers never send the same email. See ``bookings.emails`` for retries.
    """

    kind = models.CharField(max_length=50)
    to = models.EmailField()
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    waiting_list_entry = models.ForeignKey(
        WaitingListEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    context = models.JSONField(default=dict, blank=True)
    send_after = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker has tried to send it."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


class AuditEntry(models.Model):
    """Who changed what, when: every state change of a booking, payment, refund or invoice."""

    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50)
    action = models.CharField(max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=100, blank=True, help_text="'system', 'stripe' or the person's email."
    )
    at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.object_type} {self.object_id}: {self.action}"


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
