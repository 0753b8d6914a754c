"""Background work for surveys. Each task reads the clock once and calls a service; the
services claim their row first, so several workers can run these side by side."""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone


@task
def send_invitation(invitation_id: int) -> bool:
    from evaluation.services import invitation_send

    return invitation_send(invitation_id=invitation_id, now=timezone.now())


@task
def send_reminder(invitation_id: int) -> bool:
    from evaluation.services import invitation_remind

    return invitation_remind(invitation_id=invitation_id, now=timezone.now())


@task
def send_due_invitations() -> dict[str, int]:
    """Periodic: queue every survey invitation and reminder that is due."""
    from evaluation.services import invitations_due

    first, reminders = invitations_due(now=timezone.now())
    for invitation_id in first:
        send_invitation.enqueue(invitation_id)
    for invitation_id in reminders:
        send_reminder.enqueue(invitation_id)
    return {"invitations": len(first), "reminders": len(reminders)}
