"""Working days in England and Wales, and the financial year (April to March)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_before(day: dt.date, count: int) -> dt.date:
    """The date ``count`` working days before ``day`` (``day`` itself not counted)."""
    current = day
    remaining = count
    while remaining > 0:
        current -= dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_after(day: dt.date, count: int) -> dt.date:
    """The date ``count`` working days after ``day`` (``day`` itself not counted)."""
    current = day
    remaining = count
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def financial_year_start(day: dt.date) -> dt.date:
    """1 April of the financial year containing ``day``."""
    year = day.year if day.month >= 4 else day.year - 1
    return dt.date(year, 4, 1)


def financial_year_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    start = financial_year_start(day)
    return start, dt.date(start.year + 1, 3, 31)


def financial_year_label(day: dt.date) -> str:
    start = financial_year_start(day)
    return f"{start.year}/{str(start.year + 1)[-2:]}"
