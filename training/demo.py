"""The demo programme: the 2016/17 year of the annual report and an upcoming programme.

Everything is created with get_or_create on natural keys, so loading twice changes nothing.
Upcoming dates come from a fixed weekly pattern (ISO week numbers), not from "today + n", so a
second run on a later day only adds the sessions that have come into the window.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from training.dates import is_working_day
from training.models import (
    Agency,
    Area,
    Course,
    CourseKind,
    CoursePrice,
    LearningOutcome,
    PriceBand,
    Profile,
    Sector,
    Session,
    SessionPart,
    SessionStatus,
    Trainer,
    Venue,
)

LONDON = ZoneInfo("Europe/London")


class ReferenceData(TypedDict):
    """What load_reference_data() made, for the loaders of sessions."""

    venues: list[Venue]
    agencies: list[Agency]
    trainers: list[Trainer]
    courses: list[Course]
    mapigs: list[Course]
    conference: Course


# Full-day and half-day prices per band (statutory, voluntary, independent).
FULL_DAY = {"statutory": "65.00", "voluntary": "45.00", "independent": "95.00"}
HALF_DAY = {"statutory": "40.00", "voluntary": "30.00", "independent": "55.00"}
CONFERENCE = {"statutory": "50.00", "voluntary": "35.00", "independent": "75.00"}


@dataclass(frozen=True)
class CourseSpec:
    title: str
    sessions_2016_17: int
    half_days: int
    level: str
    theme: str
    outcomes: tuple[str, ...]
    description: str


# The 11 course titles of the annual report's Appendix E, with its numbers of courses.
COURSES: tuple[CourseSpec, ...] = (
    CourseSpec(
        "Working Together",
        17,
        2,
        "2",
        "Multi-agency working",
        (
            "Describe the roles and responsibilities of each agency in safeguarding children",
            "Recognise the signs and indicators of abuse and neglect",
            "Know how to make a referral and share information lawfully",
        ),
        "The core multi-agency course based on Working Together to Safeguard Children.",
    ),
    CourseSpec(
        "Update",
        17,
        1,
        "2",
        "Multi-agency working",
        (
            "Apply recent changes in legislation, guidance and local procedures",
            "Reflect on lessons from local and national serious case reviews",
        ),
        "A refresher for practitioners who completed Working Together within three years.",
    ),
    CourseSpec(
        "CSE half day",
        5,
        1,
        "2",
        "Child sexual exploitation",
        (
            "Recognise the warning signs of child sexual exploitation",
            "Use the CSE screening tool and know when to refer",
        ),
        "An introduction to child sexual exploitation for all practitioners.",
    ),
    CourseSpec(
        "CSE working with parents/ skills and practice",
        3,
        2,
        "3",
        "Child sexual exploitation",
        (
            "Work alongside parents of children at risk of exploitation",
            "Plan safety with the child and family",
        ),
        "Skills for practitioners supporting families affected by exploitation.",
    ),
    CourseSpec(
        "Safer Recruitment",
        1,
        2,
        "3",
        "Safer workforce",
        (
            "Apply safer recruitment practice at every stage of appointment",
            "Meet the statutory requirement for a trained member of every interview panel",
        ),
        "Accredited training for those who recruit staff and volunteers working with children.",
    ),
    CourseSpec(
        "Parental MH",
        2,
        2,
        "3",
        "Think Family",
        (
            "Understand how parental mental ill-health can affect children",
            "Work jointly with adult mental health services",
        ),
        "Parental mental health and its impact on children.",
    ),
    CourseSpec(
        "Signs of safety",
        1,
        2,
        "3",
        "Practice model",
        (
            "Use the Signs of Safety mapping framework",
            "Involve children and families in safety planning",
        ),
        "The strengths-based practice model used across the county.",
    ),
    CourseSpec(
        "Thresholds",
        1,
        1,
        "2",
        "Multi-agency working",
        (
            "Apply the county's threshold document to real cases",
            "Choose the right level of support for a family",
        ),
        "Using the effective support threshold document.",
    ),
    CourseSpec(
        "CSE and CWD",
        1,
        1,
        "3",
        "Child sexual exploitation",
        (
            "Recognise why disabled children are more vulnerable to exploitation",
            "Adapt communication to hear the voice of disabled children",
        ),
        "Child sexual exploitation and children with disabilities.",
    ),
    CourseSpec(
        "CSE Train the trainer",
        1,
        4,
        "4",
        "Child sexual exploitation",
        (
            "Deliver the CSE awareness session in your own agency",
            "Evaluate the impact of single-agency training",
        ),
        "Prepares experienced practitioners to train colleagues in their own agency.",
    ),
    CourseSpec(
        "Courageous conversations",
        1,
        1,
        "3",
        "Practice skills",
        (
            "Hold difficult conversations with families and colleagues",
            "Challenge and escalate professional disagreement",
        ),
        "Skills for challenging conversations in safeguarding practice.",
    ),
)

MAPIG_THEMES = ("Think Family", "Vulnerabilities of adolescence", "Transitions — Choices for Life")
MAPIG_AREAS = (Area.TAUNTON, Area.BRIDGWATER, Area.YEOVIL, Area.GLASTONBURY)
CONFERENCE_TITLE = "Working Together to Tackle CSE"

VENUES = (
    ("Taunton Training Centre", "Blackbrook Park Avenue\nTaunton", "TA1 2PX", Area.TAUNTON),
    ("Bridgwater Community Hall", "Northgate\nBridgwater", "TA6 3EU", Area.BRIDGWATER),
    ("Yeovil Innovation Suite", "Copse Road\nYeovil", "BA22 8RN", Area.YEOVIL),
    ("Glastonbury Town Hall", "Magdalene Street\nGlastonbury", "BA6 9EL", Area.GLASTONBURY),
    ("Minehead Family Centre", "Alcombe Road\nMinehead", "TA24 6BD", Area.MINEHEAD),
)

# Fictional agencies, two or more per sector; the first venue-lender gets subsidised places.
AGENCIES: dict[str, tuple[str, ...]] = {
    "Central Education": ("County Education Safeguarding Service", "Inclusion and Attendance Team"),
    "Charities": ("Levels Family Support Trust", "Quantock Young Carers", "Brue Valley Mentoring"),
    "Children's Social Care": (
        "Children's Social Care – Taunton Team",
        "Fostering and Adoption Service",
    ),
    "Children's Centres": ("Priorswood Children's Centre", "Westfield Children's Centre"),
    "District Councils": ("Sedgemoor District Council Housing", "Mendip District Council"),
    "Early Years Providers": (
        "Little Acorns Day Nursery",
        "Rainbow Pre-school",
        "Brookside Childminders",
    ),
    "Health": (
        "Quantock Health Visiting Team",
        "Parrett School Nursing Service",
        "Tone Valley GP Practice",
    ),
    "Independent Schools": ("Kingsmoor College", "St Aldhelm's Preparatory School"),
    "Other": ("Mendip Sports Club", "Faith Communities Network"),
    "Police": ("Avon and Somerset Police – Public Protection",),
    "Probation": ("National Probation Service – Somerset",),
    "Schools": (
        "Blackdown Primary School",
        "Holway Park Academy",
        "Chard Community Academy",
        "Wellsprings Primary School",
        "Huish Episcopi Academy",
    ),
}

TRAINERS = ("Jo Harding", "Sam Okafor", "Priya Natarajan", "Mark Ellison")


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
                },
            )
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


DEMO_PASSWORD = "safeguarding-demo"

# One login per role: (email, first, last, job title, agency, roles, is_staff).
DEMO_USERS = (
    (
        "practitioner@example.org",
        "Nia",
        "Roberts",
        "Health visitor",
        "Quantock Health Visiting Team",
        ("Practitioner",),
        False,
    ),
    (
        "booker@example.org",
        "Dan",
        "Whitlock",
        "Designated safeguarding lead",
        "Blackdown Primary School",
        ("Practitioner", "Agency booker"),
        False,
    ),
    (
        "admin@example.org",
        "Alex",
        "Moreton",
        "Training administrator",
        "County Education Safeguarding Service",
        ("Practitioner", "Training administrator"),
        True,
    ),
    (
        "community@example.org",
        "Pat",
        "Greenwood",
        "Lay community member",
        "Other",
        ("Community member",),
        False,
    ),
    (
        "board@example.org",
        "Ruth",
        "Calder",
        "Independent chair",
        "County Education Safeguarding Service",
        ("Board viewer",),
        False,
    ),
    (
        "other-agency@example.org",
        "Lee",
        "Pascoe",
        "Nursery manager",
        "Little Acorns Day Nursery",
        ("Practitioner", "Agency booker"),
        False,
    ),
)


@transaction.atomic
def load_demo_people() -> list[tuple[str, str]]:
    """Demo logins with verified email addresses; returns (email, roles) for printing."""

    User = get_user_model()
    logins = []
    for email, first, last, job, agency_name, roles, is_staff in DEMO_USERS:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(
                username=email, email=email, first_name=first, last_name=last, is_staff=is_staff
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        agency = Agency.objects.filter(name=agency_name).first()
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "job_title": job,
                "agency": agency,
                "phone": "01823 000000",
                "consent_to_calls": email == "practitioner@example.org",
            },
        )
        user.groups.add(*Group.objects.filter(name__in=roles))
        logins.append((email, ", ".join(roles)))
    return logins
