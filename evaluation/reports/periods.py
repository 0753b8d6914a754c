"""A report's period: a financial year (April to March) or any range of days, both included."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Min, Q
from django.utils import timezone

from training.dates import financial_year_bounds, financial_year_label, financial_year_start
from training.models import Session

# The earliest and latest days a report may cover: wide enough for any real question, narrow
# enough that the end of the calendar (and the databases' date arithmetic) is never reached.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, in local (Europe/London) time."""

    start: dt.date
    end: dt.date

    @classmethod
    def financial_year(cls, first_year: int) -> Period:
        start, end = financial_year_bounds(dt.date(first_year, 4, 1))
        return cls(start, end)

    @property
    def is_financial_year(self) -> bool:
        return financial_year_bounds(self.start) == (self.start, self.end)

    @property
    def label(self) -> str:
        if self.is_financial_year:
            return f"Financial year {financial_year_label(self.start)}"
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"

    @property
    def slug(self) -> str:
        return f"{self.start:%Y-%m-%d}-to-{self.end:%Y-%m-%d}"

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Local midnight at the start, and local midnight after the last day (exclusive)."""
        after = self.end + dt.timedelta(days=1)
        return (
            timezone.make_aware(dt.datetime(self.start.year, self.start.month, self.start.day)),
            timezone.make_aware(dt.datetime(after.year, after.month, after.day)),
        )

    def sessions_q(self, prefix: str = "") -> Q:
        """Sessions (reached through ``prefix``) whose first part starts in the period."""
        start, end = self.bounds()
        return Q(**{f"{prefix}starts_at__gte": start, f"{prefix}starts_at__lt": end})


def financial_years_with_sessions(today: dt.date) -> list[int]:
    """First calendar years of the financial years from the first session's to this one.

    Never a year that has not begun: sessions booked for next year do not add it to the menu,
    as a board member would only find an empty report there.
    """
    first_session = Session.objects.aggregate(first=Min("starts_at"))["first"]
    this_year = financial_year_start(today).year
    first = this_year
    if first_session is not None:
        first = min(first, financial_year_start(timezone.localdate(first_session)).year)
    return list(range(this_year, first - 1, -1))
