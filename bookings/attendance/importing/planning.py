"""Planning an import: what already exists and what must be created, in a handful of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bookings.attendance.importing.results import RegisterRow
from bookings.models import Booking
from training.models import Agency, Course, Session, Venue


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Plan:
    courses: dict[str, Course]
    venues: dict[str, Venue]
    agencies: dict[str, Agency]
    sessions: dict[tuple[str, dt.datetime], Session]
    existing_places: set[tuple[int, str]]
    new_courses: list[str]
    new_venues: list[str]
    new_agencies: list[tuple[str, int]]
    new_sessions: list[tuple[str, dt.datetime]]
    rows_to_create: list[RegisterRow]
    unchanged: int


def _plan(rows: list[RegisterRow]) -> _Plan:
    """What exists already and what must be created, from a handful of queries."""
    courses = {course.title.lower(): course for course in Course.objects.all()}
    venues = {venue.name.lower(): venue for venue in Venue.objects.all()}
    agencies = {agency.name.lower(): agency for agency in Agency.objects.all()}
    new_courses: dict[str, str] = {}
    new_venues: dict[str, str] = {}
    new_agencies: dict[str, tuple[str, int]] = {}
    starts: set[dt.datetime] = set()
    session_keys: dict[tuple[str, dt.datetime], RegisterRow] = {}
    for row in rows:
        course_key = row.course_title.lower()
        if course_key not in courses:
            new_courses.setdefault(course_key, row.course_title)
        if row.venue.lower() not in venues:
            new_venues.setdefault(row.venue.lower(), row.venue)
        if row.agency.lower() not in agencies:
            new_agencies.setdefault(row.agency.lower(), (row.agency, row.sector_id))
        session_keys.setdefault((course_key, row.starts_at), row)
        starts.add(row.starts_at)
    sessions: dict[tuple[str, dt.datetime], Session] = {}
    session: Session | None  # both loops below use the name; the second may find none
    existing_course_ids = {courses[key].pk: key for key, _start in session_keys if key in courses}
    if existing_course_ids and starts:
        candidates = Session.objects.filter(
            course_id__in=list(existing_course_ids),
            starts_at__gte=min(starts),
            starts_at__lte=max(starts),
        ).order_by("pk")
        for session in candidates:
            key = (existing_course_ids[session.course_id], session.starts_at)
            if key in session_keys:
                sessions.setdefault(key, session)
    existing_places: set[tuple[int, str]] = set()
    session_ids = sorted(session.pk for session in sessions.values())
    for chunk in _chunks(session_ids):
        existing_places.update(
            Booking.objects.filter(session_id__in=chunk).values_list("session_id", "attendee_email")
        )
    to_create = []
    unchanged = 0
    for row in rows:
        session = sessions.get((row.course_title.lower(), row.starts_at))
        if session is not None and (session.pk, row.attendee_email) in existing_places:
            unchanged += 1
        else:
            to_create.append(row)
    return _Plan(
        courses=courses,
        venues=venues,
        agencies=agencies,
        sessions=sessions,
        existing_places=existing_places,
        new_courses=list(new_courses.values()),
        new_venues=list(new_venues.values()),
        new_agencies=list(new_agencies.values()),
        new_sessions=[key for key in session_keys if key not in sessions],
        rows_to_create=to_create,
        unchanged=unchanged,
    )
