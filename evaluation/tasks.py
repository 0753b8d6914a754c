"""Background work for surveys: thin ``@task`` wrappers that read the clock once and call a
service. The services claim their row first, so several workers can run these side by side;
they are registered with ``bookings.jobs`` so services enqueue them by name."""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

from bookings import jobs
from evaluation.surveys.services import invitation_remind, invitation_send, invitations_send_due


@jobs.register
@task
def send_invitation(invitation_id: int) -> bool:
    return invitation_send(invitation_id=invitation_id, now=timezone.now())


@jobs.register
@task
def send_reminder(invitation_id: int) -> bool:
    return invitation_remind(invitation_id=invitation_id, now=timezone.now())


@jobs.register
@task
def send_due_invitations() -> dict[str, int]:
    """Periodic: queue every survey invitation and reminder that is due."""
    return invitations_send_due(now=timezone.now())
