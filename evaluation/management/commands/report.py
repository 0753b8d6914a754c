"""Reports from the command line, for scripts and the annual report.

    python manage.py report attendance-by-sector --from 2016-04-01 --to 2017-03-31 \\
        [--kind course|mapig|conference] [--format csv|xlsx] [--output PATH]

Both dates are included (Europe/London). CSV goes to standard output unless --output is given.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.exports import table_csv, tables_xlsx
from evaluation.reports.periods import Period
from training.models import CourseKind

REPORTS = ("attendance-by-sector",)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"'{value}' is not a date: write it as YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = "Print a report for a period: attendance-by-sector (the annual report's Appendix E)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("report", choices=REPORTS, help="Which report.")
        parser.add_argument(
            "--from", dest="start", required=True, help="First day, YYYY-MM-DD (included)."
        )
        parser.add_argument(
            "--to", dest="end", required=True, help="Last day, YYYY-MM-DD (included)."
        )
        parser.add_argument(
            "--kind",
            choices=[kind.value for kind in CourseKind],
            default=CourseKind.COURSE,
            help="Courses (default), MAPIG sessions or conferences.",
        )
        parser.add_argument("--format", dest="file_format", choices=("csv", "xlsx"), default="csv")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = _date(options["start"]), _date(options["end"])
        if end < start:
            raise CommandError("--to is before --from: give the first day first.")
        period = Period(start, end)
        report = attendance_by_sector(period, options["kind"])
        if options["file_format"] == "xlsx":
            content = tables_xlsx([report.table], heading=period.label)
        else:
            content = table_csv(report.table).encode("utf-8")
        output = options["output"]
        if output:
            Path(output).write_bytes(content)
            self.stderr.write(f"Wrote {output}")
        elif options["file_format"] == "csv":
            self.stdout.write(content.decode("utf-8"), ending="")
        else:
            binary = getattr(sys.stdout, "buffer", None)
            if binary is None:
                raise CommandError("Excel is binary: give --output PATH.")
            sys.stdout.flush()
            binary.write(content)
            binary.flush()
