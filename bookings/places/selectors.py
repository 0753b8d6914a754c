"""Reads about places and the catalogue, shared by pages and reports."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, F, Prefetch, QuerySet

from bookings.capacity import places_taken_expression
from bookings.models import (
    Booking,
    BookingStatus,
    WaitingListEntry,
    WaitlistStatus,
)
from training.models import Course, CoursePrice, PriceBand, Session, SessionStatus

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


def _places_taken(now: dt.datetime) -> Any:
    # The one place where training reads bookings: what "a place is taken" means belongs to
    # bookings (confirmed, unexpired holds, open waiting-list offers), so it is asked, not
    # repeated here.

    return places_taken_expression(now)


def sessions_with_places(now: dt.datetime) -> QuerySet[SessionWithPlaces]:
    """Sessions annotated with ``places_taken`` and ``places_left_count``."""
    return Session.objects.annotate(places_taken=_places_taken(now)).annotate(
        places_left_count=F("capacity") - F("places_taken")
    )


def catalogue_sessions(
    *,
    now: dt.datetime,
    kind: str = "",
    theme: str = "",
    area: str = "",
    month: dt.date | None = None,
    with_places_only: bool = False,
) -> QuerySet[SessionWithPlaces]:
    """Published sessions that have not started, with everything the list shows prefetched."""
    sessions = (
        sessions_with_places(now)
        .filter(status=SessionStatus.PUBLISHED, starts_at__gt=now)
        .select_related("course", "venue")
        .prefetch_related(
            "parts",
            "trainers",
            "price_overrides",
            Prefetch("course__prices", queryset=CoursePrice.objects.order_by("band__order")),
        )
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
    return list(PriceBand.objects.prefetch_related("sectors").order_by("order"))


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
