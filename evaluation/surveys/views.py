"""Pages for attendees answering a survey by their personal link (no password), and opting out."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings.ratelimit import rate_limit
from evaluation.errors import EvaluationError
from evaluation.models import Invitation, InvitationKind
from evaluation.surveys.forms import SurveyForm
from evaluation.surveys.services import follow_up_opt_out, survey_submit

# --- surveys by personal link ---------------------------------------------------------------


def _invitation_or_404(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("booking__session__course", "survey")
        .filter(token=token, sent_at__isnull=False)
        .first()
    )
    if invitation is None:
        # An unknown (guessed) token and one not yet emailed look the same: not found.
        raise Http404("No such survey.")
    return invitation


def _closed(request: HttpRequest, invitation: Invitation, reason: str) -> HttpResponse:
    return render(
        request,
        "evaluation/survey_closed.html",
        {"invitation": invitation, "reason": reason},
        status=410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limit("survey", per_address=30)
def survey(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    invitation = _invitation_or_404(token)
    if invitation.responded_at is not None:
        return _closed(request, invitation, "answered")
    if not invitation.is_usable(now):
        return _closed(request, invitation, "expired")
    session = invitation.booking.session
    form = SurveyForm(
        request.POST if request.method == "POST" else None,
        questions=[
            question
            for question in invitation.survey.asked_questions(course=session.course)
            # Nobody to ask: the line manager question only where one is recorded.
            if question.key != "manager_consent" or invitation.booking.line_manager_email
        ],
        outcomes=list(session.course.outcomes.all()),
        before_only=invitation.kind == InvitationKind.PRE_COURSE,
    )
    if request.method == "POST" and form.is_valid():
        try:
            survey_submit(invitation=invitation, answers=form.answers(), now=now)
        except EvaluationError:
            invitation.refresh_from_db()
            reason = "answered" if invitation.responded_at else "expired"
            return _closed(request, invitation, reason)
        return redirect("evaluation:survey_thanks", token=token)
    return render(
        request,
        "evaluation/survey.html",
        {"invitation": invitation, "survey": invitation.survey, "session": session, "form": form},
    )


@never_cache
def survey_thanks(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_or_404(token)
    if invitation.responded_at is None:
        return redirect("evaluation:survey", token=token)
    return render(
        request,
        "evaluation/survey_thanks.html",
        {
            "invitation": invitation,
            "survey": invitation.survey,
            "offer_opt_out": invitation.kind == InvitationKind.EVALUATION,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limit("survey", per_address=30)
def opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """Stop follow-ups. Works from any invitation email, even after its survey link closed."""
    invitation = _invitation_or_404(token)
    if request.method == "POST":
        follow_up_opt_out(
            email=invitation.booking.attendee_email,
            user=invitation.booking.attendee,
            now=timezone.now(),
            source="link in a survey email",
        )
        return render(request, "evaluation/opt_out_done.html", {"invitation": invitation})
    return render(request, "evaluation/opt_out.html", {"invitation": invitation})
