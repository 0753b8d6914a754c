"""Sending the outbox: render each email from its templates and send it exactly once.

Every email is a trio of templates under ``bookings/templates/bookings/email/``:
``<kind>_subject.txt``, ``<kind>.txt`` and ``<kind>.html``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from bookings.models import OutgoingEmail

logger = logging.getLogger(__name__)


def email_context(email: OutgoingEmail) -> dict[str, Any]:
    return {
        "email": email,
        "booking": email.booking,
        "order": email.order,
        "invoice": email.invoice,
        "entry": email.waiting_list_entry,
        "UNIT_NAME": settings.UNIT_NAME,
        "SITE_URL": settings.SITE_URL,
        **email.context,
    }


def _attachments(email: OutgoingEmail) -> list[tuple[str, bytes, str]]:
    from bookings import documents

    if email.kind in ("booking_confirmed", "booking_transferred_in") and email.booking:
        return [("training.ics", documents.booking_ics(email.booking), "text/calendar")]
    if email.kind in ("invoice_issued", "credit_note_issued") and email.invoice:
        return [
            (f"{email.invoice.number}.pdf", documents.invoice_pdf(email.invoice), "application/pdf")
        ]
    return []


def render_email(email: OutgoingEmail) -> EmailMultiAlternatives:
    context = email_context(email)
    base = f"bookings/email/{email.kind}"
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=f"{subject}",
        body=render_to_string(f"{base}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    for filename, content, mimetype in _attachments(email):
        message.attach(filename, content, mimetype)
    return message


def outgoing_email_send(*, email_id: int, now: dt.datetime) -> bool:
    """Claim one due email and send it; False when another worker had it or it is not due."""
    claimed = OutgoingEmail.objects.filter(
        pk=email_id, claimed_at=None, sent_at=None, send_after__lte=now
    ).update(claimed_at=now)
    if not claimed:
        return False
    email = OutgoingEmail.objects.select_related(
        "booking__session__course",
        "booking__session__venue",
        "order",
        "invoice",
        "waiting_list_entry__session__course",
    ).get(pk=email_id)
    try:
        render_email(email).send()
    except Exception as error:
        # Release the claim so the next tick tries again; keep the reason for the admin.
        logger.exception("Sending email %s failed", email_id)
        OutgoingEmail.objects.filter(pk=email_id).update(claimed_at=None, error=str(error)[:2000])
        return False
    OutgoingEmail.objects.filter(pk=email_id).update(sent_at=now, error="")
    return True


def emails_due(now: dt.datetime) -> list[int]:
    return list(
        OutgoingEmail.objects.filter(claimed_at=None, sent_at=None, send_after__lte=now)
        .order_by("send_after", "pk")
        .values_list("pk", flat=True)[:500]
    )
