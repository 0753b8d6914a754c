"""The capacity rule: which places count against a session's capacity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce

from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    WaitingListEntry,
    WaitlistStatus,
    open_offers_q,
    places_taken_q,
)
from bookings.rows import Rider, riders_columns, riders_take, riders_with


def active_bookings_q() -> Q:
    return Q(status__in=ACTIVE_STATUSES)


def _count_subquery(queryset: QuerySet) -> Coalesce:
    counted = (
        queryset.filter(session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def places_taken_expression(
    now: dt.datetime, *, except_offer_id: int | None = None
) -> CombinedExpression:
    """For a Session queryset: confirmed places, unexpired holds and open waiting-list offers
    (without the offer ``except_offer_id``, which is being claimed)."""
    offers = WaitingListEntry.objects.filter(open_offers_q(now))
    if except_offer_id is not None:
        offers = offers.exclude(pk=except_offer_id)
    return _count_subquery(Booking.objects.filter(places_taken_q(now))) + _count_subquery(offers)


def places_taken(session_id: int, now: dt.datetime, *, except_offer_id: int | None = None) -> int:
    """Places taken on one session: confirmed bookings, reserved places not yet named,
    unexpired holds and open waiting-list offers; an offer being claimed does not count
    against itself (see ``places_and_places_of``).
    """
    taken, _ = places_and_places_of(session_id, now, emails=(), except_offer_id=except_offer_id)
    return taken


def places_and_places_of(
    session_id: int,
    now: dt.datetime,
    *,
    emails: Sequence[str],
    except_offer_id: int | None = None,
) -> tuple[int, int]:
    """Places taken on one session and how many of its active bookings are for ``emails``
    (see ``places_and_people``)."""
    counted = places_and_people(
        session_id, now, emails=emails, except_offer_id=except_offer_id, accounts=False
    )
    return counted.taken, counted.of_these


@dataclass(frozen=True)
class PlacesCount:
    """What a booking reads under its session's lock, in one statement."""

    taken: int
    of_these: int
    # The accounts whose email is exactly one of the emails asked about: email -> user id.
    accounts: dict[str, int]


def places_and_people(
    session_id: int,
    now: dt.datetime,
    *,
    emails: Sequence[str],
    except_offer_id: int | None = None,
    accounts: bool = True,
    riders: Sequence[Rider] = (),
) -> PlacesCount:
    """Places taken on one session (as ``places_taken``), and how many bookings of the
    session in an active status (``ACTIVE_STATUSES``, expired holds included: the booking
    service decides what they mean) are for one of ``emails``.

    The rule of ``places_taken_q`` and ``open_offers_q``, written out as one statement: it runs
    inside the session lock on every booking, where building it through the ORM took five
    times as long as the database took to answer, and the duplicate-attendee check rides in
    the same statement. tests/bookings/test_selectors.py holds it to the same answers as
    ``places_taken_expression``. With ``accounts`` the statement also brings, as rows of its
    own after a ``UNION ALL``, the accounts of ``emails``, which the new places are linked to.

    ``riders`` (``bookings.rows.Rider``) go along in the statement: a booking's invoice number
    and new rows' keys are taken here, under the lock, instead of in two statements more.
    Only PostgreSQL takes a ``WITH`` that writes, so only it is given riders with one.
    """
    quote = connection.ops.quote_name
    at = connection.ops.adapt_datetimefield_value(now)
    bookings, offers = Booking._meta.db_table, WaitingListEntry._meta.db_table
    placeholders = ", ".join(["%s"] * len(emails))
    already = (
        f"(SELECT COUNT(*) FROM {quote(bookings)} WHERE {quote('session_id')} = %s"
        f" AND {quote('status')} IN ({', '.join(['%s'] * len(ACTIVE_STATUSES))})"
        f" AND {quote('attendee_email')} IN ({placeholders}))"
        if emails
        else "0"
    )
    with_sql, with_params = riders_with(riders)
    rider_columns, rider_params = riders_columns(riders)
    sql = (
        f"{with_sql}SELECT (SELECT COUNT(*) FROM {quote(bookings)} WHERE {quote('session_id')} = %s"
        f" AND ({quote('status')} IN (%s, %s)"
        f" OR ({quote('status')} IN (%s, %s) AND {quote('hold_expires_at')} > %s)))"
        f" + (SELECT COUNT(*) FROM {quote(offers)} WHERE {quote('session_id')} = %s"
        f" AND {quote('status')} = %s AND {quote('offer_expires_at')} > %s"
        f" AND {quote('id')} <> %s), {', '.join([already, *rider_columns])}"
    )
    params: list[Any] = [
        *with_params,
        session_id,
        BookingStatus.CONFIRMED.value,
        BookingStatus.RESERVED.value,
        BookingStatus.HELD.value,
        BookingStatus.AWAITING_APPROVAL.value,
        at,
        session_id,
        WaitlistStatus.OFFERED.value,
        at,
        except_offer_id if except_offer_id is not None else 0,  # ids start at 1
    ]
    if emails:
        params += [session_id, *(status.value for status in ACTIVE_STATUSES), *emails]
    params += rider_params
    width = 2 + len(rider_columns)  # the counts' row: the counts, then the riders' columns
    if accounts and emails:
        # The counts' row has no account id; each account's row has nothing else.
        users = get_user_model()._meta
        padding = "NULL, " * width
        sql = (
            f"{sql}, NULL, NULL UNION ALL SELECT {padding}{quote(str(users.pk.column))},"
            f" {quote('email')} FROM {quote(users.db_table)} WHERE {quote('email')}"
            f" IN ({placeholders})"
        )
        params += list(emails)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # The counts' row is the one whose counts are there (an account's row has NULLs there).
    counts = next(row for row in rows if row[0] is not None)
    riders_take(riders, counts[2:width])
    return PlacesCount(
        taken=int(counts[0]),
        of_these=int(counts[1]),
        accounts={row[width + 1].lower(): row[width] for row in rows if row[0] is None},
    )
