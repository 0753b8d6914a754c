"""Places and waiting-list entries in a given state, for the tests that hold a plain SQL
reading of places left and next changes to the models' own rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bookings.models import Booking, Order, PaymentMethod, WaitingListEntry
from tests.conftest import make_person
from training.models import Agency


def place_in_state(
    session_id: int,
    agency: Agency,
    n: int,
    status: str,
    *,
    hold_expires_at: dt.datetime | None,
    now: dt.datetime,
) -> Booking:
    """A card place for ``Person n`` of ``agency``, in ``status``, booked at ``now``."""
    order = Order.objects.create(agency=agency, payment_method=PaymentMethod.CARD, created_at=now)
    return Booking.objects.create(
        order=order,
        session_id=session_id,
        attendee_name=f"Person {n}",
        attendee_email=f"person{n}@example.org",
        agency=agency,
        sector=agency.sector,
        price_band=agency.sector.price_band,
        price=Decimal("65.00"),
        payment_method=PaymentMethod.CARD,
        status=status,
        hold_expires_at=hold_expires_at,
        created_at=now,
    )


def entry_in_state(
    session_id: int, n: int, status: str, *, offer_expires_at: dt.datetime | None
) -> WaitingListEntry:
    """``Waiting n`` on the session's waiting list, in ``status``."""
    person = make_person(f"waiting{n}@example.org", agency=None)
    return WaitingListEntry.objects.create(
        session_id=session_id,
        person=person,
        email=person.email,
        name=f"Waiting {n}",
        status=status,
        offer_expires_at=offer_expires_at,
    )
