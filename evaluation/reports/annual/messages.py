"""MAPIG and conference sessions of a period with their attendees and "Practitioners told us"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from bookings.models import Attendance, BookingStatus
from evaluation.models import SessionMessage
from evaluation.reports.periods import Period
from training.models import CourseKind, Session, SessionStatus


@dataclass
class EventSession:
    pk: int
    day: dt.date
    area: str
    venue: str
    attendees: int
    messages: list[str]


@dataclass
class EventSummary:
    """One MAPIG theme or conference in the period: its sessions and what practitioners said."""

    title: str
    kind: str
    theme: str
    description: str
    sessions: list[EventSession] = field(default_factory=list)

    @property
    def attendees(self) -> int:
        return sum(session.attendees for session in self.sessions)

    @property
    def messages(self) -> list[str]:
        return [message for session in self.sessions for message in session.messages]

    @property
    def areas(self) -> list[str]:
        return sorted({session.area for session in self.sessions})


def event_summaries(period: Period) -> list[EventSummary]:
    """MAPIG sessions and conferences held in the period (not cancelled), in date order of each
    title's first session, with attended places and messages. Two queries."""
    attended = Q(bookings__status=BookingStatus.CONFIRMED, bookings__attendance=Attendance.ATTENDED)
    sessions = (
        Session.objects.filter(
            period.sessions_q(),
            course__kind__in=[CourseKind.MAPIG, CourseKind.CONFERENCE],
        )
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("course", "venue")
        .annotate(attendees=Count("bookings", filter=attended))
        .prefetch_related(
            Prefetch("messages", queryset=SessionMessage.objects.order_by("order", "pk"))
        )
        .order_by("starts_at", "pk")
    )
    summaries: dict[str, EventSummary] = {}
    for session in sessions:
        course = session.course
        summary = summaries.setdefault(
            course.title,
            EventSummary(
                title=course.title,
                kind=course.kind,
                theme=course.theme,
                description=course.description,
            ),
        )
        if session.starts_at is None:
            continue
        summary.sessions.append(
            EventSession(
                pk=session.pk,
                day=timezone.localdate(session.starts_at),
                area=session.venue.get_area_display(),
                venue=session.venue.name,
                attendees=session.attendees,
                messages=[message.text for message in session.messages.all()],
            )
        )
    return list(summaries.values())
