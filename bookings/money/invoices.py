"""Invoices and credit notes: gapless numbers, lines per place, charges, marking paid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bookings.audit import audit_entry, audit_record
from bookings.models import (
    ZERO,
    AuditEntry,
    Booking,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceStatus,
    Order,
    OutgoingEmail,
)
from bookings.outbox import email_queue, emails_queue, outgoing_email
from bookings.rows import Rider, rows_insert
from training.models import Agency


def _increment_sql() -> str:
    # Incrementing the sequence row locks it until commit: numbers are gapless because the
    # increment and the invoice insert commit together, or neither does. One statement
    # (UPDATE … RETURNING, which SQLite and PostgreSQL both speak): it runs on every booking.
    quote = connection.ops.quote_name
    table, number = quote(InvoiceNumberSequence._meta.db_table), quote("last_number")
    return (
        f"UPDATE {table} SET {number} = {number} + 1"
        f" WHERE {quote('prefix')} = %s RETURNING {number}"
    )


def _formatted(prefix: str, number: int) -> str:
    return f"{prefix}-{number:06d}"


def _next_number(prefix: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(_increment_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        InvoiceNumberSequence.objects.get_or_create(prefix=prefix)  # the prefix's first number
        return _next_number(prefix)
    return _formatted(prefix, row[0])


def invoice_number_next(rider: Rider | None = None) -> str:
    """The next invoice number, taken inside the caller's transaction (given back if it rolls
    back), for an invoice written with it (``invoice_write(number=…)``) before it commits:
    the one ``rider`` (``invoice_number_rider``) took, if it took one."""
    if rider is not None and rider.values is not None and rider.values[0] is not None:
        return _formatted(settings.INVOICE_NUMBER_PREFIX, rider.values[0])
    return _next_number(settings.INVOICE_NUMBER_PREFIX)


def invoice_number_rider() -> Rider | None:
    """On PostgreSQL, the increment of ``invoice_number_next`` as a rider: a part of the
    ``WITH`` of a statement the caller runs anyway, under the locks it takes before the
    number (the number's row is locked after them, as on every other path). ``None`` on
    SQLite, whose ``WITH`` cannot write. The prefix's first number is taken on its own."""
    if connection.vendor != "postgresql":
        return None
    return Rider(
        with_part=f"invoice_number AS ({_increment_sql()})",
        with_params=(settings.INVOICE_NUMBER_PREFIX,),
        columns=(f"(SELECT {connection.ops.quote_name('last_number')} FROM invoice_number)",),
    )


def _line_description(booking: Booking) -> str:
    when = timezone.localtime(booking.session.starts_at).strftime("%-d %b %Y")
    return f"{booking.session.course.title}, {when} – {booking.attendee_name}"


def invoice_write(
    *,
    agency: Agency,
    lines: Sequence[tuple[Booking | None, str, Decimal]],
    recipient: str,
    now: dt.datetime,
    actor: Any,
    order: Order | None = None,
    purchase_order_number: str = "",
    number: str | None = None,
) -> tuple[Invoice, AuditEntry, OutgoingEmail | None]:
    """Number (unless the caller took its ``number`` already) and write an invoice with its
    lines (inside the caller's transaction); return it with its audit entry and email,
    unsaved, for the caller to write with others."""
    today = timezone.localdate(now)
    (invoice,) = rows_insert(
        [
            Invoice(
                kind=InvoiceKind.INVOICE,
                number=number or invoice_number_next(),
                order=order,
                agency=agency,
                purchase_order_number=purchase_order_number,
                billing_name=agency.invoice_contact_name or agency.name,
                billing_address=f"{agency.name}\n{agency.address}".strip(),
                billing_email=recipient,
                issued_on=today,
                due_on=today + dt.timedelta(days=settings.INVOICE_DUE_DAYS),
                created_at=now,
            )
        ]
    )
    rows_insert(
        [
            InvoiceLine(invoice=invoice, booking=booking, description=description, amount=amount)
            for booking, description, amount in lines
        ]
    )
    entry = audit_entry(
        obj=invoice,
        action="issued",
        actor=actor,
        now=now,
        changes={"number": invoice.number, "total": sum((line[2] for line in lines), ZERO)},
    )
    return invoice, entry, outgoing_email(kind="invoice_issued", to=recipient, invoice=invoice)


def order_invoice_write(
    *,
    order: Order,
    bookings: Sequence[Booking],
    now: dt.datetime,
    actor: Any,
    number: str | None = None,
) -> tuple[Invoice, AuditEntry, OutgoingEmail | None]:
    """The invoice for an order's places, one line per place, to the agency's invoice contact."""
    return invoice_write(
        agency=order.agency,
        order=order,
        purchase_order_number=order.purchase_order_number,
        # Whoever receives the invoice also receives any credit note against it.
        recipient=order.agency.invoice_contact_email or getattr(order.booked_by, "email", ""),
        lines=[(booking, _line_description(booking), booking.price) for booking in bookings],
        now=now,
        actor=actor,
        number=number,
    )


def charge_invoice_raise(
    *,
    agency: Agency,
    lines: Sequence[tuple[Booking | None, str, Decimal]],
    now: dt.datetime,
    actor: Any,
    purchase_order_number: str = "",
) -> Invoice:
    """An invoice not tied to an order, e.g. non-attendance charges."""
    invoice, entry, email = invoice_write(
        agency=agency,
        lines=lines,
        recipient=agency.invoice_contact_email,
        purchase_order_number=purchase_order_number,
        now=now,
        actor=actor,
    )
    entry.save()
    emails_queue([email])
    return invoice


def price_difference_invoice_raise(
    *,
    order: Order,
    lines: Sequence[tuple[Booking, Decimal]],
    now: dt.datetime,
    actor: Any,
) -> Invoice:
    """Invoice the difference for places that were booked below their agency's price (a
    proposed agency approved in a dearer sector), to whoever booked them."""
    invoice, entry, email = invoice_write(
        agency=order.agency,
        order=order,
        recipient=getattr(order.booked_by, "email", "") or order.agency.invoice_contact_email,
        lines=[
            (booking, f"Price difference: {_line_description(booking)}", difference)
            for booking, difference in lines
        ],
        now=now,
        actor=actor,
    )
    entry.save()
    emails_queue([email])
    return invoice


def credit_note_raise(
    *, invoice: Invoice, bookings: Sequence[Booking], reason: str, now: dt.datetime, actor: Any
) -> Invoice | None:
    """Credit the lines of ``bookings`` on ``invoice`` (never twice for the same line)."""
    credited = set(
        InvoiceLine.objects.filter(invoice__credits=invoice, booking__in=bookings).values_list(
            "booking_id", flat=True
        )
    )
    lines = [
        line
        for line in invoice.lines.filter(booking__in=bookings)
        if line.booking_id not in credited
    ]
    if not lines:
        return None
    today = timezone.localdate(now)
    note = Invoice.objects.create(
        kind=InvoiceKind.CREDIT_NOTE,
        number=_next_number(settings.CREDIT_NOTE_NUMBER_PREFIX),
        order=invoice.order,
        agency=invoice.agency,
        credits=invoice,
        purchase_order_number=invoice.purchase_order_number,
        billing_name=invoice.billing_name,
        billing_address=invoice.billing_address,
        billing_email=invoice.billing_email,
        issued_on=today,
        due_on=today,
        status=InvoiceStatus.ISSUED,
        created_at=now,
    )
    for line in lines:
        InvoiceLine.objects.create(
            invoice=note,
            booking=line.booking,
            description=f"Credit: {line.description} ({reason})",
            amount=-line.amount,
        )
    audit_record(
        obj=note,
        action="issued",
        actor=actor,
        now=now,
        changes={"number": note.number, "credits": invoice.number, "total": note.total},
    )
    credited_total = sum(
        (line.amount for cn in invoice.credit_notes.all() for line in cn.lines.all()), ZERO
    )
    if invoice.total + credited_total <= ZERO and invoice.status == InvoiceStatus.ISSUED:
        invoice.status = InvoiceStatus.CREDITED
        invoice.save(update_fields=["status"])
        audit_record(obj=invoice, action="status issued → credited", actor=actor, now=now)
    email_queue(kind="credit_note_issued", to=invoice.billing_email, invoice=note)
    return note


def invoice_mark_paid(*, invoice: Invoice, paid_on: dt.date, actor: Any, now: dt.datetime) -> bool:
    """The administrator records that finance received the money."""
    with transaction.atomic():
        updated = Invoice.objects.filter(
            pk=invoice.pk, status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
        ).update(status=InvoiceStatus.PAID, paid_on=paid_on)
        if updated:
            audit_record(
                obj=invoice,
                action="status issued → paid",
                actor=actor,
                now=now,
                changes={"paid_on": paid_on},
            )
    return bool(updated)
