"""The cached catalogue and session pages are never stale and never show one person's page
to another (bookings.places.pagecache)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus, PaymentMethod
from bookings.places.booking import AttendeeSpec, booking_create
from tests.conftest import PASSWORD, make_person, make_session
from training.models import (
    Agency,
    Course,
    CoursePrice,
    PriceBand,
    Session,
    SessionPart,
    Trainer,
    Venue,
)
from training.page_version import pages_changed, pages_version, pages_version_and

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The time the pages see; a test moves it by changing ``clock[0]``."""
    moment = [timezone.now().replace(microsecond=0)]
    monkeypatch.setattr(timezone, "now", lambda: moment[0])
    return moment


def in_days(days: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def places_left(client: Client, session: Session) -> str:
    body = client.get(reverse("bookings:session", args=[session.pk])).content.decode()
    found = re.search(r'data-testid="places-left">([^<]*)<', body)
    assert found is not None
    return found.group(1)


def catalogue_card(client: Client, session: Session) -> str:
    body = client.get(reverse("bookings:catalogue")).content.decode()
    start = body.index(f'id="session-{session.pk}"')
    return body[start : body.index("</article>", start)]


def book_one(session: Session, person: Any, agency: Agency, method: str, now: dt.datetime) -> None:
    """A place for ``person``: by card they book it themselves; on invoice the unit books it."""
    booking_create(
        session=session,
        attendees=[AttendeeSpec(name=person.get_full_name(), email=person.email)],
        agency=agency,
        booked_by=person if method == PaymentMethod.CARD else None,
        payment_method=method,
        now=now,
    )


def test_booking_the_last_place_shows_the_session_full_on_the_very_next_view(
    client: Client, course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=in_days(20), capacity=1)
    assert places_left(client, session) == "1 of 1"
    assert "1 of 1" in catalogue_card(client, session)
    assert places_left(client, session) == "1 of 1"  # served from the cache now

    book_one(session, practitioner, school, PaymentMethod.INVOICE, timezone.now())

    assert places_left(client, session) == "None – this session is full"
    assert "<strong>Full</strong>" in catalogue_card(client, session)


def test_a_hold_expiring_makes_the_place_reappear_without_any_write(
    client: Client,
    course: Course,
    venue: Venue,
    practitioner: Any,
    school: Agency,
    clock: list[dt.datetime],
) -> None:
    session = make_session(course, venue, starts_at=in_days(20), capacity=1)
    book_one(session, practitioner, school, PaymentMethod.CARD, clock[0])
    hold = Booking.objects.get(session=session)
    assert hold.status == BookingStatus.HELD and hold.hold_expires_at is not None
    assert places_left(client, session) == "None – this session is full"
    assert "<strong>Full</strong>" in catalogue_card(client, session)

    clock[0] = hold.hold_expires_at - dt.timedelta(seconds=1)
    assert places_left(client, session) == "None – this session is full"
    # Nothing is written when the hold lapses: the cached pages lapse with it.
    clock[0] = hold.hold_expires_at
    assert places_left(client, session) == "1 of 1"
    assert "1 of 1" in catalogue_card(client, session)


def test_two_price_bands_each_see_their_own_price_from_the_cache(
    course: Course, venue: Venue, practitioner: Any, nursery: Agency, bands: dict[str, PriceBand]
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    prices = dict(CoursePrice.objects.filter(course=course).values_list("band__slug", "amount"))
    nursery_worker = make_person("nurse@example.org", agency=nursery)
    school_band = practitioner.profile.agency.sector.price_band
    nursery_band = nursery.sector.price_band
    assert school_band != nursery_band and prices[school_band.slug] != prices[nursery_band.slug]
    for _ in range(2):  # rendered, then cached
        for person, band in ((practitioner, school_band), (nursery_worker, nursery_band)):
            client = Client()
            client.login(username=person.username, password=PASSWORD)
            shown = f'£{prices[band.slug]} <span class="govuk-body-s">for {band.name.lower()}'
            assert shown in catalogue_card(client, session)
            page = client.get(reverse("bookings:session", args=[session.pk])).content.decode()
            assert shown in page


def test_an_anonymous_visitor_never_sees_a_signed_in_persons_note_name_or_token(
    client: Client, course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    book_one(session, practitioner, school, PaymentMethod.INVOICE, timezone.now())
    signed_in = Client()
    signed_in.login(username=practitioner.username, password=PASSWORD)
    url = reverse("bookings:session", args=[session.pk])
    theirs = signed_in.get(url).content.decode()
    assert 'data-testid="my-place"' in theirs and "You already have a place" in theirs
    assert "Book a place" not in theirs

    anonymous = client.get(url).content.decode()
    assert 'data-testid="my-place"' not in anonymous
    assert "Book a place" in anonymous
    assert "Sign out" not in anonymous and "Sign in" in anonymous


def test_a_person_holding_an_unpaid_place_is_sent_to_finish_paying(
    client: Client, course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    book_one(session, practitioner, school, PaymentMethod.CARD, timezone.now())
    order = Booking.objects.get(session=session).order
    client.login(username=practitioner.username, password=PASSWORD)
    page = client.get(reverse("bookings:session", args=[session.pk])).content.decode()
    assert "is not paid for yet" in page
    assert f'href="{reverse("bookings:order", args=[order.reference])}">Finish paying</a>' in page
    assert "Book a place" not in page


def test_a_colleague_of_the_same_band_gets_their_own_header_and_note_not_the_first_persons(
    course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    book_one(session, practitioner, school, PaymentMethod.INVOICE, timezone.now())
    colleague = make_person("colleague@example.org", agency=school, first_name="Cal")
    first, second = Client(), Client()
    first.login(username=practitioner.username, password=PASSWORD)
    second.login(username=colleague.username, password=PASSWORD)
    url = reverse("bookings:session", args=[session.pk])
    assert "You already have a place" in first.get(url).content.decode()
    theirs = second.get(url)
    assert "You already have a place" not in theirs.content.decode()
    assert "Book a place" in theirs.content.decode()


def test_each_viewer_of_a_cached_page_gets_a_csrf_token_that_works_and_no_nonce_is_cached(
    course: Course, venue: Venue, practitioner: Any, school: Agency
) -> None:
    session = make_session(course, venue, starts_at=in_days(20), capacity=1)
    book_one(session, practitioner, school, PaymentMethod.INVOICE, timezone.now())
    url = reverse("bookings:session", args=[session.pk])
    for email in ("first@example.org", "second@example.org"):  # rendered, then cached
        client = Client(enforce_csrf_checks=True)
        client.force_login(make_person(email, agency=school))
        response = client.get(url)
        body = response.content.decode()
        # Neither page uses the CSP nonce (base.html has no inline script or style), so no
        # nonce can be cached; the header's policy is the request's own.
        assert "nonce" not in body
        assert "nonce-" not in response.get("Content-Security-Policy", "")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert token is not None  # the full session offers its waiting list
        joined = client.post(
            reverse("bookings:waitlist_join", args=[session.pk]),
            {"csrfmiddlewaretoken": token.group(1)},
        )
        assert joined.status_code == 302


def test_an_administrators_edit_of_a_course_shows_on_the_next_view(
    client: Client, course: Course, venue: Venue
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    assert course.title in catalogue_card(client, session)
    course.title = "Working Together, revised"
    course.save()
    assert "Working Together, revised" in catalogue_card(client, session)
    CoursePrice.objects.filter(course=course).update(amount=99)
    assert "£99.00" in catalogue_card(client, session)


def test_repeat_views_of_an_unchanged_page_are_served_from_the_cache(
    client: Client, course: Course, venue: Venue
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    for url in (reverse("bookings:catalogue"), reverse("bookings:session", args=[session.pk])):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) == 0, [query["sql"] for query in queries]


def test_with_the_cache_turned_off_no_page_is_served_from_it_not_even_one_stored_before(
    client: Client, course: Course, venue: Venue, settings: Any
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    url = reverse("bookings:session", args=[session.pk])
    client.get(url)  # stored while the cache was on
    settings.PAGE_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) > 0, "rendered afresh from the database"


def session_page_queries(client: Client, session: Session) -> list[str]:
    cache.clear()  # rendered afresh
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("bookings:session", args=[session.pk])).status_code == 200
    return [query["sql"] for query in queries]


def test_the_session_page_reads_only_what_it_shows_in_a_fixed_number_of_queries(
    client: Client, course: Course, venue: Venue, practitioner: Any
) -> None:
    session = make_session(course, venue, starts_at=in_days(20))
    anonymous = session_page_queries(client, session)
    # The session with its course, venue and next changes; its places taken; every band
    # with its price; its parts, trainers and the course's outcomes in one statement.
    assert len(anonymous) <= 4, "\n".join(anonymous)
    client.login(username=practitioner.username, password=PASSWORD)
    signed_in = session_page_queries(client, session)
    # The signed-in session and user (with their roles and booker grant), the same four
    # statements with their band's price only, and their own place (the note).
    assert len(signed_in) <= 7, "\n".join(signed_in)
    for day in range(3):
        SessionPart.objects.create(
            session=session, starts_at=in_days(21 + day), ends_at=in_days(21 + day)
        )
    session.trainers.add(*(Trainer.objects.create(name=f"Trainer {n}") for n in range(3)))
    assert len(session_page_queries(client, session)) == len(signed_in)
    # Cached, only the person's own is read: who they are, and their place.
    with CaptureQueriesContext(connection) as cached:
        client.get(reverse("bookings:session", args=[session.pk]))
    assert len(cached) <= 3, "\n".join(q["sql"] for q in cached)


def database_cache(settings: Any) -> None:
    """Production's shared cache, the database's, where the version is a counter row."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }


def test_the_database_cache_is_bumped_only_after_commit_so_bookings_do_not_queue_on_it(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    database_cache(settings)
    before = pages_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pages_changed()
        assert pages_version() == before  # nothing written inside the transaction
    assert len(callbacks) == 1
    assert pages_version() == before + 1


def test_a_transaction_that_changes_many_rows_bumps_the_version_once_after_commit(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    database_cache(settings)
    before = pages_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(5):  # an order, its places, its invoice…
            pages_changed()
    assert len(callbacks) == 1
    assert pages_version() == before + 1


def test_with_the_database_cache_a_bump_is_one_statement_and_a_view_reads_two(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    database_cache(settings)
    with CaptureQueriesContext(connection) as bump:
        with django_capture_on_commit_callbacks(execute=True):
            pages_changed()
    assert len(bump) == 1, [query["sql"] for query in bump]
    with CaptureQueriesContext(connection) as read:
        version, entry = pages_version_and("pages:nothing-stored")
    assert (version, entry) == (pages_version(), None)
    assert len(read) == 2, [query["sql"] for query in read]
