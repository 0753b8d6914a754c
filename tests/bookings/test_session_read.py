"""The session a booking is confirmed on, read in one plain statement, is what the booking
form's queryset reads: every field of the session and its course, the band's price (the
session's own, the course's, or none) and the facts the apps want, with no further query."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.events import booking_session_facts
from bookings.places.pricing import list_price, with_band_price
from bookings.places.session_read import session_to_confirm, sessions_to_book
from evaluation.models import PreCourseQuestionnaire
from evaluation.surveys.services import ASKS_PRE_COURSE
from tests.conftest import PASSWORD, make_session
from training.models import Course, CourseKind, PriceBand, Session, SessionPrice, Venue

pytestmark = pytest.mark.django_db

STARTS = timezone.make_aware(dt.datetime(2031, 3, 4, 9, 30))


def orm_read(pk: int, band: PriceBand) -> Session:
    """The session as the booking form's other steps read it, and as the ORM builds it."""
    sessions = sessions_to_book(band, pages=False)
    assert with_band_price(Session.objects.all(), band).query.annotations.keys() <= (
        sessions.query.annotations.keys()
    ), "the band's price is read with it"
    assert set(booking_session_facts) <= sessions.query.annotations.keys()
    return sessions.get(pk=pk)


def assert_reads_as_the_orm(pk: int, band: PriceBand) -> Session:
    orm: Any = orm_read(pk, band)
    with CaptureQueriesContext(connection) as queries:
        plain: Any = session_to_confirm(pk, band)
    assert len(queries) == 1, [query["sql"] for query in queries]
    with CaptureQueriesContext(connection) as more:
        for field in Session._meta.concrete_fields:
            assert getattr(plain, field.attname) == getattr(orm, field.attname), field.name
        for field in Course._meta.concrete_fields:
            assert getattr(plain.course, field.attname) == getattr(orm.course, field.attname)
        assert plain.starts_at is None or timezone.is_aware(plain.starts_at)
        assert (plain.priced_band_id, plain.band_price) == (orm.priced_band_id, orm.band_price)
        assert list_price(plain, band.pk) == list_price(orm, band.pk)
        for name in booking_session_facts:
            assert getattr(plain, name) == getattr(orm, name), name
        assert not plain._state.adding and plain._state.db == orm._state.db
    assert len(more) == 0, [query["sql"] for query in more]
    return plain


def test_the_courses_price_and_no_questionnaire(
    course: Course, venue: Venue, bands: dict[str, PriceBand]
) -> None:
    session = make_session(course, venue, starts_at=STARTS)
    plain = assert_reads_as_the_orm(session.pk, bands["statutory"])
    assert list_price(plain, bands["statutory"].pk) == Decimal("65.00")
    assert getattr(plain, ASKS_PRE_COURSE) is False


def test_the_sessions_own_price_and_a_questionnaire(
    course: Course, venue: Venue, bands: dict[str, PriceBand]
) -> None:
    session = make_session(course, venue, starts_at=STARTS)
    SessionPrice.objects.create(session=session, band=bands["voluntary"], amount=Decimal("40.10"))
    PreCourseQuestionnaire.objects.create(course=course)
    plain = assert_reads_as_the_orm(session.pk, bands["voluntary"])
    assert list_price(plain, bands["voluntary"].pk) == Decimal("40.10")
    assert getattr(plain, ASKS_PRE_COURSE) is True


def test_a_band_without_a_price_and_a_free_course(
    course: Course, venue: Venue, bands: dict[str, PriceBand]
) -> None:
    session = make_session(course, venue, starts_at=STARTS)
    course.prices.filter(band=bands["independent"]).delete()
    plain = assert_reads_as_the_orm(session.pk, bands["independent"])
    assert plain.band_price is None  # type: ignore[attr-defined]
    course.kind = CourseKind.MAPIG  # free practitioner sessions
    course.save()
    assert list_price(assert_reads_as_the_orm(session.pk, bands["independent"]), 0) == 0


def test_no_such_session(bands: dict[str, PriceBand]) -> None:
    assert session_to_confirm(999_999, bands["statutory"]) is None
    with CaptureQueriesContext(connection) as queries:
        assert session_to_confirm(2**70, bands["statutory"]) is None
    assert len(queries) == 0  # no database would take that id


def test_confirming_a_place_on_no_such_session_is_a_404(agency_booker: Any) -> None:
    client = Client()
    assert client.login(username=agency_booker.username, password=PASSWORD)
    for pk in (999_999, 2**63):
        response = client.post(
            reverse("bookings:book", args=[pk]), {"action": "confirm", "payment_method": "invoice"}
        )
        assert response.status_code == 404
