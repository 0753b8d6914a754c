from __future__ import annotations

import datetime as dt

from training.dates import financial_year_bounds, financial_year_label, working_days_before


def test_working_days_skip_weekends() -> None:
    # Monday 2 March 2026: two working days before is Thursday 26 February.
    assert working_days_before(dt.date(2026, 3, 2), 2) == dt.date(2026, 2, 26)


def test_working_days_skip_bank_holidays() -> None:
    # Tuesday 29 December 2026: Christmas (Fri 25) and Boxing Day substitute (Mon 28) are holidays.
    assert working_days_before(dt.date(2026, 12, 29), 1) == dt.date(2026, 12, 24)


def test_financial_year_runs_april_to_march() -> None:
    assert financial_year_bounds(dt.date(2017, 3, 31)) == (
        dt.date(2016, 4, 1),
        dt.date(2017, 3, 31),
    )
    assert financial_year_bounds(dt.date(2016, 4, 1)) == (dt.date(2016, 4, 1), dt.date(2017, 3, 31))
    assert financial_year_label(dt.date(2016, 6, 1)) == "2016/17"
