"""Loading the demo programme: reference data, the 2016/17 year and an upcoming programme.

Everything is created with get_or_create on natural keys, so loading twice changes nothing.
Upcoming dates come from a fixed weekly pattern (ISO week numbers), not from "today + n", so a
second run on a later day only adds the sessions that have come into the window.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import TypedDict

import tablib
from django.db import transaction

from training.dates import is_working_day
from training.demo.programme import (
    AGENCIES,
    CONFERENCE,
    CONFERENCE_TITLE,
    COURSES,
    FULL_DAY,
    HALF_DAY,
    LONDON,
    MAPIG_AREAS,
    MAPIG_THEMES,
    ONLINE_VENUE,
    TRAINERS,
    VENUES,
)
from training.models import (
    Agency,
    Area,
    Course,
    CourseKind,
    CoursePrice,
    LearningOutcome,
    PriceBand,
    Sector,
    Session,
    SessionPart,
    SessionStatus,
    Trainer,
    Venue,
    VenueMode,
)
from training.programme_import import SessionResource

PROGRAMME_EXAMPLE = Path(__file__).with_name("programme_example.csv")


class ReferenceData(TypedDict):
    """What load_reference_data() made, for the loaders of sessions."""

    venues: list[Venue]
    agencies: list[Agency]
    trainers: list[Trainer]
    courses: list[Course]
    mapigs: list[Course]
    conference: Course


def _aware(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def _next_working_day(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def _session(
    *,
    course: Course,
    venue: Venue,
    day: dt.date,
    capacity: int,
    trainers: list[Trainer],
    status: str = SessionStatus.PUBLISHED,
) -> Session:
    """One session of one or more consecutive working days; identified by course and start."""
    start_hour, end_hour = (9, 13) if course.duration_half_days == 1 else (9, 16)
    starts_at = _aware(day, start_hour, 30 if course.duration_half_days == 1 else 0)
    existing = Session.objects.filter(course=course, starts_at=starts_at).first()
    if existing is not None:
        return existing
    session = Session.objects.create(course=course, venue=venue, capacity=capacity, status=status)
    days_needed = max(1, course.duration_half_days // 2)
    current = day
    for index in range(days_needed):
        if index:
            current = _next_working_day(current + dt.timedelta(days=1))
        SessionPart.objects.create(
            session=session,
            starts_at=_aware(current, start_hour, 30 if course.duration_half_days == 1 else 0),
            ends_at=_aware(current, end_hour, 30 if course.duration_half_days == 1 else 0),
        )
    session.trainers.set(trainers)
    session.refresh_from_db()
    return session


@transaction.atomic
def load_reference_data() -> ReferenceData:
    """Venues, agencies, trainers and courses with prices and outcomes."""
    bands = {band.slug: band for band in PriceBand.objects.all()}
    sectors = {sector.name: sector for sector in Sector.objects.all()}
    venues = []
    for name, address, postcode, area in VENUES:
        venue, _ = Venue.objects.get_or_create(
            name=name, defaults={"address": address, "postcode": postcode, "area": area}
        )
        venues.append(venue)
    agencies = []
    for sector_name, names in AGENCIES.items():
        for index, name in enumerate(names):
            slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:20]
            agency, _ = Agency.objects.get_or_create(
                name=name,
                defaults={
                    "sector": sectors[sector_name],
                    "address": f"{name}\nSomerset",
                    "invoice_contact_name": "Finance Officer",
                    "invoice_contact_email": f"finance@{slug}.example.org",
                    "purchase_order_required": sector_name in {"Health", "District Councils"},
                    "subsidised_places_per_year": 6
                    if index == 0 and sector_name in {"Children's Centres", "Schools", "Health"}
                    else 0,
                    "email_domains": f"{slug}.example.org",
                },
            )
            if not agency.email_domains:  # a demo loaded before agencies had domains
                agency.email_domains = f"{slug}.example.org"
                agency.save(update_fields=["email_domains"])
            agencies.append(agency)
    # Partners who lend venues for free get subsidised places in return.
    for venue, lender in zip(
        venues[:2], ("Priorswood Children's Centre", "Blackdown Primary School"), strict=True
    ):
        if venue.lent_by_id is None:
            venue.lent_by = Agency.objects.get(name=lender)
            venue.save(update_fields=["lent_by"])
    trainers = [Trainer.objects.get_or_create(name=name)[0] for name in TRAINERS]

    courses: list[Course] = []
    for spec in COURSES:
        course, created = Course.objects.get_or_create(
            title=spec.title,
            defaults={
                "kind": CourseKind.COURSE,
                "theme": spec.theme,
                "level": spec.level,
                "duration_half_days": spec.half_days,
                "description": spec.description,
            },
        )
        if created:
            table = HALF_DAY if spec.half_days == 1 else FULL_DAY
            multiplier = Decimal(max(1, spec.half_days // 2))
            for slug, amount in table.items():
                CoursePrice.objects.create(
                    course=course, band=bands[slug], amount=Decimal(amount) * multiplier
                )
            for order, text in enumerate(spec.outcomes):
                LearningOutcome.objects.create(course=course, text=text, order=order)
        courses.append(course)

    mapigs = []
    for theme in MAPIG_THEMES:
        course, created = Course.objects.get_or_create(
            title=f"MAPIG: {theme}",
            defaults={
                "kind": CourseKind.MAPIG,
                "theme": theme,
                "duration_half_days": 1,
                "description": (
                    "A free Multi-Agency Practitioner Interest Group: a workshop on the quarter's "
                    "theme, run in each of the county's four areas."
                ),
            },
        )
        if created:
            LearningOutcome.objects.create(
                course=course, text=f"Share practice and local services on '{theme}'", order=0
            )
        mapigs.append(course)

    conference, created = Course.objects.get_or_create(
        title=CONFERENCE_TITLE,
        defaults={
            "kind": CourseKind.CONFERENCE,
            "theme": "Child sexual exploitation",
            "level": "2",
            "duration_half_days": 2,
            "description": "The partnership's multi-agency conference on tackling CSE.",
        },
    )
    if created:
        for slug, amount in CONFERENCE.items():
            CoursePrice.objects.create(course=conference, band=bands[slug], amount=Decimal(amount))
        LearningOutcome.objects.create(
            course=conference, text="Understand the county's CSE strategy and pathways", order=0
        )
    return {
        "venues": venues,
        "agencies": agencies,
        "trainers": trainers,
        "courses": courses,
        "mapigs": mapigs,
        "conference": conference,
    }


def _spread_dates(start: dt.date, end: dt.date, count: int, rng: random.Random) -> list[dt.date]:
    """``count`` distinct working days spread through [start, end]."""
    span = (end - start).days
    days: list[dt.date] = []
    for index in range(count):
        day = start + dt.timedelta(days=(span * (index + 0.5)) // count + rng.randint(-3, 3))
        day = _next_working_day(max(start, min(end, day)))
        while day in days:
            day = _next_working_day(day + dt.timedelta(days=1))
        days.append(day)
    return sorted(days)


@transaction.atomic
def load_year_2016_17(reference: ReferenceData) -> list[Session]:
    """The sessions of the 2016/17 programme: 50 courses, 12 MAPIGs, 2 conferences."""
    rng = random.Random(2016)
    venues: list[Venue] = reference["venues"]
    trainers: list[Trainer] = reference["trainers"]
    year_start, year_end = dt.date(2016, 4, 4), dt.date(2017, 3, 24)
    sessions = []
    for spec, course in zip(COURSES, reference["courses"], strict=True):
        for index, day in enumerate(
            _spread_dates(year_start, year_end, spec.sessions_2016_17, rng)
        ):
            sessions.append(
                _session(
                    course=course,
                    venue=venues[index % 4],
                    day=day,
                    capacity=40,
                    trainers=[trainers[index % len(trainers)]],
                )
            )
    # MAPIG themes by quarter (Q1..Q3 of the year), each repeated in the four areas.
    quarter_starts = (dt.date(2016, 6, 6), dt.date(2016, 10, 3), dt.date(2017, 1, 16))
    for course, quarter_start in zip(reference["mapigs"], quarter_starts, strict=True):
        for index, area in enumerate(MAPIG_AREAS):
            venue = next(v for v in venues if v.area == area)
            day = _next_working_day(quarter_start + dt.timedelta(days=index * 7))
            sessions.append(
                _session(course=course, venue=venue, day=day, capacity=40, trainers=[trainers[0]])
            )
    for day, venue in ((dt.date(2016, 7, 12), venues[0]), (dt.date(2017, 2, 7), venues[2])):
        sessions.append(
            _session(
                course=reference["conference"],
                venue=venue,
                day=day,
                capacity=100,
                trainers=trainers[:2],
            )
        )
    return sessions


@transaction.atomic
def load_upcoming_programme(
    reference: ReferenceData, today: dt.date, weeks: int = 17
) -> list[Session]:
    """Bookable sessions over the coming ``weeks`` (at least three months)."""
    venues: list[Venue] = reference["venues"]
    trainers: list[Trainer] = reference["trainers"]
    courses: list[Course] = reference["courses"]
    mapigs: list[Course] = reference["mapigs"]
    sessions = []
    first_monday = today - dt.timedelta(days=today.weekday())
    for week in range(weeks + 1):
        monday = first_monday + dt.timedelta(weeks=week)
        iso_week = monday.isocalendar().week
        # Working Together and Update every week, the others in turn.
        weekly = [courses[0], courses[1], courses[2 + iso_week % (len(courses) - 2)]]
        for slot, course in enumerate(weekly):
            day = monday + dt.timedelta(days=slot + 1)
            if day <= today + dt.timedelta(days=3) or not is_working_day(day):
                continue
            sessions.append(
                _session(
                    course=course,
                    venue=venues[(iso_week + slot) % 4],
                    day=day,
                    capacity=20 if course.duration_half_days > 1 else 24,
                    trainers=[trainers[(iso_week + slot) % len(trainers)]],
                )
            )
        # A MAPIG in one area every other week, the theme changing each quarter.
        if iso_week % 2 == 0:
            day = monday + dt.timedelta(days=4)
            if day > today + dt.timedelta(days=3) and is_working_day(day):
                quarter = (monday.month - 1) // 3
                sessions.append(
                    _session(
                        course=mapigs[quarter % len(mapigs)],
                        venue=venues[(iso_week // 2) % 4],
                        day=day,
                        capacity=30,
                        trainers=[trainers[0]],
                    )
                )
    # Today's session, whatever day the demo is loaded: the register a newcomer can mark.
    sessions.append(
        _session(
            course=mapigs[0],
            venue=venues[0],
            day=today,
            capacity=30,
            trainers=[trainers[0]],
        )
    )
    # One session online: the Update on a Thursday three weeks on (in person it is on
    # Wednesdays), for 40 people.
    name, link, instructions = ONLINE_VENUE
    online, _ = Venue.objects.get_or_create(
        name=name,
        defaults={
            "mode": VenueMode.ONLINE,
            "area": Area.TAUNTON,
            "joining_link": link,
            "joining_instructions": instructions,
        },
    )
    sessions.append(
        _session(
            course=courses[1],
            venue=online,
            day=_next_working_day(first_monday + dt.timedelta(weeks=3, days=3)),
            capacity=40,
            trainers=[trainers[1 % len(trainers)]],
        )
    )
    conference_day = _next_working_day(first_monday + dt.timedelta(weeks=10, days=2))
    sessions.append(
        _session(
            course=reference["conference"],
            venue=venues[0],
            day=conference_day,
            capacity=120,
            trainers=trainers[:2],
        )
    )
    return sessions


def load_programme_example(now: dt.datetime) -> int:
    """Import the example programme file the README shows, as the admin's import would.

    Returns the sessions it made (none the second time: the import recognises its sessions).
    Its dates are fixed; once its first session has passed it is left as an example only.
    """
    dataset = tablib.Dataset().load(PROGRAMME_EXAMPLE.read_text(encoding="utf-8"), format="csv")
    first = min(dt.date.fromisoformat(day) for day in dataset["part1_date"] if "-" in day)
    if first <= now.date():
        return 0
    result = SessionResource().import_data(dataset, dry_run=False)
    if result.has_errors() or result.has_validation_errors():
        problems = [str(row.error_dict) for row in result.invalid_rows]
        problems += [str(error.error) for row in result.rows for error in row.errors]
        raise ValueError(f"The example programme did not import: {problems}")
    return result.totals["new"]
