"""Apply the retention policy: anonymise what is kept longer than the policy says.

    python manage.py apply_retention [--dry-run] [--as-of YYYY-MM-DD]

Meant to run daily (the scheduler calls it); ``--as-of`` applies the policy as if today were
that date, for checks and tests; ``--dry-run`` lists what would change, by kind, with counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evaluation.privacy.retention import retention_apply


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"'{value}' is not a date: write it as YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = "Anonymise personal data kept longer than the retention policy allows."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would change; change nothing."
        )
        parser.add_argument(
            "--as-of", dest="as_of", help="Apply the policy as if today were YYYY-MM-DD."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        as_of = _date(options["as_of"]) if options["as_of"] else timezone.localdate(now)
        result = retention_apply(as_of=as_of, dry_run=options["dry_run"], now=now)
        for line in result.lines():
            self.stdout.write(line)
