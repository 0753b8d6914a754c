"""Money: payments, refunds, invoices and credit notes, and the gateway's webhook events."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.urls import reverse
from django.utils import timezone

from bookings.models.places import ZERO, Booking, Order
from training.models import Agency


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
