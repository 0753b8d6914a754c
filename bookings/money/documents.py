"""The invoice or credit note as a document: its context, HTML and A4 PDF."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from bookings.files.pdf import html_to_pdf
from bookings.models import ZERO, Invoice, InvoiceKind, InvoiceStatus
from bookings.models.records import OutgoingEmail


@dataclass(frozen=True)
class DocumentLine:
    description: str
    amount: Decimal


def _finance_contact() -> str:
    return getattr(settings, "FINANCE_CONTACT_EMAIL", "") or settings.DEFAULT_FROM_EMAIL


def _address_lines(invoice: Invoice) -> list[str]:
    # The address starts with the agency's name, which is often also the billing name (and
    # agencies often type their name into the address too): print each line once.
    lines: list[str] = []
    for raw in invoice.billing_address.splitlines():
        line = raw.strip()
        if line and line != invoice.billing_name and line not in lines:
            lines.append(line)
    return lines


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    """What the invoice template shows. A credit note's lines are stored negative and shown as
    the positive amounts credited, as finance teams expect to read them."""
    is_credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    sign = Decimal(-1) if is_credit_note else Decimal(1)
    lines = [
        DocumentLine(description=line.description, amount=line.amount * sign)
        for line in invoice.lines.all()
    ]
    total = sum((line.amount for line in lines), ZERO)
    credit_notes: list[str] = []
    credited = ZERO
    if not is_credit_note:
        for note in invoice.credit_notes.order_by("pk").prefetch_related("lines"):
            credit_notes.append(note.number)
            credited -= note.total
    balance = max(total - credited, ZERO)
    return {
        "invoice": invoice,
        "is_credit_note": is_credit_note,
        "title": "Credit note" if is_credit_note else "Invoice",
        "lines": lines,
        "address_lines": _address_lines(invoice),
        "total": total,
        "is_paid": invoice.status == InvoiceStatus.PAID,
        "is_credited": invoice.status == InvoiceStatus.CREDITED,
        "credit_notes": credit_notes,
        "credited": credited,
        "balance": balance,
        "UNIT_NAME": settings.UNIT_NAME,
        "SITE_URL": settings.SITE_URL,
        "finance_email": _finance_contact(),
        "bank_details": getattr(settings, "INVOICE_BANK_DETAILS", ""),
    }


def invoice_html(invoice: Invoice) -> str:
    return render_to_string("bookings/invoice_pdf.html", invoice_context(invoice))


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as an A4 PDF (WeasyPrint)."""
    return html_to_pdf(invoice_html(invoice))


def invoice_attachments(email: OutgoingEmail) -> list[tuple[str, bytes, str]]:
    """The invoice or credit note as a PDF, attached to the email that issues it."""
    if email.invoice is None:
        return []
    return [(f"{email.invoice.number}.pdf", invoice_pdf(email.invoice), "application/pdf")]
