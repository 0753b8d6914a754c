"""A report's tables, as pages show them and exports write them, and the helpers that fill them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q

from bookings.models import Attendance, BookingStatus
from bookings.templatetags.money import format_pounds
from training.models import CourseKind, Sector, SessionStatus

ZERO = Decimal("0.00")
# Keyed by str: looked up with request parameters and values() rows (CourseKind is a str).
KIND_LABELS: dict[str, str] = {
    CourseKind.COURSE: "Courses",
    CourseKind.MAPIG: "MAPIG sessions",
    CourseKind.CONFERENCE: "Conferences",
}

HEADER_LABELS = {
    "course_title": "Course title",
    "number_of_courses": "Number of courses",
    "places_booked": "Places booked",
    "no_shows": "No-shows",
    "late_cancellations": "Late cancellations",
    "fill_rate_percent": "Fill rate (%)",
    "no_show_percent": "No-shows (%)",
    "fees": "Fees (£)",
    "refunded_or_credited": "Refunded or credited (£)",
    "non_attendance_charges": "Non-attendance charges (£)",
    "income": "Income (£)",
    "in_kind_value": "In-kind value (£)",
    "amount": "Amount",
    "amount_pounds": "Amount (£)",
    "evaluations_sent": "Evaluations sent",
    "evaluations_answered": "Evaluations answered",
    "follow_ups_sent": "Follow-ups sent",
    "follow_ups_answered_online": "Follow-ups answered online",
    "follow_up_response_percent": "Follow-up response rate (%)",
    "calls_completed": "Calls completed",
    "average_score": "Average score",
    "people_paired": "People (n)",
    "people_checked": "People (n)",
    "checks_answered": "Checks answered",
    "answered_correctly": "Answered correctly",
    "average_score_percent": "Average score (%)",
    "self_report_responses": "Self-report: responses",
    "self_report_applied_percent": "Self-report: applied (%)",
    "line_managers_answered": "Line managers: answered",
    "line_managers_seen_it_applied": "Line managers: seen it applied",
    "line_managers_seen_percent": "Line managers: seen it applied (%)",
    "before_pre_course": "Before (asked before the course)",
    "before_retrospective": "Before (rated after the course)",
    "applied_percent": "Applied (%)",
    "share_percent": "Share (%)",
    "practitioners_attended": "Practitioners attended",
}


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool
    full: str = ""  # a header shown abbreviated: its full words (for screen readers and exports)

    @property
    def words(self) -> str:
        """The header's words in full: what a download or a printed report shows."""
        return self.full or self.text


def display(value: Any) -> Cell:
    """How a page shows one value: thousands separators, a dash for 'not applicable'."""
    if value is None:
        return Cell("–", True)
    if isinstance(value, bool):
        return Cell("Yes" if value else "No", False)
    if isinstance(value, int | Decimal):
        return Cell(f"{value:,}", True)
    return Cell(str(value), False)


@dataclass
class Table:
    """One table of a report: what a page shows, a CSV holds and an Excel sheet holds."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    footer: list[list[Any]] = field(default_factory=list)  # e.g. the Total row
    # Headers a wide table shows abbreviated on screen (the header's words -> the abbreviation).
    short_headers: dict[str, str] = field(default_factory=dict)

    def all_rows(self) -> list[list[Any]]:
        return [*self.rows, *self.footer]

    def header_cells(self) -> list[Cell]:
        numeric = [
            any(display(row[index]).numeric for row in self.all_rows() if row[index] is not None)
            for index in range(len(self.headers))
        ]
        cells = []
        for index, words in enumerate(self.header_words()):
            short = self.short_headers.get(words, "")
            cells.append(
                Cell(
                    short or words,
                    index > 0 and numeric[index],
                    full=words if short and short != words else "",
                )
            )
        return cells

    def header_words(self) -> list[str]:
        """The column names as a page says them: what CSV and Excel downloads write too."""
        return [
            HEADER_LABELS.get(
                header,
                header.replace("_", " ").capitalize()
                if "_" in header or header.islower()
                else header,
            )
            for header in self.headers
        ]

    def abbreviated(self) -> list[Cell]:
        """The header cells shown abbreviated, for the key under the table."""
        return [cell for cell in self.header_cells() if cell.full]

    def money_columns(self) -> set[int]:
        """The columns of amounts in pounds: those whose heading ends "(£)"."""
        return {index for index, words in enumerate(self.header_words()) if words.endswith("(£)")}

    def _display_row(self, row: list[Any], money: set[int]) -> list[Cell]:
        # Every amount reads as the pounds filter writes it: "£1,234.50", pence always shown.
        return [
            Cell(format_pounds(value), True)
            if index in money and isinstance(value, int | Decimal) and not isinstance(value, bool)
            else display(value)
            for index, value in enumerate(row)
        ]

    def display_rows(self) -> list[list[Cell]]:
        money = self.money_columns()
        return [self._display_row(row, money) for row in self.rows]

    def display_footer(self) -> list[list[Cell]]:
        money = self.money_columns()
        return [self._display_row(row, money) for row in self.footer]


def attended_q(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}attendance": Attendance.ATTENDED,
            f"{prefix}status": BookingStatus.CONFIRMED,
        }
    ) & ~Q(**{f"{prefix}session__status": SessionStatus.CANCELLED})


def sorted_by_title(rows: Iterable[Any], key: Any) -> list[Any]:
    # Sorted here, not in SQL: databases' collations disagree on case and punctuation.
    return sorted(rows, key=lambda row: (key(row).casefold(), key(row)))


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def sector_columns() -> list[tuple[int, str]]:
    """The sectors in their seeded order (the annual report's column order)."""
    return list(Sector.objects.order_by("order", "name").values_list("pk", "name"))
