"""Reports from the command line, for scripts and the annual report.

    python manage.py report attendance-by-sector --from 2016-04-01 --to 2017-03-31 \\
        [--kind course|mapig|conference] [--format csv|xlsx] [--output PATH]
    python manage.py report annual-pack --year 2016 --format pdf|docx --output PATH

``--year 2016`` is the financial year 2016/17 (1 April 2016 to 31 March 2017).

Both dates are included (Europe/London). CSV goes to standard output unless --output is given.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evaluation.reports.annual.documents import pack_docx, pack_pdf
from evaluation.reports.annual.figures import MAX_YEAR, MIN_YEAR, annual_pack
from evaluation.reports.attendance import attendance_by_sector
from evaluation.reports.exports import table_csv, tables_xlsx
from evaluation.reports.periods import Period
from training.models import CourseKind

REPORTS = ("attendance-by-sector", "annual-pack")
TABLE_FORMATS = ("csv", "xlsx")
DOCUMENT_FORMATS = ("pdf", "docx")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"'{value}' is not a date: write it as YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = (
        "Print a report: attendance-by-sector (the annual report's Appendix E) for a period, "
        "or annual-pack (the training section, PDF or Word) for a financial year."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("report", choices=REPORTS, help="Which report.")
        parser.add_argument("--from", dest="start", help="First day, YYYY-MM-DD (included).")
        parser.add_argument("--to", dest="end", help="Last day, YYYY-MM-DD (included).")
        parser.add_argument(
            "--year",
            type=int,
            help="annual-pack: the financial year's first year (2016 = 2016/17).",
        )
        parser.add_argument(
            "--kind",
            choices=[kind.value for kind in CourseKind],
            default=CourseKind.COURSE,
            help="Courses (default), MAPIG sessions or conferences.",
        )
        parser.add_argument(
            "--format",
            dest="file_format",
            choices=(*TABLE_FORMATS, *DOCUMENT_FORMATS),
            default=None,
        )
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["report"] == "annual-pack":
            self._annual_pack(options)
            return
        if options["file_format"] is None:
            options["file_format"] = "csv"
        if options["file_format"] not in TABLE_FORMATS:
            raise CommandError("attendance-by-sector is a table: choose --format csv or xlsx.")
        if not options["start"] or not options["end"]:
            raise CommandError("attendance-by-sector needs --from and --to.")
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

    def _annual_pack(self, options: dict[str, Any]) -> None:
        year, file_format, output = options["year"], options["file_format"], options["output"]
        if year is None:
            raise CommandError("annual-pack needs --year, e.g. --year 2016 for 2016/17.")
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise CommandError(f"--year must be between {MIN_YEAR} and {MAX_YEAR}.")
        if file_format not in DOCUMENT_FORMATS:
            raise CommandError("annual-pack is a document: choose --format pdf or docx.")
        if not output:
            raise CommandError("annual-pack is binary: give --output PATH.")
        pack = annual_pack(year)
        content = pack_pdf(pack) if file_format == "pdf" else pack_docx(pack)
        Path(output).write_bytes(content)
        self.stderr.write(f"Wrote {output}")
