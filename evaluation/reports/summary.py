"""The year summary (the annual report's §11.2): headline figures, fill rates and no-shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, Q, Sum

from bookings.models import Attendance, Booking, BookingStatus
from evaluation.reports.periods import Period
from evaluation.reports.tables import KIND_LABELS, Table, attended_q, percent, sorted_by_title
from training.models import CourseKind, Session, SessionStatus


@dataclass
class YearSummary:
    period: Period
    courses_delivered: int
    places_attended: int
    mapig_sessions: int
    mapig_attendees: int
    conferences: int
    conference_attendees: int
    distinct_professionals: int
    themes: list[str]
    by_course: Table
    by_agency: Table

    def headline_table(self) -> Table:
        return Table(
            title="Summary",
            headers=["measure", "value"],
            rows=[
                ["Courses delivered", self.courses_delivered],
                ["Training places attended", self.places_attended],
                ["MAPIG sessions", self.mapig_sessions],
                ["MAPIG attendees", self.mapig_attendees],
                ["Conferences", self.conferences],
                ["Conference attendees", self.conference_attendees],
                ["Distinct professionals", self.distinct_professionals],
                ["Themes covered", "; ".join(self.themes)],
            ],
        )

    def tables(self) -> list[Table]:
        return [self.headline_table(), self.by_course, self.by_agency]


def year_summary(period: Period) -> YearSummary:
    """The figures of the annual report's §11.2, plus fill rates, no-shows and late
    cancellations by course and by agency. Five grouped queries."""
    in_period = period.sessions_q("session__")

    def of_kind(kind: str) -> Q:
        return Q(session__course__kind=kind)

    headline = Booking.objects.filter(attended_q(), in_period).aggregate(
        courses_delivered=Count("session", distinct=True, filter=of_kind(CourseKind.COURSE)),
        places_attended=Count("pk", filter=of_kind(CourseKind.COURSE)),
        mapig_sessions=Count("session", distinct=True, filter=of_kind(CourseKind.MAPIG)),
        mapig_attendees=Count("pk", filter=of_kind(CourseKind.MAPIG)),
        conferences=Count("session", distinct=True, filter=of_kind(CourseKind.CONFERENCE)),
        conference_attendees=Count("pk", filter=of_kind(CourseKind.CONFERENCE)),
        distinct_professionals=Count("attendee_email", distinct=True),
    )
    themes = list(
        Booking.objects.filter(attended_q(), in_period)
        .exclude(session__course__theme="")
        .order_by("session__course__theme")
        .values_list("session__course__theme", flat=True)
        .distinct()
    )

    # Capacity comes from the sessions, places from the bookings: two queries, so neither sum
    # is multiplied by the other's rows.
    capacity: dict[str, Mapping[str, Any]] = {
        row["course__title"]: row
        for row in Session.objects.filter(period.sessions_q(), status=SessionStatus.PUBLISHED)
        .order_by()
        .values("course__title", "course__kind")
        .annotate(sessions=Count("pk"), capacity=Sum("capacity"))
    }
    place_counts = _place_counts()
    places: dict[str, Mapping[str, Any]] = {
        row["session__course__title"]: row
        for row in Booking.objects.filter(in_period)
        .exclude(session__status=SessionStatus.CANCELLED)
        .order_by()
        .values("session__course__title")
        .annotate(**place_counts)
    }
    course_rows = []
    for title in set(capacity) | set(places):
        held = capacity.get(title, {})
        counts = places.get(title, {})
        booked = counts.get("booked", 0)
        course_rows.append(
            [
                title,
                str(KIND_LABELS.get(held.get("course__kind", ""), "")),
                held.get("sessions", 0),
                held.get("capacity", 0) or 0,
                booked,
                counts.get("attended", 0),
                counts.get("no_shows", 0),
                counts.get("late_cancellations", 0),
                percent(booked, held.get("capacity", 0) or 0),
            ]
        )
    by_course = Table(
        title="Fill rate, no-shows and late cancellations by course",
        headers=[
            "course_title",
            "kind",
            "sessions",
            "capacity",
            "places_booked",
            "attended",
            "no_shows",
            "late_cancellations",
            "fill_rate_percent",
        ],
        rows=sorted_by_title(course_rows, key=lambda row: row[0]),
    )
    agency_rows = [
        [
            row["agency__name"],
            row["sector__name"],
            row["booked"],
            row["attended"],
            row["no_shows"],
            row["late_cancellations"],
            percent(row["no_shows"], row["booked"]),
        ]
        # annotate(**place_counts): the stubs cannot see the annotated keys.
        for row in cast(
            "Iterable[Mapping[str, Any]]",
            Booking.objects.filter(in_period)
            .exclude(session__status=SessionStatus.CANCELLED)
            .order_by()
            .values("agency__name", "sector__name")
            .annotate(**place_counts),
        )
    ]
    by_agency = Table(
        title="No-shows and late cancellations by agency",
        headers=[
            "agency",
            "sector",
            "places_booked",
            "attended",
            "no_shows",
            "late_cancellations",
            "no_show_percent",
        ],
        rows=sorted_by_title(agency_rows, key=lambda row: f"{row[0]}\x00{row[1]}"),
    )
    return YearSummary(
        period=period, themes=themes, by_course=by_course, by_agency=by_agency, **headline
    )


def _place_counts() -> dict[str, Count]:
    confirmed = Q(status=BookingStatus.CONFIRMED)
    return {
        "booked": Count("pk", filter=confirmed),
        "attended": Count("pk", filter=confirmed & Q(attendance=Attendance.ATTENDED)),
        "no_shows": Count("pk", filter=confirmed & Q(attendance=Attendance.ABSENT)),
        "late_cancellations": Count(
            "pk", filter=Q(status=BookingStatus.CANCELLED, late_cancellation=True)
        ),
    }
