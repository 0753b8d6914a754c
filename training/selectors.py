"""Reads shared by the catalogue pages. The database counts; Python only formats."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Prefetch, QuerySet

from training.models import Course, CoursePrice, PriceBand, Session, SessionStatus


def _places_taken(now: dt.datetime) -> Any:
    # The one place where training reads bookings: what "a place is taken" means belongs to
    # bookings (confirmed, unexpired holds, open waiting-list offers), so it is asked, not
    # repeated here.
    from bookings.selectors import places_taken_expression

    return places_taken_expression(now)


def sessions_with_places(now: dt.datetime) -> QuerySet[Session]:
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
) -> QuerySet[Session]:
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
