"""Attendance by course title and sector: the annual report's Appendix E."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, Q

from bookings.models import Booking
from evaluation.reports.periods import Period
from evaluation.reports.tables import (
    KIND_LABELS,
    Table,
    attended_q,
    sector_columns,
    sorted_by_title,
)
from training.models import CourseKind


@dataclass
class AttendanceBySector:
    period: Period
    kind: str
    sectors: list[str]
    table: Table

    @property
    def totals_by_sector(self) -> list[int]:
        return self.table.footer[0][2:-1]


def attendance_by_sector(
    period: Period, kind: str = CourseKind.COURSE, *, sectors: list[tuple[int, str]] | None = None
) -> AttendanceBySector:
    """Appendix E: attended places per course title and sector, with the number of courses.

    One grouped query: a row per title, a conditional count per sector (the pivot is done by
    the database), the distinct sessions, and all places.
    """
    sectors = sectors if sectors is not None else sector_columns()
    per_sector = {f"sector_{pk}": Count("pk", filter=Q(sector_id=pk)) for pk, _name in sectors}
    grouped = (
        Booking.objects.filter(attended_q(), period.sessions_q("session__"))
        .filter(session__course__kind=kind)
        .order_by()
        .values("session__course__title")
        .annotate(
            number_of_courses=Count("session", distinct=True), places=Count("pk"), **per_sector
        )
    )
    rows = [
        [
            row["session__course__title"],
            row["number_of_courses"],
            *(row[f"sector_{pk}"] for pk, _name in sectors),
            row["places"],
        ]
        # The sector_<pk> keys come from annotate(**per_sector), which the stubs cannot see.
        for row in cast("Iterable[Mapping[str, Any]]", grouped)
    ]
    rows = sorted_by_title(rows, key=lambda row: row[0])
    total = ["Total", *(sum(row[index] for row in rows) for index in range(1, len(sectors) + 3))]
    headers = ["course_title", "number_of_courses", *(name for _pk, name in sectors), "All"]
    short_headers = {"Number of courses": "Courses"} | {
        name: sector_abbreviation(name) for _pk, name in sectors
    }
    return AttendanceBySector(
        period=period,
        kind=kind,
        sectors=[name for _pk, name in sectors],
        table=Table(
            title=f"Attendance by sector – {KIND_LABELS.get(kind, kind)}",
            headers=headers,
            rows=rows,
            footer=[total],
            short_headers=short_headers,
        ),
    )


def sector_abbreviation(name: str) -> str:
    """A sector's column heading on screen: a short name whole, a longer one by its initials.

    "Health" stays "Health"; "Children's Social Care" is "CSC". The page gives the full names
    in a key under the table and to screen readers, so the 12 sectors fit a 1280 px screen.
    """
    words = name.split()
    if len(words) == 1 and len(name) <= 9:
        return name
    return "".join(word[0].upper() for word in words if word[:1].isalpha())
