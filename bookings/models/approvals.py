"""Approvals: a line manager's (and then the training team's) agreement to a booked place."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone

from bookings.models.places import Booking, new_token


class ApprovalStage(models.TextChoices):
    MANAGER = "manager", "Line manager"
    TEAM = "team", "Training team"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "No answer in time"
    WITHDRAWN = "withdrawn", "No longer needed"


class Approval(models.Model):
    """One request for agreement to one booking, at one stage.

    The manager answers through signed links (``bookings.places.approvals``) carrying this
    row's id and ``secret``; the row's ``expires_at`` decides whether an answer still counts.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="approvals")
    stage = models.CharField(max_length=10, choices=ApprovalStage.choices)
    approver_name = models.CharField(max_length=200, blank=True)
    approver_email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    secret = models.CharField(max_length=64, default=new_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=254, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "stage"],
                condition=Q(status="pending"),
                name="one_pending_approval_per_booking_stage",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} approval of {self.booking}"

    def is_open(self, now: dt.datetime) -> bool:
        return self.status == ApprovalStatus.PENDING and self.expires_at > now
