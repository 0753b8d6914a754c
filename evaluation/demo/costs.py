"""Demo training-team costs: the 2016/17 year half recovered, this year aiming for all of it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from evaluation.models import TrainingCostTarget
from evaluation.reports.income import income_and_cost_recovery
from evaluation.reports.periods import Period
from training.dates import financial_year_start


def load_demo_cost_targets(today: dt.date) -> list[TrainingCostTarget]:
    """The demo's training-team costs: income covered half of 2016/17's cost (as the annual
    report says), and this year aims for all of it. Existing rows are left alone."""
    demo_year = Period.financial_year(2016)
    income = income_and_cost_recovery(demo_year).income
    team_cost = max(Decimal("1000.00"), (income * 2 / 100).quantize(Decimal("1")) * 100)
    targets = []
    for year, percent in ((2016, 50), (financial_year_start(today).year, 100)):
        target, _ = TrainingCostTarget.objects.get_or_create(
            financial_year_start=dt.date(year, 4, 1),
            defaults={"team_cost": team_cost, "recovery_target_percent": percent},
        )
        targets.append(target)
    return targets
