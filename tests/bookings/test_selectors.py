"""The capacity count the booking lock relies on, written out in SQL, says exactly what the
ORM rule says (``places_taken_q`` and ``open_offers_q``), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from bookings.capacity import (
    places_and_people,
    places_and_places_of,
    places_taken,
    places_taken_expression,
)
from bookings.models import (
    BookingStatus,
    WaitingListEntry,
    WaitlistStatus,
)
from bookings.rows import Rider, riders_take
from tests.bookings.states import entry_in_state, place_in_state
from tests.conftest import make_person, make_session
from training.models import Agency, Course, Session, Venue

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2030, 5, 1, 9, 0, 0, 500_000))
SECOND = dt.timedelta(seconds=1)


def by_the_orm(session: Session, now: dt.datetime, except_offer_id: int | None = None) -> int:
    return (
        Session.objects.filter(pk=session.pk)
        .annotate(taken=places_taken_expression(now, except_offer_id=except_offer_id))
        .values_list("taken", flat=True)
        .get()
    )


def place(session: Session, agency: Agency, n: int, status: str, hold: dt.timedelta | None) -> None:
    expires = NOW + hold if hold is not None else None
    place_in_state(session.pk, agency, n, status, hold_expires_at=expires, now=NOW)


def offer(session: Session, n: int, status: str, expires: dt.timedelta | None) -> WaitingListEntry:
    offer_at = NOW + expires if expires is not None else None
    return entry_in_state(session.pk, n, status, offer_expires_at=offer_at)


def test_the_sql_count_agrees_with_the_orm_rule_in_every_state(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=40), capacity=50)
    other = make_session(course, venue, starts_at=NOW + dt.timedelta(days=41), capacity=50)
    places: list[tuple[str, dt.timedelta | None]] = [
        (BookingStatus.CONFIRMED, None),
        (BookingStatus.CONFIRMED, None),
        (BookingStatus.HELD, SECOND),  # a hold running out a second after NOW
        (BookingStatus.HELD, -SECOND),  # a hold that ran out a second before
        (BookingStatus.HELD, dt.timedelta(0)),  # running out at NOW exactly
        (BookingStatus.AWAITING_APPROVAL, SECOND),  # awaiting approval, still held
        (BookingStatus.AWAITING_APPROVAL, -SECOND),  # the manager did not answer in time
        (BookingStatus.AWAITING_APPROVAL, dt.timedelta(0)),
        (BookingStatus.CANCELLED, None),
        (BookingStatus.EXPIRED, -SECOND),
        (BookingStatus.DECLINED, SECOND),  # declined: no place, whatever its old hold said
    ]
    for n, (status, hold) in enumerate(places):
        place(session, school, n, status, hold)
    place(other, school, 99, BookingStatus.CONFIRMED, None)  # another session's place
    offers: list[tuple[str, dt.timedelta | None]] = [
        (WaitlistStatus.OFFERED, dt.timedelta(hours=48)),
        (WaitlistStatus.OFFERED, -SECOND),
        (WaitlistStatus.OFFERED, dt.timedelta(0)),
        (WaitlistStatus.WAITING, None),
        (WaitlistStatus.CLAIMED, dt.timedelta(hours=1)),
        (WaitlistStatus.LAPSED, -SECOND),
    ]
    entries: list[Any] = [
        offer(session, n, status, expires) for n, (status, expires) in enumerate(offers)
    ]

    moments = [
        NOW - dt.timedelta(hours=1),
        NOW - SECOND,
        NOW,
        NOW + SECOND,
        NOW + dt.timedelta(days=3),
    ]
    for now in moments:
        for except_offer_id in (None, entries[0].pk, entries[3].pk):
            expected = by_the_orm(session, now, except_offer_id)
            assert places_taken(session.pk, now, except_offer_id=except_offer_id) == expected, (
                now,
                except_offer_id,
            )
    # Worked by hand for NOW: two confirmed, the hold and the approval running out a second
    # later, the open 48-hour offer.
    assert places_taken(session.pk, NOW) == 5
    assert places_taken(session.pk, NOW, except_offer_id=entries[0].pk) == 4
    assert places_taken(other.pk, NOW) == 1
    assert places_taken(session.pk + other.pk + 1000, NOW) == 0


def test_the_count_under_the_lock_also_finds_the_attendees_own_places_in_one_statement(
    course: Course, venue: Venue, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=40), capacity=50)
    statuses = [
        BookingStatus.CONFIRMED,  # person0
        BookingStatus.HELD,  # person1: a hold that ran out still counts as theirs
        BookingStatus.CANCELLED,  # person2: no place
        BookingStatus.AWAITING_APPROVAL,  # person3
    ]
    for n, status in enumerate(statuses):
        place(session, school, n, status, -SECOND if status != BookingStatus.CONFIRMED else None)
    emails = [f"person{n}@example.org" for n in range(5)]
    assert places_and_places_of(session.pk, NOW, emails=emails) == (1, 3)
    assert places_and_places_of(session.pk, NOW, emails=["person2@example.org"]) == (1, 0)
    assert places_and_places_of(session.pk, NOW, emails=[]) == (1, 0)


def test_the_count_under_the_lock_also_brings_the_attendees_accounts(
    course: Course, venue: Venue, school: Agency, django_assert_num_queries: Any
) -> None:
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=40), capacity=50)
    place(session, school, 0, BookingStatus.CONFIRMED, None)
    colleague = make_person("colleague@example.org", agency=school)
    make_person("Someone.Else@example.org", agency=school)
    emails = ["person0@example.org", "colleague@example.org", "someone.else@example.org"]
    with django_assert_num_queries(1):
        counted = places_and_people(session.pk, NOW, emails=emails)
    # An account's email is matched exactly, as the booking has always matched it.
    assert (counted.taken, counted.of_these, counted.accounts) == (
        1,
        1,
        {"colleague@example.org": colleague.pk},
    )
    assert places_and_people(session.pk, NOW, emails=emails, accounts=False).accounts == {}
    assert places_and_people(session.pk, NOW, emails=[]).accounts == {}


def test_riders_go_along_in_the_count_and_the_accounts_still_come(
    course: Course, venue: Venue, school: Agency, django_assert_num_queries: Any
) -> None:
    """The count carries other work's columns (and, on PostgreSQL, a write in its WITH): each
    rider gets its own values, and the accounts' rows are read past them."""
    session = make_session(course, venue, starts_at=NOW + dt.timedelta(days=40), capacity=50)
    place(session, school, 0, BookingStatus.CONFIRMED, None)
    colleague = make_person("colleague@example.org", agency=school)
    one, two = Rider(columns=("%s + 1",), params=(41,)), Rider(columns=("%s", "%s"), params=(7, 8))
    riders = [one, two]
    if connection.vendor == "postgresql":
        riders.append(
            Rider(
                with_part="written AS (SELECT %s AS n)",  # a part of the WITH, with a parameter
                with_params=(5,),
                columns=("(SELECT n FROM written)",),
            )
        )
    emails = ["person0@example.org", "colleague@example.org"]
    with django_assert_num_queries(1):
        counted = places_and_people(session.pk, NOW, emails=emails, riders=riders)
    assert (counted.taken, counted.of_these, counted.accounts) == (
        1,
        1,
        {"colleague@example.org": colleague.pk},
    )
    assert (one.values, two.values) == ((42,), (7, 8))
    if connection.vendor == "postgresql":
        assert riders[2].values == (5,)
    alone = Rider(columns=("%s",), params=(3,))
    assert places_and_people(session.pk, NOW, emails=[], riders=[alone]).taken == 1
    assert alone.values == (3,)


def test_riders_are_given_exactly_their_columns() -> None:
    with pytest.raises(ValueError):
        riders_take([Rider(columns=("1",))], [1, 2])
