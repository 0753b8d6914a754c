"""The outbox: every email of every app is written here first and sent exactly once.

An email is a row written in the same transaction as the change it reports, so none is lost
if a worker is down. Sending claims the row first (so two workers never send one email), a
dead worker's claim expires, a failure waits longer each time and then stops, with its error,
for the administrator to try again.

Every email is a trio of templates, ``<base>_subject.txt``, ``<base>.txt`` and ``<base>.html``,
where ``<base>`` is ``bookings/email/<kind>`` unless the kind was registered with another (see
``register_kind``: how other apps add their own kinds, context and attachments).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from bookings import jobs
from bookings.audit import json_safe
from bookings.models import Booking, Invoice, Order, OutgoingEmail, WaitingListEntry
from bookings.rows import rows_insert

logger = logging.getLogger(__name__)

Attachment = tuple[str, bytes, str]


@dataclass(frozen=True)
class EmailKind:
    """How to render one kind of email: where its templates are, what else its templates
    need, what it carries, and what to record once it has gone."""

    template_base: str
    context: Callable[[OutgoingEmail], dict[str, Any]] | None = None
    attachments: Callable[[OutgoingEmail], list[Attachment]] | None = None
    on_sent: Callable[[OutgoingEmail, dt.datetime], None] | None = None


_kinds: dict[str, EmailKind] = {}


def register_kind(
    kind: str,
    *,
    template_base: str | None = None,
    context: Callable[[OutgoingEmail], dict[str, Any]] | None = None,
    attachments: Callable[[OutgoingEmail], list[Attachment]] | None = None,
    on_sent: Callable[[OutgoingEmail, dt.datetime], None] | None = None,
) -> None:
    """Say how emails of ``kind`` are rendered; apps call this when they are ready."""
    _kinds[kind] = EmailKind(
        template_base=template_base or f"bookings/email/{kind}",
        context=context,
        attachments=attachments,
        on_sent=on_sent,
    )


def email_kind(kind: str) -> EmailKind:
    return _kinds.get(kind) or EmailKind(template_base=f"bookings/email/{kind}")


# --- writing ---------------------------------------------------------------------------------


def outgoing_email(
    *,
    kind: str,
    to: str,
    booking: Booking | None = None,
    order: Order | None = None,
    invoice: Invoice | None = None,
    waiting_list_entry: WaitingListEntry | None = None,
    context: dict[str, Any] | None = None,
    send_after: dt.datetime | None = None,
) -> OutgoingEmail | None:
    """An unsaved outbox email (None when there is nobody to send it to); see ``emails_queue``."""
    if not to:
        return None
    return OutgoingEmail(
        kind=kind,
        to=to,
        booking=booking,
        order=order,
        invoice=invoice,
        waiting_list_entry=waiting_list_entry,
        context=json_safe(context or {}),
        send_after=send_after or timezone.now(),
    )


def emails_queue(emails: Iterable[OutgoingEmail | None]) -> list[OutgoingEmail]:
    """Write emails to the outbox in one insert; once the transaction commits, one background
    task sends those already due (the tick sends the rest when their time comes)."""
    rows = [email for email in emails if email is not None]
    if not rows:
        return []
    rows_insert(rows)
    now = timezone.now()
    due = [email.pk for email in rows if email.send_after <= now]
    if due:
        jobs.enqueue_on_commit("send_emails", due)
    return rows


def email_queue(**email: Any) -> OutgoingEmail | None:
    """Write one email to the outbox (the arguments of ``outgoing_email``)."""
    queued = emails_queue([outgoing_email(**email)])
    return queued[0] if queued else None


# --- rendering -------------------------------------------------------------------------------


def email_context(email: OutgoingEmail) -> dict[str, Any]:
    context: dict[str, Any] = {
        "email": email,
        "booking": email.booking,
        "order": email.order,
        "invoice": email.invoice,
        "entry": email.waiting_list_entry,
        "UNIT_NAME": settings.UNIT_NAME,
        "SITE_URL": settings.SITE_URL,
        **email.context,
    }
    extra = email_kind(email.kind).context
    if extra is not None:
        context.update(extra(email))
    return context


def render_email(email: OutgoingEmail) -> EmailMultiAlternatives:
    kind = email_kind(email.kind)
    context = email_context(email)
    base = kind.template_base
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{base}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    if kind.attachments is not None:
        for filename, content, mimetype in kind.attachments(email):
            message.attach(filename, content, mimetype)
    return message


# --- sending ---------------------------------------------------------------------------------

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
    on_sent = email_kind(email.kind).on_sent
    if on_sent is not None:
        on_sent(email, now)
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
