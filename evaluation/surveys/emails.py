"""The survey emails as kinds of the one outbox: pre-course, evaluation, follow-up and line
manager invitations and their reminders.

Each is a trio ``evaluation/email/<survey kind>_invitation{_subject.txt,.txt,.html}``; the
reminder uses its invitation's trio with ``reminder`` set. The outbox row belongs to the
booking and keeps ``invitation_id`` and ``reminder`` in its JSON context (the outbox has no
foreign key to an invitation: bookings never imports evaluation), and the context function
loads the invitation again when the email is rendered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.urls import reverse

from bookings.models import OutgoingEmail
from bookings.outbox import outgoing_email, register_kind
from evaluation.models import Invitation, InvitationKind
from evaluation.surveys.policy import link_end


def email_kind(survey_kind: str, *, reminder: bool) -> str:
    """The outbox kind, e.g. ``follow_up_invitation`` or ``follow_up_invitation_reminder``."""
    return f"{survey_kind}_invitation" + ("_reminder" if reminder else "")


def invitation_email(
    invitation: Invitation, *, reminder: bool, now: dt.datetime
) -> OutgoingEmail | None:
    """The unsaved outbox email of an invitation's first email or its reminder, due now."""
    return outgoing_email(
        kind=email_kind(invitation.kind, reminder=reminder),
        # The line manager's view goes to the manager recorded on the booking.
        to=(
            invitation.booking.line_manager_email
            if invitation.kind == InvitationKind.MANAGER
            else invitation.booking.attendee_email
        ),
        booking=invitation.booking,
        context={"invitation_id": invitation.pk, "reminder": reminder},
        send_after=now,
    )


def _context(email: OutgoingEmail) -> dict[str, Any]:
    invitation = Invitation.objects.select_related(
        "booking__session__course", "booking__session__venue", "survey"
    ).get(pk=email.context["invitation_id"])
    session = invitation.booking.session
    return {
        "invitation": invitation,
        "booking": invitation.booking,
        "session": session,
        "course": session.course,
        "reminder": bool(email.context.get("reminder")),
        "survey_url": settings.SITE_URL + reverse("evaluation:survey", args=[invitation.token]),
        "opt_out_url": settings.SITE_URL + reverse("evaluation:opt_out", args=[invitation.token]),
        "expires_at": invitation.expires_at,
    }


def link_closes_at(invitation: Invitation) -> dt.datetime | None:
    """A pre-course questionnaire's link closes when the course starts; others only expire."""
    if invitation.kind == InvitationKind.PRE_COURSE:
        return invitation.booking.session.starts_at
    return None


def _first_email_sent(email: OutgoingEmail, now: dt.datetime) -> None:
    # The link works link_lifetime() from the first email the person got: if the outbox sent
    # it late (after retries), its end moves on (never past a pre-course link's closing);
    # it never moves back.
    invitation = Invitation.objects.select_related("booking__session").get(
        pk=email.context["invitation_id"]
    )
    end = link_end(sent_at=now, closes_at=link_closes_at(invitation))
    Invitation.objects.filter(pk=invitation.pk, expires_at__lt=end).update(expires_at=end)


def survey_emails_register() -> None:
    """Tell the outbox how to render the survey emails (from ``EvaluationConfig.ready``)."""
    for survey_kind in InvitationKind.values:
        template_base = f"evaluation/email/{survey_kind}_invitation"
        register_kind(
            email_kind(survey_kind, reminder=False),
            template_base=template_base,
            context=_context,
            on_sent=_first_email_sent,
        )
        register_kind(
            email_kind(survey_kind, reminder=True), template_base=template_base, context=_context
        )
