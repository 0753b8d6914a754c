"""The band's price read with the session is the price the session's own rule gives."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from bookings.places.pricing import list_price, with_band_price
from tests.conftest import make_session
from training.models import (
    Course,
    CourseKind,
    CoursePrice,
    PriceBand,
    Session,
    SessionPrice,
    Venue,
)

pytestmark = pytest.mark.django_db

STARTS = timezone.make_aware(dt.datetime(2030, 6, 10, 10))


def _read(session: Session, band: PriceBand) -> Session:
    return with_band_price(Session.objects.select_related("course"), band).get(pk=session.pk)


def test_the_band_price_read_with_the_session_matches_price_for_band(
    course: Course, venue: Venue, bands: dict[str, PriceBand], django_assert_num_queries: Any
) -> None:
    session = make_session(course, venue, starts_at=STARTS)
    SessionPrice.objects.create(session=session, band=bands["voluntary"], amount=Decimal("40.10"))
    CoursePrice.objects.filter(course=course, band=bands["independent"]).delete()
    other = make_session(course, venue, starts_at=STARTS)  # no override of its own
    expected = {
        "statutory": Decimal("65.00"),  # the course's price
        "voluntary": Decimal("40.10"),  # the session's override wins
        "independent": None,  # no price for the band at all
    }
    for slug, price in expected.items():
        band = bands[slug]
        with django_assert_num_queries(1):
            read = _read(session, band)
            read_price = list_price(read, band.pk)
        assert read_price == price == session.price_for_band(band.pk)
        assert str(read_price) == str(session.price_for_band(band.pk))  # pence, as stored
    voluntary = bands["voluntary"]
    assert list_price(_read(other, voluntary), voluntary.pk) == Decimal("45.00")


def test_a_free_course_is_free_whatever_price_is_set(
    course: Course, venue: Venue, bands: dict[str, PriceBand]
) -> None:
    course.kind = CourseKind.MAPIG
    course.save()
    session = make_session(course, venue, starts_at=STARTS)
    band = bands["statutory"]
    assert list_price(_read(session, band), band.pk) == Decimal("0.00")


def test_another_band_than_the_one_read_falls_back_to_the_session_rule(
    course: Course, venue: Venue, bands: dict[str, PriceBand]
) -> None:
    session = make_session(course, venue, starts_at=STARTS)
    read = _read(session, bands["statutory"])
    assert list_price(read, bands["voluntary"].pk) == Decimal("45.00")
