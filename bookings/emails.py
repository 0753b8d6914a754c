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
from django.db.models import F, Q
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


# A worker that dies between claiming an email and sending it leaves its claim behind; after
# this long the email is due again. Far longer than any send takes (the SMTP mailer times out
# well within it), so a live worker's claim is never taken over.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
# An email that keeps failing (a bad address, a template error) is tried this many times,
# waiting twice as long after each failure (2, 4, 8, 16 minutes), and is then left unsent with
# its error for the administrator, who can ask for it to be tried again.
MAX_ATTEMPTS = 5


def _sendable(now: dt.datetime) -> Q:
    return Q(sent_at=None, send_after__lte=now, attempts__lt=MAX_ATTEMPTS) & (
        Q(claimed_at=None) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
    )


def outgoing_email_send(*, email_id: int, now: dt.datetime) -> bool:
    """Claim one due email and send it; False when another worker had it or it is not due."""
    claimed = OutgoingEmail.objects.filter(_sendable(now), pk=email_id).update(
        claimed_at=now, attempts=F("attempts") + 1
    )
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
        # Release the claim so a later tick tries again, after a longer wait each time; keep
        # the reason for the administrator.
        logger.exception("Sending email %s failed (attempt %s)", email_id, email.attempts)
        OutgoingEmail.objects.filter(pk=email_id).update(
            claimed_at=None,
            send_after=now + dt.timedelta(minutes=2**email.attempts),
            error=str(error)[:2000],
        )
        return False
    OutgoingEmail.objects.filter(pk=email_id).update(sent_at=now, error="")
    return True


def emails_due(now: dt.datetime) -> list[int]:
    return list(
        OutgoingEmail.objects.filter(_sendable(now))
        .order_by("send_after", "pk")
        .values_list("pk", flat=True)[:500]
    )


def emails_retry(email_ids: list[int], *, now: dt.datetime) -> int:
    """The administrator asks for unsent emails to be tried again, now, with fresh attempts."""
    return OutgoingEmail.objects.filter(pk__in=email_ids, sent_at=None).update(
        attempts=0, claimed_at=None, send_after=now
    )
