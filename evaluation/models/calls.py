"""The 'test and check' calls: the monthly draws, the calls drawn and each attempt at one."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from training.models import Sector
from training.roles import Role

# Attempts a community member may make on one call before it closes as unreachable.
MAX_CALL_ATTEMPTS = 3


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


class CallDraw(models.Model):
    """One run of the monthly draw: what was asked for and what it drew."""

    month = models.DateField(help_text="The first day of the month the calls are for.")
    size = models.PositiveIntegerField(help_text="The sample size asked for.")
    drawn_at = models.DateTimeField(default=timezone.now)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    eligible = models.PositiveIntegerField(default=0, help_text="People who could be drawn.")
    drawn = models.PositiveIntegerField(default=0, help_text="Calls this run added.")
    allocation = models.JSONField(
        default=dict, blank=True, help_text="Calls per sector after this run (sector: number)."
    )

    class Meta:
        ordering = ["-drawn_at", "-pk"]

    def __str__(self) -> str:
        return f"Draw for {self.month:%B %Y} at {timezone.localtime(self.drawn_at):%d %b %H:%M}"


class CallStatus(models.TextChoices):
    OPEN = "open", "To call"
    COMPLETED = "completed", "Completed"
    DECLINED = "declined", "Declined"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    UNREACHABLE = "unreachable", "No answer after 3 attempts"
    CANCELLED = "cancelled", "Cancelled"


# Closed calls that did not happen: a redraw may replace them.
UNSUCCESSFUL_CALL_STATUSES = (
    CallStatus.DECLINED,
    CallStatus.WRONG_NUMBER,
    CallStatus.UNREACHABLE,
    CallStatus.CANCELLED,
)


class FollowUpCall(models.Model):
    """A 'test and check' call to one past attendee about one attended place."""

    draw = models.ForeignKey(CallDraw, on_delete=models.PROTECT, related_name="calls")
    month = models.DateField()
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="follow_up_calls")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_up_calls_received",
    )
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="+")
    phone = models.CharField(max_length=30, help_text="From the person's details when drawn.")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_up_calls",
        limit_choices_to={"groups__name": Role.COMMUNITY_MEMBER},
    )
    status = models.CharField(max_length=20, choices=CallStatus.choices, default=CallStatus.OPEN)
    call_back_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-month", "status", "call_back_at", "pk"]
        verbose_name = "follow-up call"
        constraints = [
            # A place is drawn once, ever; a person is never on two open calls at once. These
            # hold even if two draws run at the same moment.
            models.UniqueConstraint(fields=["booking"], name="one_call_per_booking"),
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="open"), name="one_open_call_per_person"
            ),
        ]
        indexes = [models.Index(fields=["assigned_to", "status"])]

    def __str__(self) -> str:
        return f"Call to {self.booking.attendee_name} ({self.month:%B %Y})"

    def get_absolute_url(self) -> str:
        return reverse("evaluation:call", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == CallStatus.OPEN

    def close(self, *, status: str, reason: str, now: dt.datetime) -> None:
        """Close this call with its outcome and why (callers record the audit entry)."""
        self.status = status
        self.closed_at = now
        self.close_reason = reason
        self.call_back_at = None
        self.save(update_fields=["status", "closed_at", "close_reason", "call_back_at"])


class AttemptOutcome(models.TextChoices):
    REACHED = "reached", "Reached"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    DECLINED = "declined", "Declined"
    CALL_BACK = "call_back", "Call back at a time"


class CallAttempt(models.Model):
    call = models.ForeignKey(FollowUpCall, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CALL_ATTEMPTS)]
    )
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    call_back_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["call", "number"]
        constraints = [
            models.UniqueConstraint(fields=["call", "number"], name="attempt_numbers_unique"),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=MAX_CALL_ATTEMPTS),
                name="at_most_three_attempts",
            ),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number}: {self.get_outcome_display()}"
