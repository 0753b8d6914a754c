"""Draw a month's 'test and check' calls and share them between the community members.

    python manage.py draw_calls --month 2025-06 --size 20

The sample is stratified by sector in proportion to attendance, with at least one call for
every sector that has anyone eligible (see ``evaluation.calls.services.allocate_by_sector`` for the
rounding rule). Running it again for the same month tops the sample up to ``--size``
(replacing calls closed unreached) and never draws anyone twice.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evaluation.calls.services import followup_calls_draw
from evaluation.errors import EvaluationError


def parse_month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise CommandError(f"--month must look like 2025-06, not {value!r}.") from error


class Command(BaseCommand):
    help = "Draw the month's 'test and check' calls (stratified by sector) and assign them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--month", help="YYYY-MM; this month if left out.")
        parser.add_argument("--size", type=int, required=True, help="Calls wanted this month.")
        parser.add_argument("--seed", type=int, help="Make the random draw repeatable.")
        parser.add_argument(
            "--no-assign", action="store_true", help="Leave the new calls unassigned."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        month = parse_month(options["month"]) if options["month"] else timezone.localdate(now)
        rng = random.Random(options["seed"]) if options["seed"] is not None else None
        try:
            draw = followup_calls_draw(
                month=month,
                size=options["size"],
                actor="draw_calls command",
                now=now,
                rng=rng,
                assign=not options["no_assign"],
            )
        except EvaluationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{draw.month:%B %Y}: {draw.drawn} new calls drawn from {draw.eligible} eligible."
        )
        for sector, count in draw.allocation.items():
            self.stdout.write(f"  {sector}: {count}")
        unassigned = draw.calls.filter(assigned_to=None).count()
        if unassigned:
            self.stdout.write(
                f"{unassigned} calls are not assigned: add community members, then assign them "
                "in the admin."
            )
