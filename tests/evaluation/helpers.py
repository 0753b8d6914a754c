"""Factories and a settable clock for the evaluation tests (unit and browser)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from bookings.models import Attendance, Booking, BookingStatus, Order, PaymentMethod
from evaluation.models import Invitation, InvitationKind, Survey, SurveyKind
from training.models import Agency, Profile, Sector, Session
from training.roles import Role


def aware(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


class Clock:
    """Stands in for ``django.utils.timezone.now``: time moves only when a test moves it."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    def set(self, when: dt.datetime) -> dt.datetime:
        self.now = when
        return self.now


def agency_in(sector: Sector, name: str | None = None) -> Agency:
    return Agency.objects.get_or_create(
        name=name or f"{sector.name} agency", defaults={"sector": sector}
    )[0]


def person(
    email: str,
    *,
    agency: Agency | None,
    consent: bool = True,
    phone: str = "01632 960001",
    first_name: str = "Pat",
    last_name: str = "Person",
) -> Any:
    """A past attendee with a login but no password (hashing one is slow, and they never sign
    in in these tests)."""
    user = get_user_model().objects.create(
        username=email, email=email, first_name=first_name, last_name=last_name
    )
    Profile.objects.create(
        user=user, agency=agency, phone=phone, consent_to_calls=consent, job_title="Practitioner"
    )
    user.groups.add(Group.objects.get(name=Role.PRACTITIONER))
    return user


def place(
    session: Session,
    *,
    attendee: Any = None,
    name: str = "",
    email: str = "",
    agency: Agency,
    attendance: str = Attendance.ATTENDED,
) -> Booking:
    """A confirmed place, written directly (booking rules are tested in bookings)."""
    order = Order.objects.create(agency=agency, payment_method=PaymentMethod.INVOICE)
    return Booking.objects.create(
        order=order,
        session=session,
        attendee=attendee,
        attendee_name=name or (attendee.get_full_name() if attendee else "Someone"),
        attendee_email=(email or (attendee.email if attendee else "someone@example.org")).lower(),
        agency=agency,
        sector=agency.sector,
        price_band=agency.sector.price_band,
        payment_method=PaymentMethod.INVOICE,
        status=BookingStatus.CONFIRMED,
        attendance=attendance,
    )


def sent_invitation(
    booking: Booking,
    *,
    kind: str = InvitationKind.EVALUATION,
    sent_at: dt.datetime,
    days: int = 30,
) -> Invitation:
    """An invitation whose first email went at ``sent_at``."""
    return Invitation.objects.create(
        booking=booking,
        kind=kind,
        survey=Survey.objects.get(kind=SurveyKind(kind)),
        send_after=sent_at,
        sent_at=sent_at,
        expires_at=sent_at + dt.timedelta(days=days),
    )
