"""The ledger's rows for a financial year: one per partner agency, counted by the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum

from bookings.models import Booking, BookingStatus, PaymentMethod
from evaluation.models import ContributionKind, InKindContribution
from training.dates import financial_year_bounds
from training.models import Agency

ZERO = Decimal("0.00")


@dataclass
class Contribution:
    kind: str
    label: str
    quantity: Decimal
    rate: Decimal
    value: Decimal
    description: str


@dataclass
class LedgerRow:
    """One agency's year: the allowance of subsidised places and what it gave in kind."""

    agency_id: int
    agency_name: str
    sector_name: str
    allowance: int
    places_used: int
    value_forgone: Decimal
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def places_left(self) -> int:
        return max(self.allowance - self.places_used, 0)

    def value_of(self, kind: str) -> Decimal:
        return sum((item.value for item in self.contributions if item.kind == kind), ZERO)

    def quantity_of(self, kind: str) -> Decimal:
        return sum((item.quantity for item in self.contributions if item.kind == kind), ZERO)

    @property
    def venue_value(self) -> Decimal:
        return self.value_of(ContributionKind.VENUE_DAYS)

    @property
    def trainer_value(self) -> Decimal:
        return self.value_of(ContributionKind.TRAINER_HOURS)

    @property
    def contributed(self) -> Decimal:
        return self.venue_value + self.trainer_value


@dataclass
class Ledger:
    year_start: dt.date
    rows: list[LedgerRow]

    def total(self, attribute: str) -> Decimal:
        return sum((getattr(row, attribute) for row in self.rows), ZERO)

    @property
    def value_forgone(self) -> Decimal:
        return self.total("value_forgone")

    @property
    def venue_value(self) -> Decimal:
        return self.total("venue_value")

    @property
    def trainer_value(self) -> Decimal:
        return self.total("trainer_value")

    @property
    def contributed(self) -> Decimal:
        """The in-kind saving: what partners gave that the unit would otherwise have paid."""
        return self.venue_value + self.trainer_value

    def venue_days(self) -> Decimal:
        return sum((row.quantity_of(ContributionKind.VENUE_DAYS) for row in self.rows), ZERO)

    def trainer_hours(self) -> Decimal:
        return sum((row.quantity_of(ContributionKind.TRAINER_HOURS) for row in self.rows), ZERO)

    def visible_to(self, may_see: Callable[[int], bool]) -> Ledger:
        return Ledger(self.year_start, [row for row in self.rows if may_see(row.agency_id)])


def ledger_for_year(year_start: dt.date) -> Ledger:
    """Every agency with an allowance, a subsidised place or a contribution in the year.

    Three queries: the agencies with allowances, the subsidised places grouped by agency, and
    the year's contributions.
    """
    start, end = financial_year_bounds(year_start)
    in_year = Q(session__starts_at__date__gte=start, session__starts_at__date__lte=end)
    places = {
        row["agency_id"]: row
        for row in Booking.objects.filter(
            in_year,
            Q(status=BookingStatus.CONFIRMED) | Q(late_cancellation=True),
            payment_method=PaymentMethod.SUBSIDISED,
            confirmed_at__isnull=False,
        )
        .order_by()
        .values("agency_id")
        .annotate(used=Count("pk"), forgone=Sum("in_kind_value"))
    }
    contributions = list(
        InKindContribution.objects.filter(financial_year_start=start).order_by("kind", "pk")
    )
    given = {item.agency_id for item in contributions}
    agencies = (
        Agency.objects.filter(Q(subsidised_places_per_year__gt=0) | Q(pk__in=set(places) | given))
        .annotate(sector_name=F("sector__name"))
        .order_by("name")
    )
    rows = []
    for agency in agencies:
        used: Mapping[str, Any] = places.get(agency.pk, {})
        rows.append(
            LedgerRow(
                agency_id=agency.pk,
                agency_name=agency.name,
                sector_name=agency.sector_name,
                allowance=agency.subsidised_places_per_year,
                places_used=used.get("used", 0),
                value_forgone=used.get("forgone") or ZERO,
                contributions=[
                    Contribution(
                        kind=item.kind,
                        label=str(item.get_kind_display()),
                        quantity=item.quantity,
                        rate=item.rate,
                        value=item.value,
                        description=item.description,
                    )
                    for item in contributions
                    if item.agency_id == agency.pk
                ],
            )
        )
    return Ledger(year_start=start, rows=rows)
