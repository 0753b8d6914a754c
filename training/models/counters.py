"""Counters many processes count up at once: rate-limit windows and the public pages' version."""

from __future__ import annotations

from django.db import models

from training.counters import TABLE


class Counter(models.Model):
    """One number under a key, counted up in one statement (``training.counters``).

    The database cache would take about a dozen statements for the same add-then-increment
    (a count of its table for culling, a transaction, a read and a write, twice); a booking
    counts two rate limits and bumps the pages' version.
    """

    key = models.CharField(max_length=250, primary_key=True)
    value = models.BigIntegerField(default=0)
    # When the count stops mattering (the end of a rate-limit window); housekeeping deletes
    # it afterwards. None keeps it (the pages' version).
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        db_table = TABLE

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"
