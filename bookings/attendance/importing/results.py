"""What a register file holds and what an import reports: columns, problems, rows, results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from bookings.attendance.exports import REGISTER_COLUMNS
from bookings.errors import BookingError

COLUMNS = REGISTER_COLUMNS  # the columns a register file needs (see attendance.exports)
STATUSES = ("attended", "absent", "cancelled")
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S")
MAX_LENGTHS = {
    "course_title": 200,
    "venue": 200,
    "attendee_name": 200,
    "agency": 200,
    "attendee_email": 254,
}
BATCH_SIZE = 2000
PREVIEW_ROWS = 100
IMPORT_ACTION = "imported from a historical register"

Progress = Callable[[str, int, int], None]


class RegisterFileError(BookingError):
    """The file itself cannot be read (not CSV or XLSX, or no header row)."""


@dataclass(frozen=True)
class RowProblem:
    """Why one line of the file cannot be imported."""

    line: int
    reason: str
    column: str = ""
    values: tuple[str, ...] = ()  # the row as read, in COLUMNS order, for the admin preview

    def __str__(self) -> str:
        return f"Line {self.line}: {self.reason}"


@dataclass
class RegisterRow:
    """One checked line: a place to create (or find already there)."""

    line: int
    values: tuple[str, ...]
    course_title: str
    starts_at: dt.datetime
    venue: str
    attendee_name: str
    attendee_email: str
    agency: str
    sector_id: int
    status: str


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    dry_run: bool
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    courses_created: int = 0
    venues_created: int = 0
    agencies_created: int = 0
    sessions_created: int = 0
    places_created: int = 0
    places_unchanged: int = 0
    preview: list[tuple[int, tuple[str, ...], bool]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            lines = len({problem.line for problem in self.problems})
            return (
                f"Nothing was imported: {lines} line{'s' if lines != 1 else ''} of the file "
                f"need{'' if lines != 1 else 's'} correcting."
            )
        if not self.places_created:
            return (
                f"{self.rows} rows read. Nothing new to import: all {self.places_unchanged} "
                "places are already in the system."
            )
        verb = "Would create" if self.dry_run else "Created"
        return (
            f"{self.rows} rows read. {verb} {self.places_created} places, "
            f"{self.sessions_created} sessions, {self.courses_created} courses, "
            f"{self.venues_created} venues and {self.agencies_created} agencies; "
            f"{self.places_unchanged} places were already there and left unchanged."
        )


# --- reading files ------------------------------------------------------------------------------
