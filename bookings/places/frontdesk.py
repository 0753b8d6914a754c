"""The administrator's front desk: booking someone by phone or email, and people who came.

Every place is made by ``booking_create`` under the same capacity lock as any other booking;
the front desk only adds what the training unit may ask for (``FrontDesk``): no charge with a
reason, beyond a full session with a reason (audited), booking after booking has closed, and a
card payment by a link emailed to the person.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.audit import audit_record
from bookings.errors import BookingError
from bookings.models import ZERO, Booking, BookingStatus, Order, PaymentMethod
from bookings.money.paylinks import pay_link_url
from bookings.outbox import email_queue
from bookings.permissions import can_book_on_behalf
from bookings.places.booking import AttendeeSpec, FrontDesk, booking_create
from bookings.templatetags.money import format_pounds
from training.models import Agency, Sector, Session

WALK_IN_OVERRIDE = "Came on the day"


def _uk_time(when: dt.datetime | None) -> str:
    return f"{timezone.localtime(when):%A %-d %B %Y, %H:%M}" if when else ""


def agency_find_or_create(
    *, agency: Agency | None, new_name: str, sector: Sector | None, actor: Any, now: dt.datetime
) -> Agency:
    """The agency chosen from the list, or one the administrator names (found by name first, so
    a second "Acme Nursery" is never made; new ones are approved: the unit vouches for them)."""
    if agency is not None:
        return agency
    name = " ".join(new_name.split())
    if not name:
        raise BookingError("Choose the person's agency, or give the name of a new one.")
    existing = Agency.objects.filter(name__iexact=name).first()
    if existing is not None:
        return existing
    if sector is None:
        raise BookingError(f"Choose the sector of {name}: the price depends on it.")
    created = Agency.objects.create(name=name, sector=sector, approved=True, created_at=now)
    audit_record(
        obj=created,
        action="created at the front desk",
        actor=actor,
        now=now,
        changes={"sector": sector.name},
    )
    return created


def booking_on_behalf_create(
    *,
    session: Session,
    attendee: AttendeeSpec,
    agency: Agency,
    payment_method: str,
    purchase_order_number: str = "",
    no_charge_reason: str = "",
    capacity_override_reason: str = "",
    actor: Any,
    now: dt.datetime,
) -> Order:
    """Book one person by phone or email. A card place is held for
    ``FRONT_DESK_CARD_HOLD_HOURS`` and the person is emailed a link to pay."""
    if not can_book_on_behalf(actor):
        raise BookingError("Only the training team can book on someone's behalf.")
    with transaction.atomic():
        order = booking_create(
            session=session,
            attendees=[attendee],
            agency=agency,
            booked_by=actor,
            payment_method=payment_method,
            purchase_order_number=purchase_order_number,
            front_desk=FrontDesk(
                no_charge_reason=no_charge_reason
                if payment_method == PaymentMethod.NO_CHARGE
                else "",
                capacity_override_reason=capacity_override_reason,
                card_hold_hours=settings.FRONT_DESK_CARD_HOLD_HOURS,
            ),
            now=now,
        )
        held = list(order.bookings.filter(status=BookingStatus.HELD).select_related("session"))
        if held:
            email_queue(
                kind="payment_link",
                to=held[0].attendee_email,
                order=order,
                booking=held[0],
                context={
                    "pay_url": pay_link_url(order),
                    "amount": format_pounds(sum((b.price for b in held), ZERO)),
                    "hold_until": _uk_time(held[0].hold_expires_at),
                },
            )
    return order


def walk_in_add(
    *,
    session: Session,
    attendee: AttendeeSpec,
    agency: Agency,
    purchase_order_number: str = "",
    waive_reason: str = "",
    actor: Any,
    now: dt.datetime,
) -> Booking:
    """Someone who came without a place: a confirmed, attended place, invoiced to their agency
    at the course's price for its sector, or at no charge when ``waive_reason`` is given. A
    full session takes them all the same (they are in the room); that is audited too.

    The session's trainers may add people too (``can_add_walk_in``); waiving the charge is
    the administrators' decision (``can_book_on_behalf``)."""
    if waive_reason.strip() and not can_book_on_behalf(actor):
        raise BookingError(
            "Only the training administrator can waive the charge for someone who came."
        )
    order = booking_create(
        session=session,
        attendees=[attendee],
        agency=agency,
        booked_by=actor,
        payment_method=PaymentMethod.NO_CHARGE if waive_reason.strip() else PaymentMethod.INVOICE,
        purchase_order_number=purchase_order_number,
        front_desk=FrontDesk(
            no_charge_reason=waive_reason,
            capacity_override_reason=WALK_IN_OVERRIDE,
            walk_in=True,
        ),
        now=now,
    )
    return order.bookings.get()
