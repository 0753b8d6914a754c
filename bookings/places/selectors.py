"""Reads about places and the catalogue, shared by pages and reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from bookings.capacity import places_taken_expression
from bookings.models import (
    Booking,
    BookingStatus,
    PlaceReservation,
    WaitingListEntry,
    WaitlistStatus,
    places_taken_q,
)
from training.models import Course, CoursePrice, PriceBand, Session, SessionPrice, SessionStatus

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class PlacesAnnotations(TypedDict):
    places_taken: int
    places_left_count: int


# A session read through sessions_with_places(), with its places counted.
type SessionWithPlaces = WithAnnotations[Session, PlacesAnnotations]


def is_on_waiting_list(session_id: int, user: Any) -> bool:
    """Whether this person is waiting for a place on this session, or has one offered."""
    if not getattr(user, "is_authenticated", False):
        return False
    return WaitingListEntry.objects.filter(
        session_id=session_id,
        person=user,
        status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
    ).exists()


def place_held_by(session_id: int, user: Any, now: dt.datetime) -> Mapping[str, object] | None:
    """The signed-in person's own place on this session (confirmed first, else an unexpired
    hold), as the session page's note needs it; None if they hold none."""
    if not getattr(user, "is_authenticated", False):
        return None
    places = list(
        Booking.objects.filter(places_taken_q(now), session_id=session_id, attendee=user)
        .order_by("pk")
        .values("pk", "status", "hold_expires_at", "order__reference")
    )
    places.sort(key=lambda place: place["status"] != BookingStatus.CONFIRMED)
    return places[0] if places else None


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


def sessions_with_places(now: dt.datetime) -> QuerySet[SessionWithPlaces]:
    """Sessions annotated with ``places_taken`` and ``places_left_count``."""
    return Session.objects.annotate(places_taken=places_taken_expression(now)).annotate(
        places_left_count=F("capacity") - F("places_taken")
    )


def band_price_expression(band_id: int) -> Coalesce:
    """A session's price for one band, in SQL: its override, else its course's; NULL if unset
    (the same rule as ``Session.price_for_band``)."""
    override = SessionPrice.objects.filter(session=OuterRef("pk"), band_id=band_id)
    listed = CoursePrice.objects.filter(course=OuterRef("course_id"), band_id=band_id)
    return Coalesce(
        Subquery(override.values("amount")[:1]),
        Subquery(listed.values("amount")[:1]),
        output_field=DecimalField(max_digits=10, decimal_places=2),
    )


def band_price_name(band_id: int) -> str:
    return f"price_band_{band_id}"


def catalogue_sessions(
    *,
    now: dt.datetime,
    band_ids: Sequence[int] = (),
    kind: str = "",
    theme: str = "",
    area: str = "",
    month: dt.date | None = None,
    with_places_only: bool = False,
) -> QuerySet[SessionWithPlaces]:
    """Published sessions that have not started, with places counted and the price for each
    of ``band_ids`` computed in the same query (``band_price_name``); the catalogue reads
    them as ``values()`` rows (``bookings.places.listing``), its parts in one more query."""
    sessions = (
        sessions_with_places(now)
        .filter(status=SessionStatus.PUBLISHED, starts_at__gt=now)
        .annotate(**{band_price_name(pk): band_price_expression(pk) for pk in band_ids})
        .order_by("starts_at", "pk")
    )
    if kind:
        sessions = sessions.filter(course__kind=kind)
    if theme:
        sessions = sessions.filter(course__theme=theme)
    if area:
        sessions = sessions.filter(venue__area=area)
    if month is not None:
        sessions = sessions.filter(starts_at__year=month.year, starts_at__month=month.month)
    if with_places_only:
        sessions = sessions.filter(places_left_count__gt=0)
    return sessions


def catalogue_themes() -> list[str]:
    return list(
        Course.objects.exclude(theme="")
        .filter(sessions__status=SessionStatus.PUBLISHED)
        .values_list("theme", flat=True)
        .distinct()
        .order_by("theme")
    )


def price_bands() -> list[PriceBand]:
    return list(PriceBand.objects.order_by("order"))


def session_sector_mix(session: Session) -> list[dict[str, Any]]:
    """How multi-agency a session is: its confirmed places counted by sector, largest first
    (one grouped query), each with its share of the places."""
    rows = list(
        Booking.objects.filter(session=session, status=BookingStatus.CONFIRMED)
        .values("sector__name")
        .annotate(places=Count("pk"), agencies=Count("agency", distinct=True))
        .order_by("-places", "sector__name")
    )
    total = sum(row["places"] for row in rows)
    return [
        {
            "sector": row["sector__name"],
            "places": row["places"],
            "agencies": row["agencies"],
            "percent": round(100 * row["places"] / total) if total else 0,
        }
        for row in rows
    ]


def reservations_with_unnamed(
    reservations: QuerySet[PlaceReservation],
) -> QuerySet[PlaceReservation]:
    """Reservations with their session, agency and order, and ``unnamed``: how many of their
    places are still to be named (one query)."""
    return reservations.select_related("session__course", "agency", "order").annotate(
        unnamed=Count("order__bookings", filter=Q(order__bookings__status=BookingStatus.RESERVED))
    )
