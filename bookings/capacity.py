"""The capacity rule: which places count against a session's capacity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

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
    """Places taken on one session (as ``places_taken``), and how many bookings of the
    session in an active status (``ACTIVE_STATUSES``, expired holds included: the booking
    service decides what they mean) are for one of ``emails``.

    The rule of ``places_taken_q`` and ``open_offers_q``, written out as one statement: it runs
    inside the session lock on every booking, where building it through the ORM took five
    times as long as the database took to answer, and the duplicate-attendee check rides in
    the same statement. tests/bookings/test_selectors.py holds it to the same answers as
    ``places_taken_expression``.
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
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {quote(bookings)} WHERE {quote('session_id')} = %s"
        f" AND ({quote('status')} IN (%s, %s)"
        f" OR ({quote('status')} IN (%s, %s) AND {quote('hold_expires_at')} > %s)))"
        f" + (SELECT COUNT(*) FROM {quote(offers)} WHERE {quote('session_id')} = %s"
        f" AND {quote('status')} = %s AND {quote('offer_expires_at')} > %s"
        f" AND {quote('id')} <> %s), {already}"
    )
    params: list[int | str | None] = [
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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        taken, of_these = cursor.fetchone()
        return int(taken), int(of_these)
