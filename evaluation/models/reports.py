"""The reports' own setting: the training team's cost per year, and the share to recover."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from training.dates import financial_year_label


class TrainingCostTarget(models.Model):
    """The training team's cost in one financial year and how much of it income should cover.

    The annual report's unit recovered 50% of the team's salaries in 2016/17 and aimed for
    100% the year after; the income report compares the year's income with this row.
    """

    financial_year_start = models.DateField(
        unique=True, help_text="1 April of the financial year (April to March)."
    )
    team_cost = models.DecimalField(
        "training team's cost",
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Salaries and running costs of the training team for the year, in pounds.",
    )
    recovery_target_percent = models.PositiveSmallIntegerField(
        "cost recovery target (%)",
        default=100,
        validators=[MaxValueValidator(1000)],
        help_text="The share of the team's cost that income should cover, e.g. 50 or 100.",
    )

    class Meta:
        app_label = "evaluation"
        ordering = ["-financial_year_start"]
        verbose_name = "training cost target"

    def __str__(self) -> str:
        return f"{self.year_label}: £{self.team_cost:,.2f}, target {self.recovery_target_percent}%"

    @property
    def year_label(self) -> str:
        return financial_year_label(self.financial_year_start)

    @property
    def target_income(self) -> Decimal:
        return (self.team_cost * self.recovery_target_percent / 100).quantize(Decimal("0.01"))

    def clean(self) -> None:
        start = self.financial_year_start
        if isinstance(start, dt.date) and (start.month, start.day) != (4, 1):
            raise ValidationError(
                {"financial_year_start": "A financial year starts on 1 April. Choose 1 April."}
            )
