"""The in-kind ledger: what partner agencies gave the training unit in a financial year."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from training.dates import financial_year_label
from training.models import Agency


class ContributionKind(models.TextChoices):
    VENUE_DAYS = "venue_days", "Venue-days lent"
    TRAINER_HOURS = "trainer_hours", "Partner trainer hours"


CONTRIBUTION_UNITS = {
    ContributionKind.VENUE_DAYS: "days",
    ContributionKind.TRAINER_HOURS: "hours",
}


class InKindContribution(models.Model):
    """Venue-days lent or trainer hours given by a partner in one year, at an agreed rate.

    Its value (quantity times rate) is what the unit did not have to pay: the annual report's
    "saving" from venues lent free by the acute trusts.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="contributions")
    financial_year_start = models.DateField(
        help_text="1 April of the financial year (April to March)."
    )
    kind = models.CharField(max_length=20, choices=ContributionKind.choices)
    quantity = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Days for a venue, hours for a trainer.",
    )
    rate = models.DecimalField(
        "agreed rate",
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text="The agreed price of one day (venue) or one hour (trainer), in pounds.",
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="E.g. the venue or the trainer's role."
    )

    class Meta:
        app_label = "evaluation"
        ordering = ["-financial_year_start", "agency__name", "kind", "pk"]
        verbose_name = "in-kind contribution"

    def __str__(self) -> str:
        return f"{self.agency}: {self.get_kind_display()} {self.quantity} ({self.year_label})"

    @property
    def year_label(self) -> str:
        return financial_year_label(self.financial_year_start)

    @property
    def value(self) -> Decimal:
        return (self.quantity * self.rate).quantize(Decimal("0.01"))

    def clean(self) -> None:
        start = self.financial_year_start
        if isinstance(start, dt.date) and (start.month, start.day) != (4, 1):
            raise ValidationError(
                {"financial_year_start": "A financial year starts on 1 April. Choose 1 April."}
            )
