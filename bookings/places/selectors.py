"""Reads about places and the catalogue, shared by pages and reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bookings.capacity import places_taken
from bookings.models import (
    HOLDING_STATUSES,
    Booking,
    BookingStatus,
    PlaceReservation,
    WaitingListEntry,
    WaitlistStatus,
    places_taken_q,
)
from training.models import (
    Course,
    CourseKind,
    CoursePrice,
    LearningOutcome,
    PriceBand,
    Session,
    SessionPart,
    SessionPrice,
    SessionStatus,
    Trainer,
    Venue,
)


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


def band_price_name(band_id: int) -> str:
    return f"price_band_{band_id}"


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


# --- the session page, read in plain statements ---------------------------------------------
# Built through the ORM, the session page's one query (places counted, a price subquery per
# band, the next-change subqueries) and its three prefetches cost several times what the
# database took to answer them; written out they are four statements for any session.


@dataclass(frozen=True)
class SessionPage:
    """What the session page shows of one session, as plain values."""

    pk: int
    status: str
    capacity: int
    starts_at: dt.datetime | None
    booking_closes_working_days: int
    notes: str
    title: str
    kind: str
    theme: str
    level: str
    duration_half_days: int
    description: str
    venue_name: str
    venue_address: str
    venue_postcode: str
    places_left: int
    # The band's name and its price (None: on request), in band order; empty when free.
    prices: list[tuple[str, Decimal | None]]
    parts: list[tuple[dt.datetime, dt.datetime]]
    trainers: list[str]
    outcomes: list[str]
    # When time alone changes the page: the session's next hold and offer to expire, and
    # its start (``pagecache.next_change_annotations`` with ``of_session``).
    next_changes: list[dt.datetime | None]

    @property
    def is_free(self) -> bool:
        return self.kind == CourseKind.MAPIG


def aware_datetime(value: Any) -> dt.datetime | None:
    """A datetime column from a plain cursor (SQLite gives a subquery's as text, in UTC)."""
    if value is None:
        return None
    moment: dt.datetime | None = parse_datetime(value) if isinstance(value, str) else value
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, connection.timezone)
    return moment


def moment_of(value: Any) -> dt.datetime:
    """``aware_datetime`` of a column that is never NULL."""
    moment = aware_datetime(value)
    if moment is None:
        raise ValueError("A NOT NULL datetime column read as NULL.")
    return moment


def amount_of(value: Any) -> Decimal | None:
    """A money column from a plain cursor (SQLite gives a whole number or a float)."""
    return None if value is None else Decimal(str(value))


def quoted_table(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _session_row(pk: int, now: dt.datetime) -> tuple[Any, ...] | None:
    q = connection.ops.quote_name
    at = connection.ops.adapt_datetimefield_value(now)
    holding = ", ".join(["%s"] * len(HOLDING_STATUSES))
    sql = (
        f"SELECT s.{q('id')}, s.{q('status')}, s.{q('capacity')}, s.{q('starts_at')},"
        f" s.{q('booking_closes_working_days')}, s.{q('notes')}, s.{q('course_id')},"
        f" c.{q('title')}, c.{q('kind')}, c.{q('theme')}, c.{q('level')},"
        f" c.{q('duration_half_days')}, c.{q('description')},"
        f" v.{q('name')}, v.{q('address')}, v.{q('postcode')},"
        f" (SELECT MIN(b.{q('hold_expires_at')}) FROM {quoted_table(Booking)} b"
        f" WHERE b.{q('session_id')} = s.{q('id')} AND b.{q('status')} IN ({holding})"
        f" AND b.{q('hold_expires_at')} > %s),"
        f" (SELECT MIN(w.{q('offer_expires_at')}) FROM {quoted_table(WaitingListEntry)} w"
        f" WHERE w.{q('session_id')} = s.{q('id')} AND w.{q('status')} = %s"
        f" AND w.{q('offer_expires_at')} > %s)"
        f" FROM {quoted_table(Session)} s"
        f" INNER JOIN {quoted_table(Course)} c ON c.{q('id')} = s.{q('course_id')}"
        f" INNER JOIN {quoted_table(Venue)} v ON v.{q('id')} = s.{q('venue_id')}"
        f" WHERE s.{q('id')} = %s"
    )
    params: list[int | str | None] = [*(status.value for status in HOLDING_STATUSES), at]
    params += [WaitlistStatus.OFFERED.value, at, pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def _band_prices(
    session_id: int, course_id: int, band_id: int | None
) -> list[tuple[str, Decimal | None]]:
    """Each band's name and price for the session (its override, else its course's; the
    rule of ``Session.price_for_band``), in band order: of one band if ``band_id``."""
    q = connection.ops.quote_name
    only = f" WHERE p.{q('id')} = %s" if band_id is not None else ""
    sql = (
        f"SELECT p.{q('name')}, o.{q('amount')}, l.{q('amount')} FROM {quoted_table(PriceBand)} p"
        f" LEFT JOIN {quoted_table(SessionPrice)} o"
        f" ON o.{q('band_id')} = p.{q('id')} AND o.{q('session_id')} = %s"
        f" LEFT JOIN {quoted_table(CoursePrice)} l"
        f" ON l.{q('band_id')} = p.{q('id')} AND l.{q('course_id')} = %s"
        f"{only} ORDER BY p.{q('order')}"
    )
    params = [session_id, course_id, *([band_id] if band_id is not None else [])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (name, amount_of(override if override is not None else listed))
            for name, override, listed in cursor.fetchall()
        ]


def _session_lists(
    session_id: int, course_id: int
) -> tuple[list[tuple[dt.datetime, dt.datetime]], list[str], list[str]]:
    """The session's parts (earliest first), its trainers (by name) and its course's
    outcomes (in their order), in one statement."""
    q = connection.ops.quote_name
    through = Session.trainers.through
    sql = (
        f"SELECT 0, {q('starts_at')}, {q('ends_at')}, 0, NULL, NULL, {q('id')}"
        f" FROM {quoted_table(SessionPart)} WHERE {q('session_id')} = %s"
        f" UNION ALL SELECT 1, NULL, NULL, 0, t.{q('name')}, NULL, t.{q('id')}"
        f" FROM {quoted_table(Trainer)} t INNER JOIN {quoted_table(through)} m"
        f" ON m.{q('trainer_id')} = t.{q('id')} WHERE m.{q('session_id')} = %s"
        f" UNION ALL SELECT 2, NULL, NULL, {q('order')}, NULL, {q('text')}, {q('id')}"
        f" FROM {quoted_table(LearningOutcome)} WHERE {q('course_id')} = %s"
        " ORDER BY 1, 2, 4, 5, 7"
    )
    parts: list[tuple[dt.datetime, dt.datetime]] = []
    trainers: list[str] = []
    outcomes: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [session_id, session_id, course_id])
        for kind, starts_at, ends_at, _order, name, text, _pk in cursor.fetchall():
            if kind == 0:
                parts.append((moment_of(starts_at), moment_of(ends_at)))
            elif kind == 1:
                trainers.append(name)
            else:
                outcomes.append(text)
    return parts, trainers, outcomes


def session_page(pk: int, *, now: dt.datetime, band_id: int | None) -> SessionPage | None:
    """The session ``pk`` as its page shows it, with the price of ``band_id`` (every band's
    when None); None if there is no such session. Four statements, whatever the session."""
    low, high = connection.ops.integer_field_range(Session._meta.pk.get_internal_type())
    if not low <= pk <= high:  # no session has it, and the database would refuse it
        return None
    row = _session_row(pk, now)
    if row is None:
        return None
    (
        pk,
        status,
        capacity,
        starts_at,
        closes_working_days,
        notes,
        course_id,
        title,
        kind,
        theme,
        level,
        duration_half_days,
        description,
        venue_name,
        venue_address,
        venue_postcode,
        next_hold,
        next_offer,
    ) = row
    starts_at = aware_datetime(starts_at)
    free = kind == CourseKind.MAPIG
    parts, trainers, outcomes = _session_lists(pk, course_id)
    return SessionPage(
        pk=pk,
        status=status,
        capacity=capacity,
        starts_at=starts_at,
        booking_closes_working_days=closes_working_days,
        notes=notes,
        title=title,
        kind=kind,
        theme=theme,
        level=level,
        duration_half_days=duration_half_days,
        description=description,
        venue_name=venue_name,
        venue_address=venue_address,
        venue_postcode=venue_postcode,
        places_left=capacity - places_taken(pk, now),
        prices=[] if free else _band_prices(pk, course_id, band_id),
        parts=parts,
        trainers=trainers,
        outcomes=outcomes,
        next_changes=[
            aware_datetime(next_hold),
            aware_datetime(next_offer),
            starts_at
            if status == SessionStatus.PUBLISHED and starts_at is not None and starts_at > now
            else None,
        ],
    )
