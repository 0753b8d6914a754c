"""Income by sector and payment method, in-kind value, and cost recovery against the target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from bookings.models import (
    Booking,
    BookingStatus,
    InvoiceKind,
    InvoiceLine,
    NonAttendanceCharge,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from evaluation.ledger.selectors import Ledger, ledger_for_year
from evaluation.models import TrainingCostTarget
from evaluation.reports.periods import Period
from evaluation.reports.tables import ZERO, Table, percent, sector_columns


@dataclass
class IncomeReport:
    period: Period
    by_sector: Table
    by_method: Table
    fees: Decimal
    refunds: Decimal
    charges: Decimal
    income: Decimal
    in_kind: Decimal
    target: TrainingCostTarget | None
    ledger: Ledger | None = None  # a financial year's partner contributions

    @property
    def contributed(self) -> Decimal:
        return self.ledger.contributed if self.ledger is not None else ZERO

    @property
    def recovery_with_in_kind_percent(self) -> Decimal | None:
        if self.target is None:
            return None
        return percent(self.income + self.contributed, self.target.team_cost)

    def in_kind_table(self) -> Table:
        """In-kind value by kind. The partners' venues and trainers are a saving the unit
        would otherwise have paid; the subsidised places are what it gave in return."""
        rows: list[list[Any]] = [
            ["Subsidised places given (value forgone)", self.in_kind, "Given in return"],
        ]
        if self.ledger is not None:
            rows += [
                ["Venue-days lent", self.ledger.venue_value, "Saving"],
                ["Partner trainer hours", self.ledger.trainer_value, "Saving"],
            ]
        return Table(
            title="In-kind value by kind",
            headers=["kind", "amount_pounds", "counted as"],
            rows=rows,
        )

    @property
    def recovery_percent(self) -> Decimal | None:
        if self.target is None:
            return None
        return percent(self.income, self.target.team_cost)

    @property
    def target_met(self) -> bool | None:
        if self.target is None or self.recovery_percent is None:
            return None
        return self.recovery_percent >= self.target.recovery_target_percent

    def recovery_table(self) -> Table:
        """Amounts in one column (shown in pounds), shares in the other."""
        rows: list[list[Any]] = [
            ["Fees for places", self.fees, None],
            ["Refunded or credited (taken off)", self.refunds, None],
            ["Non-attendance charges", self.charges, None],
            ["Income", self.income, None],
            ["In-kind value of subsidised places (not in income)", self.in_kind, None],
        ]
        if self.ledger is not None:
            rows.append(
                ["In-kind saving: venues and trainers lent (not in income)", self.contributed, None]
            )
        if self.target is not None:
            rows += [
                ["Training team's cost", self.target.team_cost, None],
                ["Income as a share of the team's cost", None, self.recovery_percent],
                ["Cost recovery target", None, self.target.recovery_target_percent],
                [
                    "Cost recovery including in-kind: income and the in-kind saving",
                    None,
                    self.recovery_with_in_kind_percent,
                ],
            ]
        return Table(
            title="Cost recovery", headers=["measure", "amount_pounds", "share_percent"], rows=rows
        )

    def tables(self) -> list[Table]:
        return [self.recovery_table(), self.in_kind_table(), self.by_sector, self.by_method]


# Every way a place can be paid for, so no place goes missing from the breakdown (its places
# total must agree with the sector table's): "no charge" is the administrator's places booked
# without charge, with a reason.
METHOD_ORDER = [
    PaymentMethod.CARD,
    PaymentMethod.INVOICE,
    PaymentMethod.FREE,
    PaymentMethod.SUBSIDISED,
    PaymentMethod.NO_CHARGE,
]


def income_and_cost_recovery(
    period: Period, *, sectors: list[tuple[int, str]] | None = None
) -> IncomeReport:
    """Income by sector and by payment method for the sessions of the period, and the share
    of the year's training-team cost it covers. Five grouped queries and the target."""
    sectors = sectors if sectors is not None else sector_columns()
    in_period = period.sessions_q("session__")
    was_confirmed = Q(confirmed_at__isnull=False)
    still_a_place = Q(status=BookingStatus.CONFIRMED) | Q(late_cancellation=True)

    fees = list(
        Booking.objects.filter(in_period, was_confirmed)
        .order_by()
        .values("sector_id", "payment_method")
        .annotate(
            places=Count("pk", filter=still_a_place),
            fees=Sum("price"),
            in_kind=Sum("in_kind_value", filter=still_a_place),
        )
    )
    card_refunds = {
        row["booking__sector_id"]: row["amount"]
        for row in Refund.objects.exclude(status=RefundStatus.FAILED)
        .filter(period.sessions_q("booking__session__"), booking__confirmed_at__isnull=False)
        .order_by()
        .values("booking__sector_id")
        .annotate(amount=Sum("amount"))
    }
    # Credit notes on booking invoices (those with an order) give fees back; credit notes on
    # charge invoices cancel a waived charge, which the charges below leave out already.
    invoice_credits = {
        row["booking__sector_id"]: -row["amount"]
        for row in InvoiceLine.objects.filter(
            period.sessions_q("booking__session__"),
            invoice__kind=InvoiceKind.CREDIT_NOTE,
            invoice__credits__order__isnull=False,
            booking__confirmed_at__isnull=False,
        )
        .order_by()
        .values("booking__sector_id")
        .annotate(amount=Sum("amount"))
    }
    charges: dict[int, Mapping[str, Any]] = {
        row["booking__sector_id"]: row
        for row in NonAttendanceCharge.objects.filter(
            period.sessions_q("booking__session__"), waived_at=None
        )
        .order_by()
        .values("booking__sector_id")
        .annotate(amount=Sum("amount"))
    }
    target = (
        TrainingCostTarget.objects.filter(financial_year_start=period.start).first()
        if period.is_financial_year
        else None
    )

    sector_rows = []
    for pk, name in sectors:
        sector_fees = [row for row in fees if row["sector_id"] == pk]
        fee_total = sum((row["fees"] or ZERO for row in sector_fees), ZERO)
        refunded = card_refunds.get(pk, ZERO) + invoice_credits.get(pk, ZERO)
        charged = charges.get(pk, {}).get("amount") or ZERO
        sector_rows.append(
            [
                name,
                sum(row["places"] for row in sector_fees),
                fee_total,
                refunded,
                charged,
                fee_total - refunded + charged,
                sum((row["in_kind"] or ZERO for row in sector_fees), ZERO),
            ]
        )
    sector_footer = [["Total", *(sum(row[index] for row in sector_rows) for index in range(1, 7))]]
    method_rows = []
    for method in METHOD_ORDER:
        method_fees = [row for row in fees if row["payment_method"] == method]
        fee_total = sum((row["fees"] or ZERO for row in method_fees), ZERO)
        refunded = {
            PaymentMethod.CARD: sum(card_refunds.values(), ZERO),
            PaymentMethod.INVOICE: sum(invoice_credits.values(), ZERO),
        }.get(method, ZERO)
        method_rows.append(
            [
                str(method.label),
                sum(row["places"] for row in method_fees),
                fee_total,
                refunded,
                fee_total - refunded,
                sum((row["in_kind"] or ZERO for row in method_fees), ZERO),
            ]
        )
    charge_total = sum((row["amount"] or ZERO for row in charges.values()), ZERO)
    # A charged no-show is a place already counted in its payment method's row: the charges add
    # money, not places, so both tables' places totals are the same number.
    method_rows.append(["Non-attendance charges", None, charge_total, ZERO, charge_total, ZERO])
    method_footer = [
        [
            "Total",
            *(
                sum(row[index] for row in method_rows if row[index] is not None)
                for index in range(1, 6)
            ),
        ]
    ]
    total = sector_footer[0]
    return IncomeReport(
        period=period,
        by_sector=Table(
            title="Income by sector",
            headers=[
                "sector",
                "places",
                "fees",
                "refunded_or_credited",
                "non_attendance_charges",
                "income",
                "in_kind_value",
            ],
            rows=sector_rows,
            footer=sector_footer,
        ),
        by_method=Table(
            title="Income by payment method",
            headers=["method", "places", "fees", "refunded_or_credited", "income", "in_kind_value"],
            rows=method_rows,
            footer=method_footer,
        ),
        fees=total[2],
        refunds=total[3],
        charges=total[4],
        income=total[5],
        in_kind=total[6],
        target=target,
        ledger=ledger_for_year(period.start) if period.is_financial_year else None,
    )
