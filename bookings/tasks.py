"""Background work. Each task reads the clock once and calls a service; claims make it safe
for several workers to run the same task at once."""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone


@task
def send_email(email_id: int) -> bool:
    from bookings.emails import outgoing_email_send

    return outgoing_email_send(email_id=email_id, now=timezone.now())


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
    for email_id in due:
        send_email.enqueue(email_id)
    return {
        "holds_released": released,
        "offers_lapsed": lapsed,
        "refresher_reminders": refreshers,
        "emails_queued": len(due),
    }
