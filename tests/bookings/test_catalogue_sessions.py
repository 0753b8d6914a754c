"""The catalogue's plain statements (``listing.CatalogueSessions``) say what the models' rules
say: places left by the capacity rule, the filters (a month in the current time zone), the
order and windows of the pages, each band's price and the next changes, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bookings.capacity import places_taken
from bookings.models import (
    BookingStatus,
    WaitlistStatus,
)
from bookings.places.listing import CatalogueSessions
from bookings.places.pagecache import NEXT_CHANGE_FIELDS, next_change_annotations
from bookings.places.selectors import band_price_name
from tests.bookings.states import entry_in_state, place_in_state
from tests.conftest import make_session
from training.models import (
    Agency,
    Course,
    CourseKind,
    PriceBand,
    Session,
    SessionPrice,
    SessionStatus,
    Venue,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2030, 5, 1, 9, 0, 0, 500_000, tzinfo=LONDON)
SECOND = dt.timedelta(seconds=1)


def place(session: Session, agency: Agency, n: int, status: str, hold: dt.timedelta | None) -> None:
    expires = NOW + hold if hold is not None else None
    place_in_state(session.pk, agency, n, status, hold_expires_at=expires, now=NOW)


def offer(session: Session, n: int, status: str, expires: dt.timedelta | None) -> None:
    offer_at = NOW + expires if expires is not None else None
    entry_in_state(session.pk, n, status, offer_expires_at=offer_at)


def listed(now: dt.datetime = NOW, **filters: Any) -> list[int]:
    return [row["pk"] for row in CatalogueSessions(now=now, **filters)]


def test_places_left_follow_the_capacity_rule_at_every_moment(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=40), capacity=6)
    other = make_session(course, venue, starts_at=NOW + dt.timedelta(days=41), capacity=1)
    for n, (status, hold) in enumerate(
        [
            (BookingStatus.CONFIRMED, None),
            (BookingStatus.RESERVED, None),
            (BookingStatus.HELD, SECOND),
            (BookingStatus.HELD, dt.timedelta(0)),  # running out at NOW exactly
            (BookingStatus.AWAITING_APPROVAL, SECOND),
            (BookingStatus.AWAITING_APPROVAL, -SECOND),
            (BookingStatus.CANCELLED, None),
            (BookingStatus.DECLINED, SECOND),
        ]
    ):
        place(session, school, n, status, hold)
    offer(session, 1, WaitlistStatus.OFFERED, dt.timedelta(hours=48))
    offer(session, 2, WaitlistStatus.OFFERED, dt.timedelta(0))
    offer(session, 3, WaitlistStatus.WAITING, None)
    place(other, school, 99, BookingStatus.CONFIRMED, None)
    for now in (NOW - dt.timedelta(hours=1), NOW - SECOND, NOW, NOW + SECOND):
        rows = {row["pk"]: row for row in CatalogueSessions(now=now)}
        for each in (session, other):
            assert rows[each.pk]["places_left_count"] == each.capacity - places_taken(each.pk, now)
        with_places = listed(now, with_places_only=True)
        assert with_places == [
            pk for pk in (session.pk, other.pk) if rows[pk]["places_left_count"] > 0
        ]
    # Worked by hand for NOW: confirmed, reserved, the hold and the approval a second from
    # running out, the 48-hour offer: one place of six left; the other session is full.
    assert listed(with_places_only=True) == [session.pk]


def test_a_month_is_the_current_time_zones_and_the_filters_combine(
    course: Course, venue: Venue
) -> None:
    # 00:30 on 1 June in London is 23:30 on 31 May in UTC: a June session.
    june = make_session(course, venue, starts_at=dt.datetime(2030, 6, 1, 0, 30, tzinfo=LONDON))
    may = make_session(course, venue, starts_at=dt.datetime(2030, 5, 31, 23, 30, tzinfo=LONDON))
    mapig = Course.objects.create(
        title="Multi-agency group", kind=CourseKind.MAPIG, theme="Think Family"
    )
    elsewhere = Venue.objects.create(name="Yeovil Hub", address="Yeovil", area="yeovil")
    other = make_session(mapig, elsewhere, starts_at=dt.datetime(2030, 6, 10, 9, tzinfo=LONDON))
    make_session(course, venue, starts_at=NOW - dt.timedelta(days=1))  # started
    make_session(course, venue, starts_at=NOW + dt.timedelta(days=5), status=SessionStatus.DRAFT)
    assert listed() == [may.pk, june.pk, other.pk]
    assert listed(month=dt.date(2030, 6, 1)) == [june.pk, other.pk]
    assert listed(month=dt.date(2030, 5, 1)) == [may.pk]
    assert listed(kind=CourseKind.MAPIG) == [other.pk]
    assert listed(theme="Think Family", area="yeovil") == [other.pk]
    assert listed(theme="Think Family", area=venue.area) == []
    orm = Session.objects.filter(
        status=SessionStatus.PUBLISHED,
        starts_at__gt=NOW,
        starts_at__year=2030,
        starts_at__month=6,
    )
    assert listed(month=dt.date(2030, 6, 1)) == list(
        orm.order_by("starts_at", "pk").values_list("pk", flat=True)
    )


def test_pages_are_windows_of_one_order_and_count_the_whole_list(
    course: Course, venue: Venue
) -> None:
    starts = NOW + dt.timedelta(days=10)
    sessions = [make_session(course, venue, starts_at=starts) for _ in range(3)]
    sessions.append(make_session(course, venue, starts_at=starts - dt.timedelta(days=1)))
    order = [sessions[3].pk, *(each.pk for each in sessions[:3])]
    listing = CatalogueSessions(now=NOW)
    assert listing.count() == len(listing) == 4
    assert [row["pk"] for row in listing[0:2]] == order[:2]
    assert [row["pk"] for row in listing[2:25]] == order[2:]
    assert listing[1]["pk"] == order[1] and listing[4:6] == []
    with pytest.raises(IndexError):
        listing[4]


def test_each_band_has_its_price_and_every_row_the_catalogues_next_changes(
    course: Course, venue: Venue, school: Agency, bands: dict[str, PriceBand]
) -> None:
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=3))
    later = make_session(course, venue, starts_at=NOW + dt.timedelta(days=9))
    SessionPrice.objects.create(session=later, band=bands["voluntary"], amount=Decimal("12.50"))
    course.prices.filter(band=bands["independent"]).delete()
    place(later, school, 1, BookingStatus.HELD, dt.timedelta(minutes=7))
    place(session, school, 2, BookingStatus.HELD, -SECOND)
    offer(later, 3, WaitlistStatus.OFFERED, dt.timedelta(hours=2))
    band_ids = [band.pk for band in bands.values()]
    rows = list(CatalogueSessions(now=NOW, band_ids=band_ids))
    orm = (
        Session.objects.filter(pk__in=[session.pk, later.pk])
        .annotate(**next_change_annotations(NOW))
        .order_by("starts_at")
    )
    for row, expected in zip(rows, orm, strict=True):
        assert row["pk"] == expected.pk
        for band_id in band_ids:
            assert row[band_price_name(band_id)] == expected.price_for_band(band_id)
        assert [row[name] for name in NEXT_CHANGE_FIELDS] == [
            getattr(expected, name) for name in NEXT_CHANGE_FIELDS
        ]
        assert timezone.is_aware(row["starts_at"]) and row["starts_at"] == expected.starts_at
    assert rows[1][band_price_name(bands["voluntary"].pk)] == Decimal("12.50")
    assert rows[0][band_price_name(bands["independent"].pk)] is None
    assert [rows[0][name] for name in NEXT_CHANGE_FIELDS] == [
        NOW + dt.timedelta(minutes=7),
        NOW + dt.timedelta(hours=2),
        session.starts_at,
    ]
