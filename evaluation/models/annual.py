"""What the annual report's training section needs beyond the bookings: narrative and messages."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from training.dates import financial_year_label
from training.models import Session


class AnnualNarrative(models.Model):
    """The administrator's paragraphs for one financial year's training section (§11.2).

    The figures come from the data; these are the words around them, kept per year so the
    pack can be generated again with the same text.
    """

    financial_year_start = models.DateField(
        unique=True, help_text="1 April of the financial year (April to March)."
    )
    what_was_done = models.TextField("What was done?", blank=True)
    how_well = models.TextField("How well was it done?", blank=True)
    difference_made = models.TextField("What difference has been made?", blank=True)
    next_steps = models.TextField("What next steps will be taken?", blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "evaluation"
        ordering = ["-financial_year_start"]
        verbose_name = "annual report narrative"

    def __str__(self) -> str:
        return f"Training section narrative, {self.year_label}"

    @property
    def year_label(self) -> str:
        return financial_year_label(self.financial_year_start)

    def clean(self) -> None:
        start = self.financial_year_start
        if isinstance(start, dt.date) and (start.month, start.day) != (4, 1):
            raise ValidationError(
                {"financial_year_start": "A financial year starts on 1 April. Choose 1 April."}
            )


class SessionMessage(models.Model):
    """One "Practitioners told us" message from a MAPIG session or a conference."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages")
    text = models.TextField(
        help_text="What practitioners said on the day, as it may be published: no names."
    )
    order = models.PositiveSmallIntegerField(default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "evaluation"
        ordering = ["session__starts_at", "order", "pk"]
        verbose_name = "message from practitioners"
        verbose_name_plural = "messages from practitioners"

    def __str__(self) -> str:
        return self.text[:80]
