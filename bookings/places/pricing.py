"""What a place costs: the price for the booker's sector band, free and subsidised places."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bookings.errors import BookingError
from bookings.models import (
    ACTIVE_STATUSES,
    ZERO,
    Booking,
    PaymentMethod,
)
from training.dates import financial_year_bounds
from training.models import Agency, PriceBand, Session


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


def price_quote(*, session: Session, agency: Agency, payment_method: str, places: int) -> Quote:
    """The price for ``places`` attendees of ``agency``; MAPIGs are free, subsidised places too."""
    band = agency.sector.price_band
    list_price = session.price_for_band(band.pk)
    if list_price is None:
        raise BookingError(
            f"This session has no price for {band.name.lower()} agencies yet. "
            "Please contact the training team."
        )
    if list_price == ZERO:
        return Quote(band, ZERO, ZERO, places, PaymentMethod.FREE)
    if payment_method == PaymentMethod.SUBSIDISED:
        return Quote(band, ZERO, list_price, places, PaymentMethod.SUBSIDISED)
    if payment_method not in (PaymentMethod.CARD, PaymentMethod.INVOICE):
        raise BookingError("Choose how to pay: by card or by invoice.")
    return Quote(band, list_price, ZERO, places, payment_method)


def front_desk_quote(
    *, session: Session, agency: Agency, payment_method: str, places: int
) -> Quote:
    """The price at the front desk: as ``price_quote``, and "no charge" costs nothing (and is
    no in-kind income: nobody lent a venue for it)."""
    if payment_method == PaymentMethod.NO_CHARGE:
        band = agency.sector.price_band
        free = session.price_for_band(band.pk) == ZERO
        return Quote(band, ZERO, ZERO, places, PaymentMethod.FREE if free else payment_method)
    return price_quote(session=session, agency=agency, payment_method=payment_method, places=places)
