"""Records kept about everything else: the email outbox and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from bookings.models.money import Invoice
from bookings.models.places import Booking, Order, WaitingListEntry


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
