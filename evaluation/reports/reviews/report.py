"""A learning review traced into training: the sessions that carried it and whom they reached.

A session carries a review's learning when the review is tagged on the session itself, on its
course, or on one of its course's learning outcomes. Sessions run are those held (not
cancelled) that have started by the report's day. Every count is one grouped query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bookings.models import Booking
from evaluation.models import LearningReview
from evaluation.reports.impact import applied_share
from evaluation.reports.tables import Table, attended_q
from evaluation.surveys import selectors
from training.models import Area, Session, SessionStatus


def review_sessions(review: LearningReview, *, now: dt.datetime) -> QuerySet[Session]:
    """The sessions run by ``now`` that carry the review's learning, by date."""
    carries = (
        Q(pk__in=review.sessions.values("pk"))
        | Q(course__in=review.courses.values("pk"))
        | Q(course__outcomes__in=review.outcomes.values("pk"))
    )
    held = Session.objects.filter(carries, starts_at__lte=now).exclude(
        status=SessionStatus.CANCELLED
    )
    # Through outcomes a session could match twice: select each once, by its primary key. The
    # ids are read once (a review reaches tens of sessions): nested in every later report
    # query as a subquery of three ORed subqueries and a join, PostgreSQL planned it badly
    # enough to take minutes.
    ids = sorted(set(held.values_list("pk", flat=True)))
    return Session.objects.filter(pk__in=ids).order_by("starts_at", "pk")


@dataclass
class ReviewReport:
    review: LearningReview
    sessions: Table
    by_sector: Table
    by_area: Table
    applied: Table
    quotes: Table
    practitioners: int  # attended places in the sessions
    follow_up_responses: int
    applied_count: int

    def tables(self) -> list[Table]:
        return [
            self.action_plan(),
            self.sessions,
            self.by_sector,
            self.by_area,
            self.applied,
            self.quotes,
        ]

    def action_plan(self) -> Table:
        """The review's themes and recommendations, for its action plan."""
        rows = [["Theme", text] for text in self.review.theme_list] + [
            ["Recommendation", text] for text in self.review.recommendation_list
        ]
        return Table(
            title="Themes and recommendations", headers=["For the action plan", "Text"], rows=rows
        )


def review_report(review: LearningReview, *, now: dt.datetime) -> ReviewReport:
    """Sessions run, practitioners reached by sector and area, applied learning and quotes."""
    sessions = review_sessions(review, now=now)
    attended = Booking.objects.filter(attended_q(), session__in=sessions).order_by()
    session_rows = [
        [
            row["course__title"],
            timezone.localdate(row["starts_at"]),
            row["attended"],
        ]
        for row in sessions.values("course__title", "starts_at").annotate(
            attended=Count("bookings", filter=attended_q("bookings__"))
        )
    ]
    sector_rows = [
        [row["sector__name"], row["places"]]
        for row in attended.values("sector__name", "sector__order")
        .annotate(places=Count("pk"))
        .order_by("sector__order", "sector__name")
    ]
    areas = dict(Area.choices)
    area_rows = [
        [areas.get(row["session__venue__area"], "No venue"), row["places"]]
        for row in attended.values("session__venue__area")
        .annotate(places=Count("pk"))
        .order_by("session__venue__area")
    ]
    applied_rows = []
    responses = applied = 0
    for row in selectors.applied_learning(by="course", sessions=sessions):
        share, note = applied_share(row["applied"], row["responses"])
        applied_rows.append([row["course_name"], row["responses"], row["applied"], share, note])
        responses += row["responses"]
        applied += row["applied"]
    total_share, total_note = applied_share(applied, responses)
    quote_rows = [
        [row["quote"], row["course_title"], row["sector_name"], row["session_date"]]
        for row in selectors.quotable_examples(sessions=sessions)
    ]
    practitioners = sum(row[1] for row in sector_rows)
    return ReviewReport(
        review=review,
        sessions=Table(
            title="Sessions run that carry this learning",
            headers=["course_title", "date", "practitioners_attended"],
            rows=session_rows,
            footer=[["Total", None, sum(row[2] for row in session_rows)]],
        ),
        by_sector=Table(
            title="Practitioners reached, by sector",
            headers=["sector", "practitioners_attended"],
            rows=sector_rows,
            footer=[["Total", practitioners]],
        ),
        by_area=Table(
            title="Practitioners reached, by area (where the session was held)",
            headers=["area", "practitioners_attended"],
            rows=area_rows,
            footer=[["Total", practitioners]],
        ),
        applied=Table(
            title="Applied the learning (follow-up), by course",
            headers=["course_title", "responses", "applied", "applied_percent", "note"],
            rows=applied_rows,
            footer=[["Total", responses, applied, total_share, total_note]],
        ),
        quotes=Table(
            title="Good-practice examples from these sessions (consented)",
            headers=["example", "course_title", "sector", "session_date"],
            rows=quote_rows,
        ),
        practitioners=practitioners,
        follow_up_responses=responses,
        applied_count=applied,
    )
