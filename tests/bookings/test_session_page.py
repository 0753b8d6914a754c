"""The session page's plain reading (``selectors.session_page``) says what the models' rules
say: the price of each band, places left, the order of parts, trainers and outcomes, and the
moments time alone changes the page, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.models import (
    BookingStatus,
    WaitlistStatus,
)
from bookings.places.selectors import session_page
from tests.bookings.states import entry_in_state, place_in_state
from tests.conftest import make_session
from training.models import (
    Agency,
    Course,
    CourseKind,
    PriceBand,
    SessionPart,
    SessionPrice,
    SessionStatus,
    Trainer,
    Venue,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2030, 5, 1, 9, 0, 0, 500_000))


def hold(session_id: int, agency: Agency, n: int, status: str, expires: dt.datetime) -> None:
    place_in_state(session_id, agency, n, status, hold_expires_at=expires, now=NOW)


def offer(session_id: int, n: int, status: str, expires: dt.datetime) -> None:
    entry_in_state(session_id, n, status, offer_expires_at=expires)


def test_each_band_pays_the_sessions_override_else_the_courses_price_else_on_request(
    course: Course, venue: Venue, bands: dict[str, PriceBand]
) -> None:
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=20))
    SessionPrice.objects.create(session=session, band=bands["voluntary"], amount=Decimal("40"))
    course.prices.filter(band=bands["independent"]).delete()
    page = session_page(session.pk, now=NOW, band_id=None)
    assert page is not None
    ordered = list(PriceBand.objects.order_by("order"))
    assert [name for name, _ in page.prices] == [band.name for band in ordered]
    expected = {band.name: session.price_for_band(band.pk) for band in ordered}
    assert dict(page.prices) == expected
    assert expected[bands["voluntary"].name] == Decimal("40")
    assert expected[bands["independent"].name] is None
    only = session_page(session.pk, now=NOW, band_id=bands["voluntary"].pk)
    assert only is not None and only.prices == [(bands["voluntary"].name, Decimal("40.00"))]


def test_a_free_course_reads_no_prices_and_a_missing_session_is_none(
    course: Course, venue: Venue
) -> None:
    course.kind = CourseKind.MAPIG
    course.save()
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=20))
    page = session_page(session.pk, now=NOW, band_id=None)
    assert page is not None and page.is_free and page.prices == []
    assert session_page(session.pk + 1000, now=NOW, band_id=None) is None
    assert session_page(2**63, now=NOW, band_id=None) is None


def test_a_session_number_no_database_can_hold_is_not_found(client: Client) -> None:
    for pk in (2**63, 10**30):
        assert client.get(reverse("bookings:session", args=[pk])).status_code == 404


def test_places_left_and_the_next_changes_are_this_sessions_own(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=20), capacity=10)
    other = make_session(course, venue, starts_at=NOW + dt.timedelta(days=3))
    minute = dt.timedelta(minutes=1)
    hold(session.pk, school, 1, BookingStatus.HELD, NOW + 30 * minute)
    hold(session.pk, school, 2, BookingStatus.AWAITING_APPROVAL, NOW + 20 * minute)
    hold(session.pk, school, 3, BookingStatus.HELD, NOW - minute)  # lapsed
    hold(session.pk, school, 4, BookingStatus.CONFIRMED, NOW + 5 * minute)  # not a hold
    hold(other.pk, school, 5, BookingStatus.HELD, NOW + minute)  # another session's
    offer(session.pk, 1, WaitlistStatus.OFFERED, NOW + 40 * minute)
    offer(session.pk, 2, WaitlistStatus.OFFERED, NOW - minute)  # lapsed
    offer(session.pk, 3, WaitlistStatus.WAITING, NOW + 2 * minute)  # not an offer
    offer(other.pk, 4, WaitlistStatus.OFFERED, NOW + minute)
    page = session_page(session.pk, now=NOW, band_id=None)
    assert page is not None
    assert page.places_left == 10 - places_taken(session.pk, NOW) == 10 - 4
    assert page.next_changes == [NOW + 20 * minute, NOW + 40 * minute, session.starts_at]
    # A draft, or a session that has started, starts no change of the page.
    session.status = SessionStatus.DRAFT
    session.save()
    draft = session_page(session.pk, now=NOW, band_id=None)
    assert draft is not None and draft.next_changes[2] is None
    assert other.starts_at is not None
    started = session_page(other.pk, now=other.starts_at + minute, band_id=None)
    assert started is not None and started.next_changes == [None, None, None]


def test_parts_come_earliest_first_trainers_by_name_and_outcomes_in_their_order(
    course: Course, venue: Venue
) -> None:
    first = NOW + dt.timedelta(days=20)
    session = make_session(course, venue, starts_at=first + dt.timedelta(days=7))
    SessionPart.objects.create(
        session=session, starts_at=first, ends_at=first + dt.timedelta(hours=3)
    )
    session.trainers.add(*(Trainer.objects.create(name=name) for name in ("Zoe", "Amir", "Mo")))
    course.outcomes.create(text="Last", order=9)
    course.outcomes.create(text="Before the first", order=0)  # the same order: by pk
    page = session_page(session.pk, now=NOW, band_id=None)
    assert page is not None
    assert page.parts == [
        (part.starts_at, part.ends_at) for part in session.parts.order_by("starts_at")
    ]
    assert page.parts[0][0] == first and all(
        timezone.is_aware(moment) for part in page.parts for moment in part
    )
    assert page.trainers == list(session.trainers.values_list("name", flat=True))
    assert page.trainers == ["Amir", "Mo", "Zoe"]
    assert page.outcomes == list(course.outcomes.values_list("text", flat=True))
    assert page.outcomes == ["Recognise the signs of abuse and neglect", "Before the first", "Last"]
