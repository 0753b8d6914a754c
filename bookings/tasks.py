"""Background work: thin wrappers that read the clock once and call a service. Claims make it
safe for several workers to run the same task at once.

Services enqueue these by name through ``bookings.jobs``; nothing imports this module except
the app's ``ready()``, which registers them.
"""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

from bookings import jobs
from bookings.housekeeping import housekeeping_run
from bookings.money.refunds import refund_process
from bookings.outbox import outgoing_email_send
from bookings.places.waitlist import waitlist_offer_next
from training.models import Session


@jobs.register
@task
def send_emails(email_ids: list[int]) -> int:
    """Send these outbox emails, each claimed first; returns how many this worker sent."""
    return sum(outgoing_email_send(email_id=email_id, now=timezone.now()) for email_id in email_ids)


@jobs.register
@task
def process_refund(refund_id: int) -> str:
    return refund_process(refund_id=refund_id, now=timezone.now()).status


@jobs.register
@task
def offer_waiting_places(session_id: int) -> int:
    session = Session.objects.filter(pk=session_id).first()
    if session is None:
        return 0
    return len(waitlist_offer_next(session=session, now=timezone.now()))


@jobs.register
@task
def tick() -> dict[str, int]:
    """Periodic housekeeping (see ``bookings.housekeeping``)."""
    return housekeeping_run(now=timezone.now())
