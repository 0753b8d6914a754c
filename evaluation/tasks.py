"""Background work for surveys: thin ``@task`` wrappers, registered with ``bookings.jobs``.

Each reads the clock once and calls a service. The emails themselves are sent by the outbox's
own task (``send_emails``, registered by bookings).
"""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

from bookings import jobs
from evaluation.surveys.services import invitation_queue, invitations_queue_due


@jobs.register
@task
def queue_invitation(invitation_id: int) -> bool:
    """Hand an invitation that is due now (a place just marked attended) to the outbox."""
    return invitation_queue(invitation_id=invitation_id, now=timezone.now())


@jobs.register
@task
def send_due_invitations() -> dict[str, int]:
    """Periodic: hand every survey invitation and reminder that is due to the outbox."""
    return invitations_queue_due(now=timezone.now())
