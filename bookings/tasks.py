"""Background work. Each task reads the clock once and calls a service; claims make it safe
for several workers to run the same task at once."""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

# Due emails are handed to workers in batches this size: one task per booking's emails,
# and the tick's backlog spread over several workers.
EMAIL_BATCH = 20


@task
def send_emails(email_ids: list[int]) -> int:
    """Send these outbox emails, each claimed first; returns how many this worker sent."""
    from bookings.emails import outgoing_email_send

    return sum(outgoing_email_send(email_id=email_id, now=timezone.now()) for email_id in email_ids)


@task
def process_refund(refund_id: int) -> str:
    from bookings.services import refund_process

    return refund_process(refund_id=refund_id, now=timezone.now()).status


@task
def offer_waiting_places(session_id: int) -> int:
    from bookings.services import waitlist_offer_next
    from training.models import Session

    session = Session.objects.filter(pk=session_id).first()
    if session is None:
        return 0
    return len(waitlist_offer_next(session=session, now=timezone.now()))


@task
def tick() -> dict[str, int]:
    """Periodic housekeeping: release expired holds, pass on lapsed offers, queue refresher
    reminders, send due email."""
    from bookings.certificates import refresher_reminders_queue
    from bookings.emails import emails_due
    from bookings.services import holds_release_expired, waitlist_lapse_offers

    now = timezone.now()
    released = holds_release_expired(now=now)
    lapsed = waitlist_lapse_offers(now=now)
    refreshers = refresher_reminders_queue(now=now)
    due = emails_due(now)
    for start in range(0, len(due), EMAIL_BATCH):
        send_emails.enqueue(due[start : start + EMAIL_BATCH])
    return {
        "holds_released": released,
        "offers_lapsed": lapsed,
        "refresher_reminders": refreshers,
        "emails_queued": len(due),
    }
