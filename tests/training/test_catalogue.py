from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus, Order, PaymentMethod
from tests.conftest import PASSWORD, make_session
from training.models import Course, CourseKind, SessionPrice, SessionStatus, Venue

pytestmark = pytest.mark.django_db


def future(days: int, hour: int = 9) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def add_sessions(course: Course, venue: Venue, count: int) -> None:
    for index in range(count):
        make_session(course, venue, starts_at=future(10 + index % 200))


def catalogue_query_count(client: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("bookings:catalogue"))
    assert response.status_code == 200
    return len(queries)


def test_catalogue_query_count_does_not_grow_with_sessions(
    client: Any, course: Course, venue: Venue, practitioner: Any
) -> None:
    client.login(username=practitioner.username, password=PASSWORD)
    add_sessions(course, venue, 10)
    with_ten = catalogue_query_count(client)
    add_sessions(course, venue, 990)
    with_thousand = catalogue_query_count(client)
    assert with_ten == with_thousand
    # The signed-in session and user (with their roles and booker grant, training.auth), the
    # filter's themes, the count, the page of sessions with their prices, their parts:
    # nothing per row.
    assert with_thousand <= 6


def test_catalogue_query_count_is_constant_for_anonymous_visitors(
    client: Any, course: Course, venue: Venue
) -> None:
    add_sessions(course, venue, 10)
    with_ten = catalogue_query_count(client)
    add_sessions(course, venue, 990)
    assert catalogue_query_count(client) == with_ten
    # Themes, the count, the price bands, the page of sessions with every band's price, parts.
    assert with_ten <= 5


def test_catalogue_lists_only_published_future_sessions(
    client: Any, course: Course, venue: Venue
) -> None:
    shown = make_session(course, venue, starts_at=future(20))
    make_session(course, venue, starts_at=future(21), status=SessionStatus.DRAFT)
    make_session(course, venue, starts_at=future(22), status=SessionStatus.CANCELLED)
    make_session(course, venue, starts_at=future(-2))
    response = client.get(reverse("bookings:catalogue"))
    assert [row["pk"] for row in response.context["rows"]] == [shown.pk]


def test_signed_in_practitioner_sees_the_price_for_their_sector(
    client: Any, course: Course, venue: Venue, practitioner: Any
) -> None:
    make_session(course, venue, starts_at=future(20))
    client.login(username=practitioner.username, password=PASSWORD)
    response = client.get(reverse("bookings:catalogue"))
    body = response.content.decode()
    assert "£65.00" in body  # Schools are a statutory partner
    assert "£95.00" not in body


def test_anonymous_visitor_sees_every_band_price(client: Any, course: Course, venue: Venue) -> None:
    make_session(course, venue, starts_at=future(20))
    body = client.get(reverse("bookings:catalogue")).content.decode()
    for amount in ("£65.00", "£45.00", "£95.00"):
        assert amount in body


def test_session_price_override_wins_over_course_price(
    client: Any, course: Course, venue: Venue, practitioner: Any, bands: Any
) -> None:
    session = make_session(course, venue, starts_at=future(20))
    SessionPrice.objects.create(session=session, band=bands["statutory"], amount=Decimal("12.50"))
    client.login(username=practitioner.username, password=PASSWORD)
    body = client.get(reverse("bookings:session", args=[session.pk])).content.decode()
    assert "£12.50" in body


def test_mapig_sessions_are_free(client: Any, venue: Venue) -> None:
    mapig = Course.objects.create(
        title="MAPIG: Think Family", kind=CourseKind.MAPIG, theme="Think Family"
    )
    session = make_session(mapig, venue, starts_at=future(30))
    body = client.get(reverse("bookings:session", args=[session.pk])).content.decode()
    assert "Free" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "mapig"}, {"mapig"}),
        ({"kind": "course"}, {"course"}),
        ({"area": "yeovil"}, {"yeovil-course"}),
        ({"theme": "Think Family"}, {"mapig"}),
    ],
)
def test_catalogue_filters(
    client: Any, course: Course, venue: Venue, query: dict, expected: set
) -> None:
    yeovil = Venue.objects.create(name="Yeovil Suite", address="Yeovil", area="yeovil")
    mapig = Course.objects.create(
        title="MAPIG: Think Family", kind=CourseKind.MAPIG, theme="Think Family"
    )
    sessions = {
        "course": make_session(course, venue, starts_at=future(20)),
        "mapig": make_session(mapig, venue, starts_at=future(25)),
        "yeovil-course": make_session(course, yeovil, starts_at=future(27)),
    }
    if query.get("kind") == "course":
        expected = {"course", "yeovil-course"}
    response = client.get(reverse("bookings:catalogue"), query)
    shown = {row["pk"] for row in response.context["rows"]}
    assert shown == {sessions[name].pk for name in expected}


def test_month_filter_keeps_only_that_month(client: Any, course: Course, venue: Venue) -> None:
    soon = make_session(course, venue, starts_at=future(5))
    later = make_session(course, venue, starts_at=future(70))
    month = timezone.localtime(later.starts_at).strftime("%Y-%m")
    response = client.get(reverse("bookings:catalogue"), {"month": month})
    shown = {row["pk"] for row in response.context["rows"]}
    assert later.pk in shown and soon.pk not in shown


def test_places_left_counts_confirmed_and_unexpired_holds_only(
    client: Any, course: Course, venue: Venue, school: Any
) -> None:
    session = make_session(course, venue, starts_at=future(20), capacity=3)
    now = timezone.now()
    order = Order.objects.create(agency=school, payment_method=PaymentMethod.CARD)

    def place(email: str, status: str, **extra: Any) -> None:
        Booking.objects.create(
            order=order,
            session=session,
            attendee_name=email,
            attendee_email=email,
            agency=school,
            sector=school.sector,
            price_band=school.sector.price_band,
            payment_method=PaymentMethod.CARD,
            status=status,
            **extra,
        )

    place("a@x.org", BookingStatus.CONFIRMED)
    place("b@x.org", BookingStatus.HELD, hold_expires_at=now + dt.timedelta(minutes=10))
    place("c@x.org", BookingStatus.HELD, hold_expires_at=now - dt.timedelta(minutes=1))
    place("d@x.org", BookingStatus.CANCELLED)
    response = client.get(reverse("bookings:session", args=[session.pk]))
    assert response.context["places_left"] == 1
    assert 'data-testid="places-left">1 of 3<' in response.content.decode()
    full_filter = client.get(reverse("bookings:catalogue"), {"places": "on"})
    assert session.pk in {row["pk"] for row in full_filter.context["rows"]}
    place("e@x.org", BookingStatus.CONFIRMED)
    full_filter = client.get(reverse("bookings:catalogue"), {"places": "on"})
    assert session.pk not in {row["pk"] for row in full_filter.context["rows"]}


def test_draft_session_page_is_not_found_for_the_public(
    client: Any, course: Course, venue: Venue
) -> None:
    session = make_session(course, venue, starts_at=future(20), status=SessionStatus.DRAFT)
    assert client.get(reverse("bookings:session", args=[session.pk])).status_code == 404


def test_bad_filter_values_show_the_page_not_an_error(
    client: Any, course: Course, venue: Venue
) -> None:
    make_session(course, venue, starts_at=future(20))
    response = client.get(reverse("bookings:catalogue"), {"kind": "nonsense", "month": "13-2020"})
    assert response.status_code == 200


def test_a_session_whose_booking_has_closed_says_so_in_the_list(
    client: Any, course: Course, venue: Venue
) -> None:
    # Starts tomorrow: booking closed two working days before.
    make_session(course, venue, starts_at=future(1))
    make_session(course, venue, starts_at=future(30))
    body = client.get(reverse("bookings:catalogue")).content.decode()
    assert body.count("Booking closed") == 1


def test_a_course_without_prices_reads_on_request_and_its_texts_are_escaped(
    client: Any, venue: Venue, practitioner: Any, bands: Any
) -> None:
    unpriced = Course.objects.create(
        title="Neglect <b>toolkit</b>", theme="Neglect & harm", duration_half_days=1
    )
    session = make_session(unpriced, venue, starts_at=future(12))
    anonymous = client.get(reverse("bookings:catalogue")).content.decode()
    assert "Neglect &lt;b&gt;toolkit&lt;/b&gt;" in anonymous
    assert "<b>toolkit</b>" not in anonymous
    assert "&nbsp;Neglect &amp; harm</span>" in anonymous
    assert anonymous.count(">On request</td>") == len(bands)
    assert f'href="{session.get_absolute_url()}"' in anonymous
    client.login(username=practitioner.username, password=PASSWORD)
    signed_in = client.get(reverse("bookings:catalogue")).content.decode()
    assert "Price on request – contact the training team." in signed_in
