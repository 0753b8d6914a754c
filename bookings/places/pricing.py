"""What a place costs: the price for the booker's sector band, free and subsidised places.

The band is the agency's only when the agency is vouched for: the booker is a verified member
or a booker of it, a training administrator, or the unit itself (an import). Anyone else books
as an individual at ``settings.UNVERIFIED_PRICE_BAND`` (the independent band, or the session's
dearest with "highest"): a price nobody can lower by naming an agency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, QuerySet, Value
from django.db.models.expressions import RawSQL

from bookings.errors import BookingError
from bookings.models import (
    ACTIVE_STATUSES,
    ZERO,
    Booking,
    PaymentMethod,
)
from bookings.permissions import is_admin, is_booker_for, is_verified_member
from training.dates import financial_year_bounds
from training.models import Agency, CoursePrice, PriceBand, Session, SessionPrice


class PriceChanged(BookingError):
    """The price changed since it was shown; the booker must confirm the new one."""

    def __init__(self, message: str, quote: Quote) -> None:
        super().__init__(message)
        self.quote = quote


@dataclass(frozen=True)
class Quote:
    """What one place costs this booker, and what the whole booking comes to."""

    band: PriceBand
    unit_price: Decimal
    in_kind_value: Decimal
    places: int
    payment_method: str

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.places


def subsidised_places_left(agency: Agency, on: dt.date) -> int:
    """The agency's in-kind allowance left in the financial year containing ``on``."""
    start, end = financial_year_bounds(on)
    used = Booking.objects.filter(
        agency=agency,
        payment_method=PaymentMethod.SUBSIDISED,
        status__in=ACTIVE_STATUSES,
        session__starts_at__date__gte=start,
        session__starts_at__date__lte=end,
    ).count()
    return max(0, agency.subsidised_places_per_year - used)


def agency_vouched_for(booked_by: Any, agency: Agency) -> bool:
    """Whether ``booked_by`` books at ``agency``'s price (see the module's docstring)."""
    return (
        booked_by is None
        or is_admin(booked_by)
        or is_booker_for(booked_by, agency.pk)
        or is_verified_member(booked_by, agency.pk)
    )


def unverified_band(session: Session | None = None) -> PriceBand:
    """The band of someone whose agency is not verified."""
    bands = list(PriceBand.objects.all())
    chosen = settings.UNVERIFIED_PRICE_BAND
    for band in bands:
        if band.slug == chosen:
            return band
    # "highest" (or a slug that names no band): the dearest band, so nobody gains by it.
    if session is not None:
        priced = [
            (price, band)
            for band in bands
            if (price := session.price_for_band(band.pk)) is not None
        ]
        if priced:
            return max(priced, key=lambda pair: pair[0])[1]
    return max(bands, key=lambda band: band.order)


_PENCE = Decimal("0.01")


def known_band(*, booked_by: Any, agency: Agency | None) -> PriceBand | None:
    """The band ``booked_by`` pays for places of ``agency`` when it does not depend on the
    session (it does for someone unverified with the "highest" band): None then."""
    if agency is not None and agency_vouched_for(booked_by, agency):
        return agency.sector.price_band
    return None


def band_price_sql() -> str:
    """The SQL of a session's list price for one band, the rule of ``Session.price_for_band``:
    the session's override, else the course's. Written over the session table by its own
    name; its two parameters are the band's id."""
    quote = connection.ops.quote_name
    session, amount, band_id = quote(Session._meta.db_table), quote("amount"), quote("band_id")
    return (
        f"COALESCE((SELECT {amount} FROM {quote(SessionPrice._meta.db_table)}"
        f" WHERE {quote('session_id')} = {session}.{quote('id')} AND {band_id} = %s),"
        f" (SELECT {amount} FROM {quote(CoursePrice._meta.db_table)}"
        f" WHERE {quote('course_id')} = {session}.{quote('course_id')} AND {band_id} = %s))"
    )


def with_band_price(sessions: QuerySet[Session], band: PriceBand) -> QuerySet[Session]:
    """``sessions`` with ``band``'s list price read in the same statement (``list_price``
    uses it), instead of prefetching both price tables where only one band is wanted.

    Written as SQL (``band_price_sql``): built through the ORM's subqueries it cost the booking
    more CPU than the two prefetches it replaces. tests/bookings/test_pricing.py holds it to
    price_for_band.
    """
    return sessions.annotate(
        priced_band_id=Value(band.pk),
        band_price=RawSQL(band_price_sql(), [band.pk, band.pk], output_field=DecimalField()),
    )


def list_price(session: Session, band_id: int) -> Decimal | None:
    """``session.price_for_band(band_id)``, from the price read with the session when it was
    read ``with_band_price`` for this band."""
    annotated: Any = session  # the two annotations of ``with_band_price``, when it was used
    if getattr(annotated, "priced_band_id", None) == band_id:
        if session.course.is_free:
            return ZERO
        price: Decimal | None = annotated.band_price
        # SQLite hands back an annotation's decimal unscaled (65, not 65.00): scale it as the
        # column is, so the price reads the same whichever way it was read.
        return None if price is None else price.quantize(_PENCE)
    return session.price_for_band(band_id)


def band_for(*, booked_by: Any, agency: Agency | None, session: Session | None = None) -> PriceBand:
    """The band ``booked_by`` pays for places of ``agency``."""
    if agency is not None and agency_vouched_for(booked_by, agency):
        return agency.sector.price_band
    return unverified_band(session)


def price_quote(
    *,
    session: Session,
    agency: Agency,
    payment_method: str,
    places: int,
    booked_by: Any,
) -> Quote:
    """The price for ``places`` attendees of ``agency`` booked by ``booked_by`` (None: the
    unit itself); MAPIGs are free, subsidised places too."""
    band = band_for(booked_by=booked_by, agency=agency, session=session)
    price = list_price(session, band.pk)
    if price is None:
        raise BookingError(
            f"This session has no price for {band.name.lower()} agencies yet. "
            "Please contact the training team."
        )
    if price == ZERO:
        return Quote(band, ZERO, ZERO, places, PaymentMethod.FREE)
    if payment_method == PaymentMethod.SUBSIDISED:
        return Quote(band, ZERO, price, places, PaymentMethod.SUBSIDISED)
    if payment_method not in (PaymentMethod.CARD, PaymentMethod.INVOICE):
        raise BookingError("Choose how to pay: by card or by invoice.")
    return Quote(band, price, ZERO, places, payment_method)


def front_desk_quote(
    *, session: Session, agency: Agency, payment_method: str, places: int, booked_by: Any
) -> Quote:
    """The price at the front desk: as ``price_quote``, and "no charge" costs nothing (and is
    no in-kind income: nobody lent a venue for it)."""
    if payment_method == PaymentMethod.NO_CHARGE:
        band = band_for(booked_by=booked_by, agency=agency, session=session)
        free = list_price(session, band.pk) == ZERO
        return Quote(band, ZERO, ZERO, places, PaymentMethod.FREE if free else payment_method)
    return price_quote(
        session=session,
        agency=agency,
        payment_method=payment_method,
        places=places,
        booked_by=booked_by,
    )
