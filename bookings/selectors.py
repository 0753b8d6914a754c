"""Reads about places and bookings, shared by pages, services and reports."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from bookings.models import Booking, WaitingListEntry, open_offers_q, places_taken_q


def _count_subquery(queryset: QuerySet) -> Coalesce:
    counted = (
        queryset.filter(session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def places_taken_expression(now: dt.datetime) -> Coalesce:
    """For a Session queryset: confirmed places, unexpired holds and open waiting-list offers."""
    return _count_subquery(Booking.objects.filter(places_taken_q(now))) + _count_subquery(
        WaitingListEntry.objects.filter(open_offers_q(now))
    )


def places_taken(session_id: int, now: dt.datetime, *, except_offer_id: int | None = None) -> int:
    """Places taken on one session; an offer being claimed does not count against itself."""
    bookings = Booking.objects.filter(places_taken_q(now), session_id=session_id).count()
    offers = WaitingListEntry.objects.filter(open_offers_q(now), session_id=session_id)
    if except_offer_id is not None:
        offers = offers.exclude(pk=except_offer_id)
    return bookings + offers.count()


def bookings_for_person(user_id: int) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(attendee_id=user_id)
        .select_related("session__course", "session__venue", "order", "agency")
        .order_by("-session__starts_at")
    )


def bookings_for_agency(agency_id: int) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(agency_id=agency_id)
        .select_related("session__course", "session__venue", "order", "attendee")
        .order_by("-session__starts_at", "attendee_name")
    )
