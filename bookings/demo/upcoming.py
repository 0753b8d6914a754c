"""Demo places on upcoming sessions, some sessions nearly full, and reserved places to name."""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.demo.informed import access_needs_for
from bookings.demo.names import FIRST_NAMES, LAST_NAMES
from bookings.errors import BookingError
from bookings.models import Booking, OutgoingEmail, PaymentMethod, PlaceReservation
from bookings.places.approvals import ManagerSpec
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.reservations import places_reserve, reserved_place_name, unnamed_places
from training.models import Agency, CourseKind, Session


def load_upcoming_bookings(sessions: list[Session], *, today: dt.date) -> int:
    """Fill every fourth upcoming session to within two places; others a little. Idempotent."""
    rng = random.Random(7)
    agencies = list(
        Agency.objects.filter(approved=True, purchase_order_required=False).select_related(
            "sector__price_band"
        )
    )
    booker = get_user_model().objects.filter(email="admin@example.org").first()
    now = timezone.now()
    created = 0
    with transaction.atomic():
        first_new_email = (
            OutgoingEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        for index, session in enumerate(sessions):
            if Booking.objects.filter(session=session).exists():
                continue  # already loaded
            target = (
                session.capacity - 2 if index % 4 == 0 else rng.randint(0, session.capacity // 3)
            )
            number = 0
            while number < target:
                agency = agencies[(index + number) % len(agencies)]
                group = min(target - number, rng.randint(1, 4))
                people = [
                    AttendeeSpec(
                        name=f"{FIRST_NAMES[(session.pk + n) % 20]} "
                        f"{LAST_NAMES[(session.pk * 3 + n) % 16]}",
                        email=f"attendee.{session.pk}.{n + 1}@example.org",
                        job_title="Practitioner",
                        access_needs=access_needs_for(n),
                    )
                    for n in range(number, number + group)
                ]
                # Today's session was booked a fortnight ago (it may have started by now).
                booked_at = min(now, (session.starts_at or now) - dt.timedelta(days=14))
                try:
                    booking_create(
                        session=session,
                        attendees=people,
                        agency=agency,
                        booked_by=booker,
                        payment_method=PaymentMethod.INVOICE,
                        # On a course needing approval the administrator recorded that the
                        # line managers agreed (a few others wait: see demo.informed).
                        manager=ManagerSpec(agreed=True),
                        now=booked_at,
                    )
                except BookingError:
                    break
                number += group
                created += group
        # The demo's own emails are not sent: they were never real bookings.
        OutgoingEmail.objects.filter(pk__gt=first_new_email).delete()
    return created


def load_demo_reservations(sessions: list[Session], *, today: dt.date) -> int:
    """A few reserved places awaiting names: the demo booker's school has reserved three on
    an upcoming course (one named so far), and the administrator two for the nursery.
    Idempotent: loaded once."""
    if PlaceReservation.objects.exists():
        return 0
    people = get_user_model().objects
    booker = people.filter(email="booker@example.org").first()
    admin = people.filter(email="admin@example.org").first()
    school = Agency.objects.filter(name="Blackdown Primary School").first()
    nursery = Agency.objects.filter(name="Little Acorns Day Nursery").first()
    if booker is None or admin is None or school is None or nursery is None:
        return 0
    now = timezone.now()
    soonest = today + dt.timedelta(days=21)  # the names are still to come for weeks
    candidates = [
        session
        for session in sessions
        if session.course.kind == CourseKind.COURSE
        and session.starts_at is not None
        and timezone.localdate(session.starts_at) >= soonest
        and session.capacity - places_taken(session.pk, now) >= 5
    ]
    made = 0
    with transaction.atomic():
        first_new_email = (
            OutgoingEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        for session, agency, by, places, named in zip(
            candidates[:2], (school, nursery), (booker, admin), (3, 2), (1, 0), strict=False
        ):
            try:
                reservation = places_reserve(
                    session=session, agency=agency, places=places, booked_by=by, now=now
                )
                for n, place in enumerate(unnamed_places(reservation)[:named], start=1):
                    reserved_place_name(
                        booking=place,
                        attendee=AttendeeSpec(
                            name=f"{FIRST_NAMES[n]} {LAST_NAMES[n + 5]}",
                            email=f"reserved.{session.pk}.{n}@example.org",
                            job_title="Teaching assistant",
                        ),
                        actor=by,
                        now=now,
                    )
            except BookingError:
                continue
            made += places
        OutgoingEmail.objects.filter(pk__gt=first_new_email).delete()
    return made
