"""What a booking must satisfy before the lock: its attendees, the session's being open, a
line manager where the course needs approval, and what only the front desk may ask.

``booking.booking_create`` checks these first; each refusal is a ``BookingError`` that says
what to do instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import PaymentMethod
from bookings.permissions import can_add_walk_in, can_book_on_behalf
from bookings.places.approvals import ManagerSpec
from training.models import Session, SessionStatus


@dataclass(frozen=True)
class FrontDesk:
    """What only the training unit may ask of ``booking_create`` (``can_book_on_behalf``).

    ``no_charge_reason`` goes with the "no charge" way of paying; ``capacity_override_reason``
    books beyond a full session (audited); ``walk_in`` books someone who came on the day,
    after the session started; ``card_hold_hours`` holds card places while the person pays by
    the link emailed to them. The administrator may also book after booking has closed and
    invoice an agency that is not yet approved.
    """

    no_charge_reason: str = ""
    capacity_override_reason: str = ""
    walk_in: bool = False
    card_hold_hours: int | None = None


@dataclass(frozen=True)
class AttendeeSpec:
    name: str
    email: str
    job_title: str = ""
    access_needs: str = ""


def manager_check(session: Session, manager: ManagerSpec | None, booked_by: Any) -> ManagerSpec:
    """The manager to ask, cleaned; BookingError when the course needs one and none is given."""
    manager = manager or ManagerSpec()
    cleaned = ManagerSpec(
        name=" ".join(manager.name.split()),
        email=manager.email.strip().lower(),
        agreed=manager.agreed,
    )
    if not session.course.needs_approval or booked_by is None or cleaned.agreed:
        return cleaned
    if not cleaned.name or not cleaned.email:
        raise BookingError(
            "This course needs your line manager's approval: give their name and work email."
        )
    return cleaned


def attendees_normalise(attendees: Sequence[AttendeeSpec]) -> list[AttendeeSpec]:
    cleaned = []
    seen: set[str] = set()
    for attendee in attendees:
        email = attendee.email.strip().lower()
        name = " ".join(attendee.name.split())
        if not name or not email:
            raise BookingError("Give a name and an email address for every attendee.")
        if email in seen:
            raise BookingError(f"{email} is listed twice; each person needs one place only.")
        seen.add(email)
        cleaned.append(
            AttendeeSpec(
                name=name,
                email=email,
                job_title=attendee.job_title.strip(),
                access_needs=attendee.access_needs.strip()[:2000],
            )
        )
    if not cleaned:
        raise BookingError("Add at least one attendee.")
    return cleaned


def session_closed_message(
    session: Session, now: dt.datetime, desk: FrontDesk | None = None
) -> str | None:
    if session.status == SessionStatus.CANCELLED:
        return "This session has been cancelled."
    if session.status != SessionStatus.PUBLISHED:
        return "This session is not open for booking."
    if desk is not None and desk.walk_in:
        if session.starts_at is None or timezone.localdate(now) < timezone.localdate(
            session.starts_at
        ):
            return "Someone who came can be added from the day of the session."
        return None
    if session.starts_at is None or session.starts_at <= now:
        return "This session has already started, so it can no longer be booked."
    if desk is not None:
        return None  # the administrator books by phone until the session starts
    if not session.is_open_for_booking(now):
        closes = session.booking_closes_on()
        return (
            f"Booking for this session closed on {closes:%A %-d %B %Y}."
            if closes
            else ("Booking for this session has closed.")
        )
    return None


PAYMENT_METHOD_REFUSED: dict[str, str] = {
    PaymentMethod.INVOICE: (
        "Only your agency's booker can have the agency invoiced. Pay by card, or ask them to "
        "book the place for you."
    ),
    PaymentMethod.SUBSIDISED: (
        "Only your agency's booker can use its subsidised places. Pay by card, or ask them to "
        "book the place for you."
    ),
}


def front_desk_check(
    front_desk: FrontDesk | None, booked_by: Any, payment_method: str, session: Session
) -> FrontDesk | None:
    """The front desk's requests, tidied, or a BookingError for anyone but the unit's staff
    (and, for someone who came on the day, the session's own trainers)."""
    if front_desk is None:
        return None
    if front_desk.walk_in:
        if not can_add_walk_in(booked_by, session):
            raise BookingError("Only the training team and this session's trainers can add people.")
    elif not can_book_on_behalf(booked_by):
        raise BookingError("Only the training team can book on someone's behalf.")
    desk = FrontDesk(
        no_charge_reason=" ".join(front_desk.no_charge_reason.split()),
        capacity_override_reason=" ".join(front_desk.capacity_override_reason.split()),
        walk_in=front_desk.walk_in,
        card_hold_hours=front_desk.card_hold_hours,
    )
    if payment_method == PaymentMethod.NO_CHARGE and not desk.no_charge_reason:
        raise BookingError("Say why there is no charge for this place.")
    return desk
