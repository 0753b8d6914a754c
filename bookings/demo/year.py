"""The demo's 2016/17 year of the annual report: its places, attendance and money.

Everything is made through the real services (orders, invoices, payments, attendance,
registers, audit entries and all); the emails those changes would send are dropped before the
transaction commits, so loading the demo neither floods the console nor renders a PDF.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from bookings.attendance.registers import attendance_record, register_close
from bookings.demo.names import FIRST_NAMES, LAST_NAMES
from bookings.errors import BookingError
from bookings.models import Attendance, Booking, OutgoingEmail, PaymentMethod
from bookings.money.payments import payment_start, payment_succeeded
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.changes import booking_cancel
from training.demo import AGENCIES
from training.models import Agency, CourseKind, Sector, Session, SessionStatus

# Appendix E of the 2016/17 annual report, as published: attended places by course title and
# agency sector. The demo year reproduces every cell.
APPENDIX_E_2016_17 = """\
course_title,number_of_courses,Central Education,Charities,Children's Social Care,Children's Centres,District Councils,Early Years Providers,Health,Independent Schools,Other,Police,Probation,Schools,All
Courageous conversations,1,1,1,0,0,0,1,1,0,0,0,0,0,4
CSE Train the trainer,1,0,0,0,0,0,0,0,1,0,0,0,3,4
CSE half day,5,3,0,39,2,0,7,2,0,0,0,0,16,69
CSE and CWD,1,1,0,4,0,0,0,0,0,0,0,0,7,12
CSE working with parents/ skills and practice,3,0,14,22,5,0,0,6,3,0,0,0,6,56
Parental MH,2,1,2,2,0,0,2,8,0,2,0,0,1,18
Safer Recruitment,1,2,3,1,0,0,0,1,0,0,0,0,21,28
Signs of safety,1,1,0,12,1,0,1,0,0,0,0,0,1,16
Thresholds,1,1,0,1,0,0,1,2,0,0,0,0,4,9
Update,17,39,6,22,24,1,77,25,22,1,5,0,201,423
Working Together,17,27,13,43,6,0,126,9,22,0,2,0,206,454
Total,50,76,39,146,38,1,215,54,48,3,7,0,466,1093
"""  # noqa: E501


# §11.2: 328 attendees at 12 MAPIG sessions (the report gives 112 for the four Q2 workshops)
# and 170 at the two conferences. Attendees per session, in date order within each course.
MAPIG_ATTENDEES_2016_17 = {
    "Think Family": (26, 28, 27, 27),
    "Vulnerabilities of adolescence": (28, 28, 28, 28),
    "Transitions — Choices for Life": (30, 25, 27, 26),
}


CONFERENCE_ATTENDEES_2016_17 = (92, 78)


# More fictional agencies, so the busiest sectors are not a handful of very keen employers.
EXTRA_AGENCIES: dict[str, tuple[str, ...]] = {
    "Central Education": ("Educational Psychology Service",),
    "Children's Social Care": (
        "Children's Social Care – Yeovil Team",
        "Children's Social Care – Bridgwater Team",
        "Leaving Care Service",
    ),
    "Children's Centres": ("Highbridge Children's Centre",),
    "Early Years Providers": (
        "Ladybird Day Nursery",
        "Tiddlywinks Pre-school",
        "Sunflower Day Nursery",
        "Puddleducks Pre-school",
        "Acorn Tree Childminding Network",
    ),
    "Independent Schools": ("Wellow House School",),
    "Schools": (
        "Aldermoor Primary School",
        "Blackthorn Academy",
        "Cuckoo Lane Primary School",
        "Eastbrook Infant School",
        "Fernleigh Junior School",
        "Greenhaven Academy",
        "Hazelwood Primary School",
        "Ivythorn Community School",
        "Juniper Hill School",
        "Levelside Primary School",
    ),
}


# Places that were booked but not attended, to make the year look like a real one.
ABSENT_EVERY_NTH_SESSION = 2  # one no-show on every second session


EARLY_CANCELLATION_EVERY_NTH_SESSION = 3  # refunded (credit note) before the cut-off


LATE_CANCELLATION_EVERY_NTH_SESSION = 5  # after the cut-off: the fee stands


PEOPLE_PER_AGENCY = 24


CARD_IN_BANDS = {"voluntary", "independent"}


def appendix_e_2016_17() -> tuple[list[str], dict[str, tuple[int, dict[str, int]]]]:
    """The published table: (sector names in column order, {title: (courses, {sector: n})})."""
    rows = list(csv.reader(io.StringIO(APPENDIX_E_2016_17)))
    sectors = rows[0][2:-1]
    table = {
        row[0]: (int(row[1]), dict(zip(sectors, map(int, row[2:-1]), strict=True)))
        for row in rows[1:]
        if row[0] != "Total"
    }
    return sectors, table


def _apportion(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder: the parts add up)."""
    weight_sum = sum(weights.values())
    exact = {key: total * weight / weight_sum for key, weight in weights.items()}
    parts = {key: int(value) for key, value in exact.items()}
    for key in sorted(exact, key=lambda k: (parts[k] - exact[k], k))[: total - sum(parts.values())]:
        parts[key] += 1
    return parts


def _deal(places: dict[str, int], sessions: int, rng: random.Random) -> list[list[str]]:
    """Deal sector places over sessions: sizes differ by at most one, so each gets >= 1."""
    labels = [sector for sector, count in places.items() for _ in range(count)]
    rng.shuffle(labels)
    hands: list[list[str]] = [[] for _ in range(sessions)]
    for index, label in enumerate(labels):
        hands[index % sessions].append(label)
    return hands


@dataclass
class _Person:
    name: str
    email: str
    job_title: str


class _People:
    """A stable pool of fictional people per agency; the same people come back over the year."""

    JOB_TITLES = {
        "Central Education": "Education safeguarding adviser",
        "Charities": "Family support worker",
        "Children's Social Care": "Social worker",
        "Children's Centres": "Family outreach worker",
        "District Councils": "Housing officer",
        "Early Years Providers": "Nursery practitioner",
        "Health": "Health visitor",
        "Independent Schools": "Designated safeguarding lead",
        "Other": "Youth leader",
        "Police": "Detective constable",
        "Probation": "Probation officer",
        "Schools": "Teacher",
    }

    def __init__(self) -> None:
        self.pools: dict[int, list[_Person]] = {}
        self.next_index: Counter[int] = Counter()

    def pool(self, agency: Agency, agency_index: int) -> list[_Person]:
        if agency.pk not in self.pools:
            domain = slugify(agency.name).replace("-", "")[:24]
            job = self.JOB_TITLES.get(agency.sector.name, "Practitioner")
            people = []
            for index in range(PEOPLE_PER_AGENCY):
                first = FIRST_NAMES[(index + agency_index) % len(FIRST_NAMES)]
                turn = index // len(FIRST_NAMES)
                last = LAST_NAMES[(turn + index + agency_index) % len(LAST_NAMES)]
                email = f"{first}.{last}@{domain}.example.org".lower()
                people.append(_Person(f"{first} {last}", email, job))
            if agency.name == "Quantock Health Visiting Team":
                # The demo practitioner's own training history.
                people[0] = _Person("Nia Roberts", "practitioner@example.org", "Health visitor")
            self.pools[agency.pk] = people
        return self.pools[agency.pk]

    def take(self, agency: Agency, agency_index: int, *, not_in: set[str]) -> _Person:
        pool = self.pool(agency, agency_index)
        for _ in range(len(pool)):
            person = pool[self.next_index[agency.pk] % len(pool)]
            self.next_index[agency.pk] += 1
            if person.email not in not_in:
                not_in.add(person.email)
                return person
        raise BookingError(f"The demo ran out of people at {agency.name}.")


def _ensure_agencies(sectors: dict[str, Sector]) -> dict[str, list[Agency]]:
    names = {name: AGENCIES.get(name, ()) + EXTRA_AGENCIES.get(name, ()) for name in sectors}
    existing = {
        agency.name: agency
        for agency in Agency.objects.filter(
            name__in=[name for group in names.values() for name in group]
        ).select_related("sector__price_band")
    }
    by_sector: dict[str, list[Agency]] = {}
    for sector_name, group in names.items():
        agencies = []
        for name in group:
            agency = existing.get(name)
            if agency is None:
                domain = slugify(name).replace("-", "")[:24]
                agency = Agency.objects.create(
                    name=name,
                    sector=sectors[sector_name],
                    address=f"{name}\nSomerset",
                    invoice_contact_name="Finance Officer",
                    invoice_contact_email=f"finance@{domain}.example.org",
                )
            agencies.append(agency)
        if not agencies:
            raise BookingError(f"The demo has no agency in the sector {sector_name}.")
        by_sector[sector_name] = agencies
    return by_sector


@dataclass
class _Plan:
    """What happens to the places of one session."""

    session: Session
    attended: list[str]  # one sector name per attended place
    absent: list[str]
    early_cancelled: list[str]
    late_cancelled: list[str]


def _plans(sessions: list[Session], sector_names: list[str]) -> Iterator[_Plan]:
    rng = random.Random(201617)
    _, table = appendix_e_2016_17()
    # The demo sessions all have their parts, so each has a start (the casts below).
    by_course: dict[str, list[Session]] = defaultdict(list)
    for session in sessions:
        by_course[session.course.title].append(session)
    course_totals = Counter[str]()
    for _, places in table.values():
        course_totals.update(places)
    weights = {name: course_totals[name] + 1 for name in sector_names}

    counter = 0

    def extras(index: int) -> tuple[list[str], list[str], list[str]]:
        nonlocal counter
        counter += 1

        def pick() -> str:
            return rng.choices(sector_names, weights=[weights[n] for n in sector_names])[0]

        absent = [pick()] if counter % ABSENT_EVERY_NTH_SESSION == 0 else []
        early = [pick()] if counter % EARLY_CANCELLATION_EVERY_NTH_SESSION == 0 else []
        late = [pick()] if counter % LATE_CANCELLATION_EVERY_NTH_SESSION == 0 else []
        return absent, early, late

    for title, (courses, places) in table.items():
        course_sessions = sorted(
            by_course.get(title, []), key=lambda s: cast(dt.datetime, s.starts_at)
        )
        if len(course_sessions) != courses:
            raise BookingError(
                f"The demo year needs {courses} sessions of '{title}', "
                f"found {len(course_sessions)}: load training.demo.load_year_2016_17 first."
            )
        for index, (session, hand) in enumerate(
            zip(course_sessions, _deal(places, courses, rng), strict=True)
        ):
            yield _Plan(session, hand, *extras(index))

    mapigs = [s for s in sessions if s.course.kind == CourseKind.MAPIG]
    conferences = sorted(
        (s for s in sessions if s.course.kind == CourseKind.CONFERENCE),
        key=lambda s: cast(dt.datetime, s.starts_at),
    )
    for theme, counts in MAPIG_ATTENDEES_2016_17.items():
        theme_sessions = sorted(
            (s for s in mapigs if s.course.theme == theme),
            key=lambda s: cast(dt.datetime, s.starts_at),
        )
        for index, (session, count) in enumerate(zip(theme_sessions, counts, strict=True)):
            hand = _deal(_apportion(count, weights), 1, rng)[0]
            absent = rng.choices(sector_names, weights=[weights[n] for n in sector_names], k=2)
            yield _Plan(session, hand, absent, [], [sector_names[index]] if index % 2 else [])
    for index, (session, count) in enumerate(
        zip(conferences, CONFERENCE_ATTENDEES_2016_17, strict=True)
    ):
        hand = _deal(_apportion(count, weights), 1, rng)[0]
        yield _Plan(
            session,
            hand,
            ["Schools", "Health", "Charities"][: 2 + index],
            ["Schools"],
            ["Early Years Providers"],
        )


def load_year_2016_17_attendance(sessions: list[Session]) -> int:
    """Bookings, attendance, absences and cancellations of the 2016/17 year (idempotent).

    Attended places per course title and sector equal the annual report's Appendix E, spread
    over its numbers of sessions (each with at least one attendee); 328 attendees at the 12
    MAPIG sessions and 170 at the 2 conferences. Returns the number of places created.
    """
    session_ids = [session.pk for session in sessions]
    to_load = list(
        Session.objects.filter(pk__in=session_ids)
        .exclude(bookings__isnull=False)  # a session with any booking is already loaded
        .select_related("course")
        .order_by("starts_at", "pk")
    )
    if not to_load:
        return 0
    all_sessions = list(
        Session.objects.filter(pk__in=session_ids).select_related("course").order_by("starts_at")
    )
    sectors = {sector.name: sector for sector in Sector.objects.select_related("price_band")}
    sector_names = list(Sector.objects.order_by("order", "name").values_list("name", flat=True))
    User = get_user_model()
    administrator = User.objects.filter(email="admin@example.org").first()
    card_payments = settings.PAYMENT_GATEWAY == "development"  # never a real gateway call
    loading = {session.pk for session in to_load}
    created = 0
    with transaction.atomic():
        first_new_email = (
            OutgoingEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        agencies = _ensure_agencies(sectors)
        people = _People()
        rotation: Counter[str] = Counter()
        subsidised_used: Counter[int] = Counter()
        order_number = 0
        for plan in _plans(all_sessions, sector_names):
            if plan.session.pk not in loading:
                continue
            session = plan.session
            if session.status != SessionStatus.PUBLISHED or session.starts_at is None:
                raise BookingError(f"The demo session {session} is not a published session.")
            day = timezone.localtime(session.starts_at)
            on_session = set[str]()
            outcomes: dict[str, list[Booking]] = defaultdict(list)

            def agency_for(sector_name: str) -> tuple[Agency, int]:
                group = agencies[sector_name]
                index = (rotation[sector_name] // 3) % len(group)
                rotation[sector_name] += 1
                return group[index], index

            for outcome, labels in (
                ("attended", plan.attended),
                ("absent", plan.absent),
                ("early", plan.early_cancelled),
                ("late", plan.late_cancelled),
            ):
                # One order per agency per outcome, as an agency booker books colleagues.
                orders: dict[int, tuple[Agency, list[AttendeeSpec]]] = {}
                for sector_name in labels:
                    agency, agency_index = agency_for(sector_name)
                    person = people.take(agency, agency_index, not_in=on_session)
                    orders.setdefault(agency.pk, (agency, []))[1].append(
                        AttendeeSpec(person.name, person.email, person.job_title)
                    )
                for agency, attendees in orders.values():
                    order_number += 1
                    booked_at = day.replace(hour=10, minute=0) - dt.timedelta(
                        days=24 + order_number % 20
                    )
                    method = _payment_method(
                        session,
                        agency,
                        len(attendees),
                        outcome,
                        order_number,
                        subsidised_used,
                        card_payments,
                    )
                    order = booking_create(
                        session=session,
                        attendees=attendees,
                        agency=agency,
                        booked_by=administrator,
                        payment_method=method,
                        purchase_order_number=f"PO-{2016}-{order_number:05d}"
                        if method == PaymentMethod.INVOICE and agency.purchase_order_required
                        else "",
                        now=booked_at,
                    )
                    if method == PaymentMethod.CARD:
                        payment = payment_start(
                            order=order, success_url="/", cancel_url="/", now=booked_at
                        )
                        payment_succeeded(
                            payment=payment,
                            payment_intent_id=f"pi_demo_{payment.pk}",
                            now=booked_at + dt.timedelta(minutes=3),
                        )
                    outcomes[outcome].extend(order.bookings.all())
                    created += len(attendees)
            for booking in outcomes["early"]:
                booking_cancel(
                    booking=booking,
                    actor=administrator,
                    now=day - dt.timedelta(days=18),
                    reason="Unable to attend",
                )
            for booking in outcomes["late"]:
                booking_cancel(
                    booking=booking,
                    actor=administrator,
                    now=day - dt.timedelta(days=1),
                    reason="Staff shortage on the day",
                )
            marked_at = day + dt.timedelta(minutes=20)
            for outcome, mark in (("attended", Attendance.ATTENDED), ("absent", Attendance.ABSENT)):
                for booking in outcomes[outcome]:
                    # History: nobody is invited now to evaluate training of years ago.
                    attendance_record(
                        booking=booking,
                        attendance=mark,
                        actor=administrator,
                        now=marked_at,
                        announce=False,
                    )
            register_close(session=session, actor=administrator, now=day + dt.timedelta(hours=7))
        # The demo's emails are not sent: they were never real bookings. Deleted inside the
        # transaction, so the send tasks that run on commit find nothing to render.
        OutgoingEmail.objects.filter(pk__gt=first_new_email).delete()
    return created


def _payment_method(
    session: Session,
    agency: Agency,
    places: int,
    outcome: str,
    order_number: int,
    subsidised_used: Counter[int],
    card_payments: bool,
) -> str:
    if session.course.kind == CourseKind.MAPIG:
        return PaymentMethod.FREE
    band = agency.sector.price_band.slug
    if outcome == "attended" and agency.subsidised_places_per_year:
        if subsidised_used[agency.pk] + places <= agency.subsidised_places_per_year:
            subsidised_used[agency.pk] += places
            return PaymentMethod.SUBSIDISED
    # Card refunds would be sent to the gateway after commit: cancelled places go by invoice.
    if card_payments and outcome in {"attended", "absent"} and band in CARD_IN_BANDS:
        if order_number % 3:
            return PaymentMethod.CARD
    return PaymentMethod.INVOICE
