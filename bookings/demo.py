"""Demo bookings: enough confirmed places on upcoming sessions that some are nearly full."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from bookings.models import Booking, BookingStatus, PaymentMethod
from training.models import Agency, Session


@transaction.atomic
def load_upcoming_bookings(sessions: list[Session], *, today: dt.date) -> int:
    """Fill every fourth upcoming session to within two places; others a little. Idempotent."""
    rng = random.Random(7)
    agencies = list(Agency.objects.filter(approved=True).select_related("sector__price_band"))
    created = 0
    for index, session in enumerate(sessions):
        target = session.capacity - 2 if index % 4 == 0 else rng.randint(0, session.capacity // 3)
        existing = Booking.objects.filter(session=session).count()
        for number in range(existing, target):
            agency = agencies[(index + number) % len(agencies)]
            band = agency.sector.price_band
            price = session.price_for_band(band.pk) or 0
            Booking.objects.create(
                session=session,
                attendee_name=f"Demo Attendee {session.pk}-{number + 1}",
                attendee_email=f"attendee{session.pk}-{number + 1}@example.org",
                agency=agency,
                sector=agency.sector,
                price_band=band,
                price=price,
                payment_method=PaymentMethod.FREE if price == 0 else PaymentMethod.INVOICE,
                status=BookingStatus.CONFIRMED,
            )
            created += 1
    return created
