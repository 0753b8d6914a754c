"""The retention policy: how long personal data is kept (one row, defaults from settings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class RetentionPolicy(models.Model):
    """How long each kind of personal data is kept; there is only ever the one row (pk 1)."""

    contact_years = models.PositiveSmallIntegerField(
        "contact details kept for (years)",
        validators=[MinValueValidator(1)],
        help_text="Names, emails, phones and job titles of people with no booking, call or "
        "survey response for this long are anonymised.",
    )
    free_text_years = models.PositiveSmallIntegerField(
        "survey free text kept for (years)",
        validators=[MinValueValidator(1)],
        help_text="Free-text survey answers are cleared after this long, except examples the "
        "person agreed may be quoted.",
    )
    call_notes_years = models.PositiveSmallIntegerField(
        "call notes kept for (years)",
        validators=[MinValueValidator(1)],
        help_text="What a community member wrote about a call (phone number, reasons) is "
        "cleared after this long.",
    )
    unverified_account_days = models.PositiveSmallIntegerField(
        "unverified accounts kept for (days)",
        validators=[MinValueValidator(1)],
        help_text="Accounts whose email address was never confirmed are deleted after this long.",
    )
    audit_actor_years = models.PositiveSmallIntegerField(
        "names in the audit trail kept for (years)",
        validators=[MinValueValidator(1)],
        help_text="Who made each change is replaced by 'Anonymised person' after this long; "
        "what changed and when stays.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "retention policy"
        verbose_name_plural = "retention policy"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="one_retention_policy_row")
        ]

    def __str__(self) -> str:
        return "Retention policy"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> RetentionPolicy:
        """The policy row, created from the settings' defaults the first time it is read."""
        policy, _ = cls.objects.get_or_create(
            pk=1,
            defaults={
                "contact_years": settings.RETENTION_CONTACT_YEARS,
                "free_text_years": settings.RETENTION_FREE_TEXT_YEARS,
                "call_notes_years": settings.RETENTION_CALL_NOTES_YEARS,
                "unverified_account_days": settings.RETENTION_UNVERIFIED_ACCOUNT_DAYS,
                "audit_actor_years": settings.RETENTION_AUDIT_ACTOR_YEARS,
            },
        )
        return policy

    def contact_cutoff(self, today: dt.date) -> dt.date:
        return _years_before(today, self.contact_years)

    def free_text_cutoff(self, today: dt.date) -> dt.date:
        return _years_before(today, self.free_text_years)

    def call_notes_cutoff(self, today: dt.date) -> dt.date:
        return _years_before(today, self.call_notes_years)

    def audit_actor_cutoff(self, today: dt.date) -> dt.date:
        return _years_before(today, self.audit_actor_years)

    def unverified_cutoff(self, today: dt.date) -> dt.date:
        return today - dt.timedelta(days=self.unverified_account_days)
