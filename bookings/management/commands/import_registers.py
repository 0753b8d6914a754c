"""Import historical attendance registers from a CSV or XLSX file.

    python manage.py import_registers registers-2015.xlsx --dry-run
    python manage.py import_registers registers-2015.xlsx

A file with any bad row imports nothing: every bad row is listed with its line number and the
command exits with status 1. Importing the same file twice changes nothing the second time.
Progress goes to stderr, the summary to stdout.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bookings.attendance.importing import (
    COLUMNS,
    RegisterFileError,
    register_file_read,
    registers_import,
)


class Command(BaseCommand):
    help = (
        "Import historical registers (CSV or XLSX with the columns "
        + ", ".join(COLUMNS)
        + "). Nothing is imported if any row is invalid."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="The .csv or .xlsx file.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and say what would be created, without writing anything.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        now = timezone.now()
        progress = _Progress(self.stderr, quiet=options["verbosity"] == 0)
        try:
            table = register_file_read(path)
            result = registers_import(
                table=table,
                actor="import_registers",
                now=now,
                dry_run=options["dry_run"],
                source=path.rsplit("/", 1)[-1],
                progress=progress,
            )
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except RegisterFileError as error:
            raise CommandError(str(error)) from None
        finally:
            progress.finish()
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(str(problem))
            raise CommandError(result.summary())
        prefix = "Dry run, nothing written. " if options["dry_run"] else ""
        self.stdout.write(self.style.SUCCESS(prefix + result.summary()))


class _Progress:
    """A textual progress bar on stderr: redrawn in place on a terminal, every 10% otherwise."""

    WIDTH = 30

    def __init__(self, stream: Any, *, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.interactive = hasattr(stream, "isatty") and stream.isatty()
        self.last: tuple[str, int] = ("", -1)
        self.drawn = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if total <= 0:
            line = f"{stage}: {done} rows"
            tenth = done // 10_000
        else:
            share = min(done / total, 1.0)
            filled = round(share * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            line = f"{stage} [{bar}] {share:4.0%} ({done}/{total})"
            tenth = int(share * 10)
        if self.interactive:
            self.stream.write("\r" + line, ending="")
            self.stream.flush()
            self.drawn = True
        elif (stage, tenth) != self.last:
            self.stream.write(line)
        self.last = (stage, tenth)

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("")
            self.drawn = False
