"""People booked together on one order: each sees their own place, not each other's addresses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.models import Order, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_person, make_session
from training.models import Agency, Course, Venue

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def colleague(school: Agency) -> Any:
    return make_person("colleague@example.org", agency=school, first_name="Col", last_name="League")


@pytest.fixture
def order(
    course: Course,
    venue: Venue,
    school: Agency,
    agency_booker: Any,
    practitioner: Any,
    colleague: Any,
) -> Order:
    """The school's lead books three people: two with accounts, one without."""
    session = make_session(course, venue, starts_at=timezone.now() + dt.timedelta(days=40))
    return booking_create(
        session=session,
        attendees=[
            AttendeeSpec(name="Tess Teacher", email=practitioner.email),
            AttendeeSpec(name="Col League", email=colleague.email),
            AttendeeSpec(name="No Account", email="guest@example.org"),
        ],
        agency=school,
        booked_by=agency_booker,
        payment_method=PaymentMethod.INVOICE,
        now=timezone.now(),
    )


EVERYONE = ("teacher@example.org", "colleague@example.org", "guest@example.org")


def test_an_attendee_sees_their_own_place_on_the_order_but_no_colleagues_email(
    order: Order, practitioner: Any
) -> None:
    response = logged_in(practitioner).get(reverse("bookings:order", args=[order.reference]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "teacher@example.org" in page
    assert "colleague@example.org" not in page
    assert "guest@example.org" not in page
    assert "Col League" not in page
    assert page.count('data-testid="order-booking"') == 1


def test_the_booker_and_the_administrator_see_every_place_on_the_order(
    order: Order, agency_booker: Any, training_admin: Any
) -> None:
    for person in (agency_booker, training_admin):
        page = logged_in(person).get(reverse("bookings:order", args=[order.reference]))
        content = page.content.decode()
        assert all(email in content for email in EVERYONE), person.email
        assert content.count('data-testid="order-booking"') == 3
