"""Many people press "book" at the same moment: capacity and allowances still hold.

Each booker is a thread with its own database connection against the real test database
(SQLite file in WAL mode with IMMEDIATE transactions, or PostgreSQL), released at a barrier so
the bookings really race. Every thread's outcome is recorded: an unexpected exception fails
the test just as a wrong count does.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.errors import BookingError, SessionFull
from bookings.locking import lock_rows, session_lock_for_booking
from bookings.models import (
    Booking,
    BookingStatus,
    Invoice,
    Order,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    WaitingListEntry,
)
from bookings.money.payments import holds_release_expired, payment_start, payment_succeeded
from bookings.places.booking import AttendeeSpec, booking_create
from bookings.places.pricing import subsidised_places_left
from bookings.places.sessions import session_cancel
from tests.conftest import make_session
from training.counters import counter_increment, counter_value
from training.models import Agency, Course, Session, Venue

# serialized_rollback: the sectors, bands and roles come from a data migration and must survive
# the flush that ends each transactional test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BOOKERS = 30
FULL_MESSAGE = "This session is full. You can join the waiting list instead."
THREAD_TIMEOUT = 120  # seconds; SQLite waits up to 30 s for its write lock


def at_once(count: int, work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run ``work(i)`` in ``count`` threads released together; ("ok", value) or ("error", exc)."""
    barrier = threading.Barrier(count)
    outcomes: list[tuple[str, Any]] = [("missing", None)] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            outcomes[index] = ("ok", work(index))
        except BaseException as error:  # noqa: B036 - every outcome must be seen by the test
            outcomes[index] = ("error", error)
        finally:
            # Each thread opened its own connection; leave none behind for the flush.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"booker-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a booker never finished"
    return outcomes


def errors(outcomes: list[tuple[str, Any]]) -> list[BaseException]:
    return [value for kind, value in outcomes if kind == "error"]


def successes(outcomes: list[tuple[str, Any]]) -> list[Any]:
    return [value for kind, value in outcomes if kind == "ok"]


def book_one(
    *, session_id: int, agency_id: int, email: str, method: str, now: dt.datetime
) -> Order:
    """One booker's request, with fresh rows read on the thread's own connection."""
    return booking_create(
        session=Session.objects.get(pk=session_id),
        attendees=[AttendeeSpec(name=email.split("@")[0].title(), email=email)],
        agency=Agency.objects.select_related("sector__price_band").get(pk=agency_id),
        booked_by=None,
        payment_method=method,
        now=now,
    )


@pytest.mark.parametrize(
    ("method", "status"),
    [(PaymentMethod.INVOICE, BookingStatus.CONFIRMED), (PaymentMethod.CARD, BookingStatus.HELD)],
)
def test_thirty_bookers_for_ten_places_get_exactly_ten(
    course: Course, venue: Venue, school: Agency, method: str, status: str
) -> None:
    now = timezone.now()
    session = make_session(course, venue, starts_at=now + dt.timedelta(days=30), capacity=10)

    outcomes = at_once(
        BOOKERS,
        lambda i: book_one(
            session_id=session.pk,
            agency_id=school.pk,
            email=f"booker{i}@example.org",
            method=method,
            now=now,
        ),
    )

    refused = errors(outcomes)
    unexpected = [e for e in refused if not isinstance(e, SessionFull)]
    assert unexpected == [], f"unexpected errors: {unexpected!r}"
    assert len(successes(outcomes)) == 10
    assert len(refused) == BOOKERS - 10
    assert {str(e) for e in refused} == {FULL_MESSAGE}
    bookings = Booking.objects.filter(session=session)
    assert bookings.count() == 10
    assert set(bookings.values_list("status", flat=True)) == {status}
    assert Booking.objects.holding_capacity(now).filter(session=session).count() == 10
    if method == PaymentMethod.INVOICE:
        # The invoice numbers taken under the race are still gapless.
        numbers = sorted(Invoice.objects.values_list("number", flat=True))
        assert numbers == [f"INV-{n:06d}" for n in range(1, 11)]


def test_the_last_three_subsidised_places_go_to_exactly_three_bookers(
    course: Course, venue: Venue, school: Agency
) -> None:
    now = timezone.now()
    # Autumn of next year: every session in the same financial year, all still bookable.
    first_day = timezone.make_aware(dt.datetime(now.year + 1, 10, 1, 10))
    sessions = [
        make_session(course, venue, starts_at=first_day + dt.timedelta(days=i), capacity=20)
        for i in range(BOOKERS + 1)
    ]
    school.subsidised_places_per_year = 5
    school.save()
    # Two places of the allowance are already used.
    for n in range(2):
        book_one(
            session_id=sessions[-1].pk,
            agency_id=school.pk,
            email=f"earlier{n}@example.org",
            method=PaymentMethod.SUBSIDISED,
            now=now,
        )
    assert subsidised_places_left(school, first_day.date()) == 3

    outcomes = at_once(
        BOOKERS,
        lambda i: book_one(
            session_id=sessions[i].pk,
            agency_id=school.pk,
            email=f"booker{i}@example.org",
            method=PaymentMethod.SUBSIDISED,
            now=now,
        ),
    )

    refused = errors(outcomes)
    unexpected = [
        e
        for e in refused
        if type(e) is not BookingError or "subsidised places left this financial year" not in str(e)
    ]
    assert unexpected == [], f"unexpected errors: {unexpected!r}"
    assert len(successes(outcomes)) == 3
    assert {str(e) for e in refused} == {
        "Blackdown Primary School has 0 subsidised places left this financial year. "
        "Pay by card or invoice for the others."
    }
    subsidised = Booking.objects.filter(payment_method=PaymentMethod.SUBSIDISED)
    assert subsidised.count() == 5
    assert sum(b.in_kind_value for b in subsidised) == Decimal("325.00")
    assert subsidised_places_left(school, first_day.date()) == 0


def test_many_requests_for_the_same_attendee_make_one_booking(
    course: Course, venue: Venue, school: Agency
) -> None:
    now = timezone.now()
    session = make_session(course, venue, starts_at=now + dt.timedelta(days=30), capacity=10)

    outcomes = at_once(
        BOOKERS,
        lambda i: book_one(
            session_id=session.pk,
            agency_id=school.pk,
            email="same.person@example.org",
            method=PaymentMethod.INVOICE,
            now=now,
        ),
    )

    refused = errors(outcomes)
    unexpected = [
        e
        for e in refused
        if type(e) is not BookingError
        or not (
            str(e).startswith("Already booked on this session")
            or str(e).startswith("One of these people already has a place")
        )
    ]
    assert unexpected == [], f"unexpected errors: {unexpected!r}"
    assert len(successes(outcomes)) == 1
    assert Booking.objects.filter(session=session).count() == 1
    assert Invoice.objects.count() == 1


def test_invoice_bookings_racing_on_several_sessions_number_their_invoices_without_a_gap(
    course: Course, venue: Venue, school: Agency
) -> None:
    """Every invoiced booking, whatever its session, takes the one number sequence's row after
    its session's lock (with the count, on PostgreSQL): bookers of four sessions at once all
    finish, no deadlock, and the refused give their numbers back."""
    now = timezone.now()
    sessions = [
        make_session(course, venue, starts_at=now + dt.timedelta(days=30 + n), capacity=3)
        for n in range(4)
    ]
    outcomes = at_once(
        20,
        lambda i: book_one(
            session_id=sessions[i % 4].pk,
            agency_id=school.pk,
            email=f"booker{i}@example.org",
            method=PaymentMethod.INVOICE,
            now=now,
        ),
    )
    unexpected = [e for e in errors(outcomes) if not isinstance(e, SessionFull)]
    assert unexpected == [], f"unexpected errors: {unexpected!r}"
    assert len(successes(outcomes)) == 12
    for session in sessions:
        assert Booking.objects.filter(session=session).count() == 3
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-{n:06d}" for n in range(1, 13)]


def test_another_session_of_the_same_course_can_be_booked_while_one_booking_is_in_progress(
    course: Course, venue: Venue, school: Agency
) -> None:
    """PostgreSQL: the booking lock takes the session's row only, not its course's (FOR UPDATE
    OF), so the other session's booking does not wait at all: a 5 s lock_timeout would fail it.
    SQLite locks the whole file for one writer at a time: the other booking waits for the lock
    (up to the 30 s busy timeout) and then goes through, rather than failing."""
    postgresql = connections["default"].vendor == "postgresql"
    now = timezone.now()
    busy = make_session(course, venue, starts_at=now + dt.timedelta(days=30), capacity=10)
    other = make_session(course, venue, starts_at=now + dt.timedelta(days=31), capacity=10)
    locked, release = threading.Event(), threading.Event()

    def hold_the_busy_session() -> None:
        try:
            with transaction.atomic():
                session_lock_for_booking(busy.pk)
                locked.set()
                release.wait(timeout=THREAD_TIMEOUT)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_busy_session)
    holder.start()
    try:
        assert locked.wait(timeout=THREAD_TIMEOUT)
        if postgresql:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")  # waiting on the course fails here
        else:
            threading.Timer(1.0, release.set).start()  # the writer ahead finishes in a second
        order = book_one(
            session_id=other.pk,
            agency_id=school.pk,
            email="ann@example.org",
            method=PaymentMethod.INVOICE,
            now=now,
        )
        assert order.bookings.get().status == BookingStatus.CONFIRMED
        assert release.is_set() != postgresql, "PostgreSQL did not wait; SQLite did"
    finally:
        release.set()
        holder.join(timeout=THREAD_TIMEOUT)
        if postgresql:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")


RACE_ROUNDS = 6
RACE_PLACES = 3


def test_late_webhooks_racing_the_tick_and_a_session_cancellation_never_lose_money(
    course: Course, venue: Venue, school: Agency
) -> None:
    """Late "paid" webhooks for expired holds arrive while the tick releases those holds and
    the unit cancels the session, all at the same moment. No deadlock (or any error) escapes,
    and every paid place ends refunded: the session is cancelled, so none may stay confirmed,
    and none may be left paid with no place and no refund.

    PostgreSQL runs the operations truly side by side on row locks, which is where the lock
    order and the conditional status changes are tested; SQLite takes the database's write
    lock at BEGIN, so the same operations serialise and the test checks that they still end
    consistent whichever goes first."""
    now = timezone.now()
    booked_at = now - dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES + 1)
    for round_number in range(RACE_ROUNDS):
        session = make_session(
            course, venue, starts_at=now + dt.timedelta(days=30), capacity=RACE_PLACES
        )
        payments = []
        for place in range(RACE_PLACES):
            order = book_one(
                session_id=session.pk,
                agency_id=school.pk,
                email=f"round{round_number}.place{place}@example.org",
                method=PaymentMethod.CARD,
                now=booked_at,
            )
            payments.append(
                payment_start(order=order, success_url="/", cancel_url="/", now=booked_at)
            )
        work: list[Callable[[], Any]] = [
            lambda: holds_release_expired(now=now),
            lambda session_id=session.pk: session_cancel(
                session=Session.objects.get(pk=session_id),
                actor=None,
                now=now,
                reason="Trainer unwell",
            ),
        ] + [
            lambda payment_id=payment.pk: payment_succeeded(
                payment=Payment.objects.get(pk=payment_id),
                payment_intent_id=f"pi_{payment_id}",
                now=now,
            )
            for payment in payments
        ]

        outcomes = at_once(len(work), lambda i, work=work: work[i]())

        assert errors(outcomes) == [], f"round {round_number}"
        assert set(
            Payment.objects.filter(order__bookings__session=session).values_list(
                "status", flat=True
            )
        ) == {PaymentStatus.SUCCEEDED}
        for booking in Booking.objects.filter(session=session):
            refunded = list(Refund.objects.filter(booking=booking).values_list("amount", flat=True))
            assert (booking.status, refunded) in (
                (BookingStatus.EXPIRED, [booking.price]),
                (BookingStatus.CANCELLED, [booking.price]),
            ), f"round {round_number}: {booking.attendee_email} paid, {booking.status}, {refunded}"


def test_rows_are_locked_only_inside_a_transaction_and_in_the_one_global_order(
    course: Course, venue: Venue, school: Agency, practitioner: Any
) -> None:
    """Outside a transaction a lock would end with its statement, so the helper refuses. Inside
    one it takes payments, then sessions, then agencies, then waiting-list offers, each by id."""
    now = timezone.now()
    sessions = [
        make_session(course, venue, starts_at=now + dt.timedelta(days=30 + n)) for n in range(2)
    ]
    order = book_one(
        session_id=sessions[0].pk,
        agency_id=school.pk,
        email="ann@example.org",
        method=PaymentMethod.CARD,
        now=now,
    )
    payment = payment_start(order=order, success_url="/", cancel_url="/", now=now)
    entry = WaitingListEntry.objects.create(
        session=sessions[1], person=practitioner, email="bea@example.org", name="Bea", joined_at=now
    )

    with pytest.raises(RuntimeError, match="inside a transaction"):
        lock_rows(sessions=[sessions[0].pk])

    with CaptureQueriesContext(connections["default"]) as queries, transaction.atomic():
        locked = lock_rows(
            offers=[entry.pk],
            agencies=[school.pk],
            sessions=[sessions[1].pk, sessions[0].pk],
            payments=[payment.pk],
        )
    assert list(locked.payments) == [payment.pk]
    assert list(locked.sessions) == sorted(s.pk for s in sessions)
    assert list(locked.agencies) == [school.pk]
    assert list(locked.offers) == [entry.pk]
    selects = [query["sql"] for query in queries.captured_queries if " FROM " in query["sql"]]
    tables = [sql.split(" FROM ", 1)[1].split()[0].strip('"') for sql in selects]
    assert tables == [
        model._meta.db_table for model in (Payment, Session, Agency, WaitingListEntry)
    ]
    if connections["default"].vendor == "postgresql":
        assert all("FOR UPDATE" in sql for sql in selects), selects
        assert 'FOR UPDATE OF "training_session"' in selects[1], "the course is not locked"


def test_counting_at_once_loses_no_count() -> None:
    # The rate limits and the pages' version count in one upsert: twenty processes counting
    # the same key at once each get a count of their own, and the total is all of them.
    outcomes = at_once(20, lambda _: [counter_increment(key="at-once") for _ in range(5)])

    assert not errors(outcomes)
    counts = sorted(count for counted in successes(outcomes) for count in counted)
    assert counts == list(range(1, 101))
    assert counter_value(key="at-once") == 100
